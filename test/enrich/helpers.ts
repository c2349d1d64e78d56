/**
 * Hand-built flows and packets for the enricher tests: no decoder or flow table involved.
 * Like the real sources, one Packet, one Decoded and one Buffer are reused for every packet
 * (and the Buffer is scribbled over between packets), so a test fails if the enricher keeps a
 * reference instead of copying.
 */
import { spawn } from 'node:child_process';
import { newPacket, LINKTYPE } from '../../src/capture/packet.js';
import { newDecoded, IPPROTO, TCP_ACK, TCP_PSH } from '../../src/decode/decoded.js';
import type { Flow } from '../../src/flows/flow.js';
import { makeFlow as baseFlow } from '../helpers/make-flow.js';
import type { Enricher } from '../../src/enrich/enricher.js';
import type { DnsRecord, HttpRecord, EnrichSink } from '../../src/enrich/records.js';

export function makeFlow(over: Partial<Flow> = {}): Flow {
  return baseFlow({
    initiatorAddr: Buffer.from([10, 0, 0, 2]), responderAddr: Buffer.from([93, 184, 216, 34]),
    firstSeen: 1_000_000, lastSeen: 1_000_000, packetsOut: 0, packetsIn: 0, bytesOut: 0, bytesIn: 0,
    payloadOut: 0, payloadIn: 0, closed: false,
    ...over,
  });
}

export interface Recorded extends EnrichSink {
  dnsRecs: DnsRecord[];
  httpRecs: HttpRecord[];
}

export function recorder(): Recorded {
  const dnsRecs: DnsRecord[] = [];
  const httpRecs: HttpRecord[] = [];
  return { dnsRecs, httpRecs, dns: (r) => dnsRecs.push(r), http: (r) => httpRecs.push(r) };
}

const pkt = newPacket();
const dec = newDecoded();
const shared = Buffer.alloc(70_000);
/** Payload sits after some bytes standing in for headers, and junk follows it (Ethernet padding). */
const LEAD = 54;

pkt.buf = shared;
pkt.linktype = LINKTYPE.ETHERNET;

function load(payload: Buffer, ts: number): void {
  shared.fill(0xee);
  payload.copy(shared, LEAD);
  pkt.ts = ts;
  pkt.off = 0;
  pkt.caplen = LEAD + payload.length + 16;
  pkt.origLen = pkt.caplen;
  dec.payloadOff = LEAD;
  dec.payloadLen = payload.length;
  dec.payloadWireLen = payload.length;
}

export function tcp(e: Enricher, flow: Flow, dir: number, seq: number, payload: Buffer, ts: number,
  flags = TCP_ACK | TCP_PSH): void {
  load(payload, ts);
  dec.proto = IPPROTO.TCP;
  dec.tcpSeq = seq >>> 0;
  dec.tcpFlags = flags;
  e.onPacket(flow, dir, pkt, dec);
  shared.fill(0xdd);
}

export function udp(e: Enricher, flow: Flow, dir: number, payload: Buffer, ts: number): void {
  load(payload, ts);
  dec.proto = IPPROTO.UDP;
  dec.tcpSeq = 0;
  dec.tcpFlags = 0;
  e.onPacket(flow, dir, pkt, dec);
  shared.fill(0xdd);
}

/** Feeds a whole byte stream as consecutive segments of at most `mss` bytes starting at `isn + 1`. */
export function tcpStream(e: Enricher, flow: Flow, dir: number, isn: number, data: Buffer, ts: number, mss = 1460): void {
  for (let o = 0; o < data.length; o += mss) {
    tcp(e, flow, dir, isn + 1 + o, data.subarray(o, Math.min(data.length, o + mss)), ts + o);
  }
}

/** Runs a program to completion (or until `timeoutMs`), ignoring its output and exit status. */
export function run(cmd: string, args: string[], timeoutMs = 10_000, stdin = ''): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'] });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', () => { clearTimeout(t); resolve(); });
    p.on('error', () => { clearTimeout(t); resolve(); });
    p.stdin.end(stdin);
  });
}

