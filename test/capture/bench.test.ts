/**
 * Read-speed benchmark, run on demand only: BENCH=1 npx vitest run test/capture/bench.test.ts
 * Compares pcap-parser 0.2.1 with our pcap reader on a generated 100,000-packet file, and
 * reports our pcapng speed on the same packets. Figures go in the pcap-reader.ts comment.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { createPcapngWriter } from '../../src/capture/pcapng-writer.js';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { mulberry32, tmpDir } from './helpers.js';

interface PcapParser { on(ev: string, f: (x?: unknown) => void): void }
const require = createRequire(import.meta.url);

const dir = tmpDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.runIf(process.env.BENCH)('read speed', () => {
  it('pcap-parser vs ours on 100,000 packets', async () => {
    const N = 100_000;
    const pcap = path.join(dir, 'bench.pcap');
    const pcapng = path.join(dir, 'bench.pcapng');
    const w = createPcapWriter(pcap, { linktype: 1 });
    const ng = createPcapngWriter(pcapng);
    ng.addInterface({ linktype: 1, snaplen: 262144 });
    const rnd = mulberry32(1);
    const data = Buffer.alloc(200, 0x55);
    for (let i = 0; i < N; i++) {
      const n = 60 + Math.floor(rnd() * 141);
      w.writePacket(1.7e15 + i * 10, data, 0, n, n);
      ng.writePacket(0, 1.7e15 + i * 10, data, 0, n, n, null);
    }
    w.close();
    ng.close();
    const parse = (require('pcap-parser') as { parse(p: string): PcapParser }).parse;
    const viaParser = (): Promise<number> => new Promise((res) => {
      let n = 0;
      const p = parse(pcap);
      p.on('packet', () => n++);
      p.on('end', () => res(n));
    });
    const time = async (f: () => number | Promise<number>): Promise<[number, number]> => {
      const t0 = performance.now();
      const n = await f();
      return [n, performance.now() - t0];
    };
    let bytes = 0;
    const ours = (file: string) => (): number => readCaptureFile(file, (p) => { bytes += p.caplen; }).packets;
    const runs: Record<string, number[]> = { parser: [], ours: [], oursNg: [] };
    for (let r = 0; r < 3; r++) {
      const [a, ta] = await time(viaParser);
      const [b, tb] = await time(ours(pcap));
      const [c, tc] = await time(ours(pcapng));
      expect([a, b, c]).toEqual([N, N, N]);
      runs.parser.push(ta);
      runs.ours.push(tb);
      runs.oursNg.push(tc);
    }
    const best = (xs: number[]): string => Math.min(...xs).toFixed(0);
    const mib = (f: string): string => (fs.statSync(f).size / 1048576).toFixed(1);
    console.log(`pcap ${mib(pcap)} MiB: pcap-parser ${best(runs.parser)} ms, ours ${best(runs.ours)} ms; pcapng ${mib(pcapng)} MiB: ours ${best(runs.oursNg)} ms`);
  });
});
