/**
 * Captures for claims tests: temporary stores filled with importFile, real fixtures with chosen
 * packets removed, and small hand-built captures whose content the test states itself.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { createPcapngWriter } from '../../src/capture/pcapng-writer.js';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/decode/decoded.js';
import { addrToString } from '../../src/decode/addr.js';
import { importFile } from '../../src/commands/import-file.js';
import { openDb } from '../../src/store/open-db.js';
import { eth, ipv4, tcp, udp } from '../decode/frames.js';

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `oa-claims-${prefix}-`));

/** A fresh store with the files imported, one session each. */
export async function storeWith(...files: string[]): Promise<{ dbPath: string; sessions: number[] }> {
  const dbPath = join(tmp('db'), 'audit.db');
  openDb(dbPath).close();
  const sessions: number[] = [];
  for (const f of files) sessions.push((await importFile(dbPath, f)).session_id);
  return { dbPath, sessions };
}

export interface PacketInfo {
  n: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  payload: Buffer;
  comment: string | null;
}

/**
 * Copies `src` to a new pcapng (or classic pcap when `pcap`), leaving out packets `drop` names;
 * pcapng comments (process attribution) are kept unless `stripComments`.
 */
export function filterCapture(src: string, drop: (p: PacketInfo) => boolean, opts: { pcap?: boolean; stripComments?: boolean } = {}): string {
  const ifaces = readCaptureFile(src, () => {}).interfaces;
  const out = join(tmp('cap'), opts.pcap ? 'filtered.pcap' : 'filtered.pcapng');
  const d = newDecoded();
  const skips = newSkipCounts();
  let n = 0;
  if (opts.pcap) {
    const w = createPcapWriter(out, { linktype: ifaces[0].linktype });
    readCaptureFile(src, (p) => {
      n++;
      if (!drop(info(p, n))) w.writePacket(p.ts, p.buf, p.off, p.caplen, p.origLen);
    });
    w.close();
    return out;
  }
  const w = createPcapngWriter(out);
  const ids = ifaces.map((i) => w.addInterface({ linktype: i.linktype, snaplen: i.snaplen || 262144, name: i.name ?? undefined }));
  readCaptureFile(src, (p) => {
    n++;
    if (!drop(info(p, n))) w.writePacket(ids[p.iface], p.ts, p.buf, p.off, p.caplen, p.origLen, opts.stripComments ? null : p.comment);
  });
  w.close();
  return out;

  function info(p: Parameters<Parameters<typeof readCaptureFile>[1]>[0], num: number): PacketInfo {
    const ok = decodePacket(p, d, skips);
    if (!ok) return { n: num, src: '', dst: '', sport: 0, dport: 0, proto: 0, payload: Buffer.alloc(0), comment: p.comment };
    return {
      n: num,
      src: addrToString(p.buf, d.srcOff, d.addrLen),
      dst: addrToString(p.buf, d.dstOff, d.addrLen),
      sport: d.srcPort,
      dport: d.dstPort,
      proto: d.proto,
      payload: Buffer.from(p.buf.subarray(d.payloadOff, d.payloadOff + d.payloadLen)),
      comment: p.comment,
    };
  }
}

/** Packets of the demo scenario that belong to Ollama: its processes, its destinations, lookups of its names, its API. */
export function isOllamaPacket(p: PacketInfo): boolean {
  if (p.comment && /Cmd: \S*(ollama|llama-server)\b/.test(p.comment)) return true;
  if (['203.0.113.10', '203.0.113.20', '203.0.113.30', '2001:db8:2::10'].some((a) => p.src === a || p.dst === a)) return true;
  if (p.sport === 11434 || p.dport === 11434) return true;
  if (p.sport === 3128 || p.dport === 3128) return true; // the proxy carried a CONNECT to the registry
  // DNS over TCP in the scenario is dig's AAAA registry.ollama.ai: drop the whole connection, not just its data.
  if (p.proto === 6 && (p.sport === 53 || p.dport === 53)) return true;
  return (p.sport === 53 || p.dport === 53) && /ollama|cloudflarestorage/.test(p.payload.toString('latin1'));
}

// --- hand-built captures ---------------------------------------------------------------

export interface Frame { ts: number; bytes: Buffer; comment: string | null; iface: number }

export const HOST = '198.51.100.10';
export const OLLAMA_COMMENT = 'PID: 4242\nCmd: /usr/local/bin/ollama\nArgs: ollama serve';
export const CURL_COMMENT = 'PID: 5151\nCmd: /usr/bin/curl\nArgs: curl';

