/** Shared by the live-capture tests: sending datagrams, collecting packets. */
import { createSocket } from 'node:dgram';
import type { LiveCapture } from '../../src/capture/live-capture.js';
import type { Packet } from '../../src/capture/packet.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts } from '../../src/decode/decoded.js';

/** What every live capture needs (describeNeeding): root to open a capture, and the `cap` addon. */
export const LIVE_NEEDS = ['root', 'cap'];

/** A UDP port of our own for one test (bound, so the datagrams are delivered, not refused). */
export async function udpSink(host = '127.0.0.1'): Promise<{ port: number; close: () => void }> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => s.bind(0, host, resolve));
  return { port: s.address().port, close: () => s.close() };
}

/** Sends datagrams one after the other from one socket; payload = 4-byte tag, 4-byte sequence number, padding. Returns the socket's source port. */
export async function sendDatagrams(host: string, port: number, tag: number, sizes: number[]): Promise<number> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (let i = 0; i < sizes.length; i++) {
      const b = Buffer.alloc(Math.max(8, sizes[i]), 0x61);
      b.writeUInt32BE(tag, 0);
      b.writeUInt32BE(i, 4);
      await new Promise<void>((resolve, reject) => s.send(b, port, host, (e) => (e ? reject(e) : resolve())));
    }
    // The source port the kernel chose: a later socket can be given the same one once this closes.
    return s.address().port;
  } finally {
    s.close();
  }
}

/** What a test keeps of one captured packet (the Packet itself is reused by the source). */
export interface Seen {
  ts: number;
  caplen: number;
  origLen: number;
  linktype: number;
  iface: number;
  ipVersion: number;
  ipLen: number;
  dstPort: number;
  payloadLen: number;
  /** Last IPv4 address byte of the destination. */
  dstLast: number;
  tag: number;
  seq: number;
}

/** Starts the capture with a collector that decodes each packet with the project's decoder. */
export function collect(cap: LiveCapture): Seen[] {
  const seen: Seen[] = [];
  const d = newDecoded();
  const skips = newSkipCounts();
  cap.start((p: Packet) => {
    const ok = decodePacket(p, d, skips);
    const payload = ok && d.payloadLen >= 8 ? d.payloadOff : -1;
    seen.push({
      ts: p.ts,
      caplen: p.caplen,
      origLen: p.origLen,
      linktype: p.linktype,
      iface: p.iface,
      ipVersion: ok ? d.ipVersion : 0,
      ipLen: ok ? d.ipLen : -1,
      dstPort: ok ? d.dstPort : -1,
      payloadLen: ok ? d.payloadLen : -1,
      dstLast: ok && d.ipVersion === 4 ? p.buf[d.dstOff + 3] : -1,
      tag: payload < 0 ? -1 : p.buf.readUInt32BE(payload),
      seq: payload < 0 ? -1 : p.buf.readUInt32BE(payload + 4),
    });
  });
  return seen;
}

export const WARMUP_TAG = 0x5741524d; // "WARM"

/** Sends warm-up datagrams until the capture shows one, so the test's own packets are not sent too early. */
export async function warmUp(seen: Pick<Seen, 'tag'>[], host: string, port: number, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let sent = 0;
  while (Date.now() < until) {
    await sendDatagrams(host, port, WARMUP_TAG, [16]);
    sent++;
    await sleep(20);
    if (seen.some((s) => s.tag === WARMUP_TAG)) return sent;
  }
  throw new Error(`capture saw none of ${sent} warm-up datagrams to ${host}:${port} within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `count()` stops growing for `quietMs` (or `maxMs` passes). */
export async function settle(count: () => number, quietMs = 300, maxMs = 15_000): Promise<void> {
  const until = Date.now() + maxMs;
  let n = -1;
  while (Date.now() < until && n !== count()) {
    n = count();
    await sleep(quietMs);
  }
}
