// Read speed of our pcap and pcapng readers against pcap-parser 0.2.1 (the project's nominal
// choice, which we do not use: see src/capture/pcap-reader.ts) on a generated 100,000-packet
// file, best of 3. Run after `npm run build`: node bench/readers.mjs
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPcapWriter } from '../dist/capture/pcap-writer.js';
import { createPcapngWriter } from '../dist/capture/pcapng-writer.js';
import { readCaptureFile } from '../dist/capture/read-file.js';

const require = createRequire(import.meta.url);
const N = 100_000;
const dir = mkdtempSync(join(tmpdir(), 'oa-readers-'));
const pcap = join(dir, 'bench.pcap');
const pcapng = join(dir, 'bench.pcapng');
const w = createPcapWriter(pcap, { linktype: 1 });
const ng = createPcapngWriter(pcapng);
ng.addInterface({ linktype: 1, snaplen: 262144 });
const data = Buffer.alloc(200, 0x55);
for (let i = 0; i < N; i++) {
  const n = 60 + ((i * 7919) % 141);
  w.writePacket(1.7e15 + i * 10, data, 0, n, n);
  ng.writePacket(0, 1.7e15 + i * 10, data, 0, n, n, null);
}
w.close();
ng.close();

const viaParser = () => new Promise((res) => {
  let n = 0;
  const p = require('pcap-parser').parse(pcap);
  p.on('packet', () => n++);
  p.on('end', () => res(n));
});
const ours = (file) => () => readCaptureFile(file, () => {}).packets;
const best = {};
for (let r = 0; r < 3; r++) {
  for (const [name, f] of [['pcap-parser 0.2.1 (pcap)', viaParser], ['ours (pcap)', ours(pcap)], ['ours (pcapng)', ours(pcapng)]]) {
    const t0 = performance.now();
    const n = await f();
    const ms = performance.now() - t0;
    if (n !== N) throw new Error(`${name} read ${n} packets, expected ${N}`);
    best[name] = Math.min(best[name] ?? Infinity, ms);
  }
}
for (const [name, ms] of Object.entries(best)) console.log(`${name.padEnd(26)} ${ms.toFixed(0).padStart(5)} ms for ${N} packets`);
rmSync(dir, { recursive: true, force: true });
