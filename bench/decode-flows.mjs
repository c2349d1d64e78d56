// Times decode + flow-table ingest alone (no file reading, no enrichment, no store) over
// synthetic Ethernet/IPv4 frames held in one big buffer, as a file reader would hand them:
// 1,000,000 packets over 50,000 flows (TCP with handshake and FIN, UDP request/response),
// interleaved, with expire() called once per second of capture time.
//   npx tsc -p tsconfig.build.json && node bench/decode-flows.mjs
// DIST=<dir> points at another compiled tree; BENCH_PACKETS / BENCH_FLOWS change the size.
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.env.DIST ?? join(root, 'dist');
const { decodePacket } = await import(pathToFileURL(join(dist, 'decode/decode-packet.js')).href);
const { newDecoded, newSkipCounts } = await import(pathToFileURL(join(dist, 'decode/decoded.js')).href);
const { newPacket } = await import(pathToFileURL(join(dist, 'capture/packet.js')).href);
const { createFlowTable } = await import(pathToFileURL(join(dist, 'flows/flow-table.js')).href);

const PACKETS = Number(process.env.BENCH_PACKETS ?? 1_000_000);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 50_000);
const FRAME = 14 + 20 + 20 + 64; // Ethernet + IPv4 + TCP + 64 payload bytes (UDP frames use the same slot)

let seed = 42;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);

function writeFrame(buf, off, f, fromClient, flags, payload) {
  const udp = f.udp;
  buf.fill(0, off, off + FRAME);
  buf.writeUInt16BE(0x0800, off + 12);
  const ip = off + 14;
  const l4 = udp ? 8 : 20;
  buf[ip] = 0x45;
  buf.writeUInt16BE(20 + l4 + payload, ip + 2);
  buf[ip + 8] = 64;
  buf[ip + 9] = udp ? 17 : 6;
  buf.writeUInt32BE(fromClient ? f.client : f.server, ip + 12);
  buf.writeUInt32BE(fromClient ? f.server : f.client, ip + 16);
  const t = ip + 20;
  buf.writeUInt16BE(fromClient ? f.cport : f.sport, t);
  buf.writeUInt16BE(fromClient ? f.sport : f.cport, t + 2);
  if (udp) buf.writeUInt16BE(8 + payload, t + 4);
  else { buf[t + 12] = 0x50; buf[t + 13] = flags; }
  return 14 + 20 + l4 + payload;
}

// Flow plans: TCP flows SYN, SYN-ACK, ACK, data..., FIN, FIN; UDP flows alternate request/response.
const flows = [];
for (let i = 0; i < FLOWS; i++) {
  flows.push({
    udp: i % 5 === 0,
    client: (0x0a000000 | (i & 0xffff)) >>> 0, server: (0xc6336400 | (i % 200)) >>> 0,
    cport: 32768 + (i % 28000), sport: i % 5 === 0 ? 53 : 443, sent: 0,
  });
}
const perFlow = Math.floor(PACKETS / FLOWS);
const buf = Buffer.alloc(PACKETS * FRAME);
const offs = new Int32Array(PACKETS);
const lens = new Int32Array(PACKETS);
const tss = new Float64Array(PACKETS);
let active = [];
let nextFlow = 0;
const t0 = 1_700_000_000e6;
for (let n = 0; n < PACKETS; n++) {
  while (active.length < 2000 && nextFlow < FLOWS) active.push(flows[nextFlow++]);
  if (active.length === 0) { for (const f of flows) f.sent = 0; nextFlow = 0; continue; }
  const k = Math.floor(rand() * active.length);
  const f = active[k];
  const i = f.sent++;
  let fromClient, flags = 0x10;
  if (f.udp) fromClient = i % 2 === 0;
  else if (i === 0) { fromClient = true; flags = 0x02; }
  else if (i === 1) { fromClient = false; flags = 0x12; }
  else if (i === perFlow - 2) { fromClient = true; flags = 0x11; }
  else if (i === perFlow - 1) { fromClient = false; flags = 0x11; }
  else fromClient = i % 3 !== 0;
  offs[n] = n * FRAME;
  lens[n] = writeFrame(buf, n * FRAME, f, fromClient, flags, i > 2 ? 64 : 0);
  tss[n] = t0 + n * 20; // 50,000 packets per second of capture time
  if (f.sent >= perFlow) active[k] = active[active.length - 1], active.pop();
}

function run() {
  const pkt = newPacket();
  pkt.buf = buf;
  pkt.linktype = 1;
  const d = newDecoded();
  const skips = newSkipCounts();
  let closed = 0;
  const table = createFlowTable({ onClose: () => { closed++; } });
  let nextExpire = tss[0] + 1e6;
  const start = process.hrtime.bigint();
  for (let n = 0; n < PACKETS; n++) {
    pkt.off = offs[n];
    pkt.caplen = pkt.origLen = lens[n];
    pkt.ts = tss[n];
    if (pkt.ts >= nextExpire) { table.expire(pkt.ts); nextExpire = pkt.ts + 1e6; }
    if (decodePacket(pkt, d, skips)) table.ingest(pkt, d);
  }
  const opened = table.size + closed;
  table.closeAll();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, opened, skipped: Object.values(skips).reduce((a, b) => a + b, 0) };
}

const runs = [];
for (let r = 0; r < 3; r++) runs.push(run());
runs.sort((a, b) => a.ms - b.ms);
const med = runs[1];
console.log(`decode+ingest: ${PACKETS} packets, ${med.opened} flows opened, ${med.skipped} skipped`);
console.log(`runs (ms): ${runs.map((r) => r.ms.toFixed(0)).join(', ')}; median ${med.ms.toFixed(0)} ms = ${(PACKETS / med.ms * 1000 / 1e6).toFixed(2)} M packets/s`);