/**
 * One TCP connection: handshake at t0, request, response `responseAfterUs` later, FIN at t0 + durationUs.
 * Every packet carries `comment` (the owner, as ptcpdump writes it) when given.
 */
export function tcpExchange(o: {
  client: string; server: string; sport: number; dport: number; t0: number; request: string; response: string;
  responseAfterUs?: number; durationUs?: number; comment?: string | null; iface?: number;
}): Frame[] {
  const c = o.comment ?? null;
  const iface = o.iface ?? 0;
  const req = Buffer.from(o.request, 'latin1');
  const res = Buffer.from(o.response, 'latin1');
  const rAt = o.t0 + 300 + (o.responseAfterUs ?? 1000);
  const end = Math.max(rAt + 200, o.t0 + (o.durationUs ?? 0));
  const up = (seq: number, ack: number, flags: number, payload = Buffer.alloc(0)) =>
    eth(0x0800, ipv4({ src: o.client, dst: o.server, proto: 6, payload: tcp({ sport: o.sport, dport: o.dport, seq, ack, flags, payload }) }));
  const down = (seq: number, ack: number, flags: number, payload = Buffer.alloc(0)) =>
    eth(0x0800, ipv4({ src: o.server, dst: o.client, proto: 6, payload: tcp({ sport: o.dport, dport: o.sport, seq, ack, flags, payload }) }));
  const cs = 1000;
  const ss = 5000;
  const f = (ts: number, bytes: Buffer): Frame => ({ ts, bytes, comment: c, iface });
  return [
    f(o.t0, up(cs, 0, TCP_SYN)),
    f(o.t0 + 100, down(ss, cs + 1, TCP_SYN | TCP_ACK)),
    f(o.t0 + 200, up(cs + 1, ss + 1, TCP_ACK)),
    f(o.t0 + 300, up(cs + 1, ss + 1, TCP_ACK | TCP_PSH, req)),
    f(rAt, down(ss + 1, cs + 1 + req.length, TCP_ACK | TCP_PSH, res)),
    f(rAt + 100, up(cs + 1 + req.length, ss + 1 + res.length, TCP_ACK)),
    f(end, up(cs + 1 + req.length, ss + 1 + res.length, TCP_FIN | TCP_ACK)),
    f(end + 100, down(ss + 1 + res.length, cs + 2 + req.length, TCP_FIN | TCP_ACK)),
    f(end + 200, up(cs + 2 + req.length, ss + 2 + res.length, TCP_ACK)),
  ];
}

export function udpExchange(o: { client: string; server: string; sport: number; dport: number; t0: number; payload: Buffer; comment?: string | null }): Frame[] {
  const reply = Buffer.from(o.payload);
  reply[2] |= 0x80; // QR: a response (with no answers)
  return [
    { ts: o.t0, bytes: eth(0x0800, ipv4({ src: o.client, dst: o.server, proto: 17, payload: udp(o.sport, o.dport, o.payload) })), comment: o.comment ?? null, iface: 0 },
    { ts: o.t0 + 500, bytes: eth(0x0800, ipv4({ src: o.server, dst: o.client, proto: 17, payload: udp(o.dport, o.sport, reply) })), comment: o.comment ?? null, iface: 0 },
  ];
}

export function httpRequest(method: string, path: string, host: string, body = ''): string {
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: test\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
}

export const HTTP_OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** Writes frames (sorted by time) as a pcapng with an Ethernet `eth0` and an Ethernet-framed `lo`, as dumpcap does. */
export function writeFrames(frames: Frame[], name = 'built.pcapng'): string {
  const out = join(tmp('built'), name);
  const w = createPcapngWriter(out);
  const ids = [w.addInterface({ linktype: 1, snaplen: 262144, name: 'eth0' }), w.addInterface({ linktype: 1, snaplen: 262144, name: 'lo' })];
  for (const f of [...frames].sort((a, b) => a.ts - b.ts)) w.writePacket(ids[f.iface], f.ts, f.bytes, 0, f.bytes.length, f.bytes.length, f.comment);
  w.close();
  return out;
}

/** A DNS query payload for `name` (type A), enough for the enricher to read the question. */
export function dnsQuery(name: string, txid = 0x1234): Buffer {
  const head = Buffer.from([txid >> 8, txid & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const labels = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  return Buffer.concat([head, labels, Buffer.from([0, 1, 0, 1])]);
}
