// The least any JavaScript import must do to a capture, timed on the same file as `npm run bench`:
// read it in 4 MiB chunks, walk the pcap records, decode Ethernet/IPv4 and the TCP/UDP ports,
// and find each packet's flow in a typed-array hash table counting packets and bytes per flow.
// No flow records, TCP state, loss estimate, naming, classification or store: a lower bound for
// `ollama-audit import` in this language on this machine, not an alternative to it.
//   node bench/js-floor.mjs FILE   -> prints one JSON line {packets, flows, ms}
// Assumes what bench/generate-capture.mjs writes (little-endian classic pcap, Ethernet, IPv4).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const fd = openSync(process.argv[2], 'r');
const size = fstatSync(fd).size;
const CHUNK = 4 << 20;
const buf = Buffer.allocUnsafe(CHUNK);
const CAP = 1 << 18;
const mask = CAP - 1;
const keys = new Int32Array(CAP * 4);
const counters = new Float64Array(CAP * 4);
let base = 0;
let len = 0;
let pos = 24;
let packets = 0;
let flows = 0;
const t0 = performance.now();
while (pos < size) {
  let o = pos - base;
  if (o + 16 > len || o + 16 + u32(o + 8) > len) {
    const keep = o < len ? len - o : 0;
    if (keep > 0) buf.copy(buf, 0, o, len);
    base = pos;
    len = keep + readSync(fd, buf, keep, CHUNK - keep, pos + keep);
    o = 0;
    if (len < 16) break;
  }
  const caplen = u32(o + 8);
  const p = o + 16;
  pos += 16 + caplen;
  packets++;
  if (buf[p + 12] !== 0x08 || buf[p + 13] !== 0x00) continue;
  const ip = p + 14;
  const l4 = ip + (buf[ip] & 15) * 4;
  const proto = buf[ip + 9];
  const src = buf.readInt32BE(ip + 12);
  const dst = buf.readInt32BE(ip + 16);
  const sp = (buf[l4] << 8) | buf[l4 + 1];
  const dp = (buf[l4 + 2] << 8) | buf[l4 + 3];
  const fwd = src < dst || (src === dst && sp <= dp);
  const a = fwd ? src : dst;
  const b = fwd ? dst : src;
  const ports = fwd ? (sp << 16) | dp : (dp << 16) | sp;
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35) ^ Math.imul(ports, 0x27d4eb2f) ^ proto;
  h ^= h >>> 15;
  let i = h & mask;
  for (;;) {
    const k = i * 4;
    if (keys[k + 3] === 0) {
      keys[k] = a; keys[k + 1] = b; keys[k + 2] = ports; keys[k + 3] = proto + 1;
      flows++;
      break;
    }
    if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === ports && keys[k + 3] === proto + 1) break;
    i = (i + 1) & mask;
  }
  const c = i * 4 + (fwd ? 0 : 2);
  counters[c]++;
  counters[c + 1] += (buf[ip + 2] << 8) | buf[ip + 3];
}
const ms = performance.now() - t0;
closeSync(fd);
console.log(JSON.stringify({ packets, flows, ms: Math.round(ms) }));

function u32(o) {
  return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0;
}
