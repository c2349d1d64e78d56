/**
 * IP fragments, on the real capture fixtures/dns-fragments.pcap (fixtures/make/fragments.sh):
 * a 200-record A answer in five IPv4 fragments, a 120-record AAAA answer in four IPv6
 * fragments, fragmented pings both ways. The expected answers are what the fixture's DNS server
 * serves (fixtures/make/servers/dns.mjs); test/differential checks the in-order file against
 * tshark. Here the same packets are replayed reordered, lost, duplicated, overlapping, cut and late.
 */
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { newPacket, type Packet } from '../../src/capture/packet.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts } from '../../src/decode/decoded.js';
import { createIngest, type IngestCounts } from '../../src/pipeline/ingest.js';
import type { Flow } from '../../src/flows/flow.js';
import type { DnsRecord } from '../../src/enrich/records.js';
import { addrToString } from '../../src/decode/addr.js';
import { fixture } from '../differential/fixture-files.js';

interface Frame {
  ts: number;
  linktype: number;
  data: Buffer;
  /** 0 not a fragment, 1 first, 2 later; the datagram's id and this fragment's offset. */
  fragment: number;
  fragId: number;
  fragOffset: number;
  ipVersion: number;
  proto: number;
}

function loadFrames(file: string): Frame[] {
  const frames: Frame[] = [];
  const d = newDecoded();
  readCaptureFile(file, (p) => {
    const data = Buffer.from(p.buf.subarray(p.off, p.off + p.caplen));
    decodePacket({ ...p, buf: data, off: 0 }, d, newSkipCounts());
    frames.push({
      ts: p.ts, linktype: p.linktype, data, fragment: d.fragment, fragId: d.fragId, fragOffset: d.fragOffset,
      ipVersion: d.ipVersion, proto: d.proto,
    });
  });
  return frames;
}

interface Run {
  flows: Flow[];
  dns: DnsRecord[];
  counts: IngestCounts;
}

function replay(frames: Frame[]): Run {
  const flows: Flow[] = [];
  const dns: DnsRecord[] = [];
  const ingest = createIngest({ flow: (f) => flows.push(f), dns: (r) => dns.push(r), http: () => {} });
  const p: Packet = newPacket();
  for (const f of frames) {
    p.ts = f.ts;
    p.linktype = f.linktype;
    p.buf = f.data;
    p.off = 0;
    p.caplen = f.data.length;
    p.origLen = f.data.length;
    ingest.packet(p);
  }
  const counts = ingest.finish();
  return { flows, dns, counts };
}

const FRAMES = loadFrames(fixture('dns-fragments.pcap'));
const A_ANSWERS = Array.from({ length: 200 }, (_, i) => `203.0.113.${i + 1}`);
const AAAA_ANSWERS = Array.from({ length: 120 }, (_, i) => `2001:db8:2::${(0x1000 + i).toString(16)}`);

/** The fragments of the A answer (IPv4 UDP), in capture order. */
function aAnswer(frames: Frame[]): Frame[] {
  return frames.filter((f) => f.fragment !== 0 && f.ipVersion === 4 && f.proto === 17);
}

const answersOf = (run: Run, qtype: string): string[] | null => {
  const r = run.dns.find((d) => d.query === 'many.example.net' && d.qtype === qtype);
  return r && r.rcode !== null ? r.answers.map((a) => String(a.data)) : null;
};

const packetsIn = (run: Run): number => run.flows.reduce((n, f) => n + f.packetsOut + f.packetsIn, 0);
const skipped = (run: Run): number => Object.values(run.counts.skips).reduce((a, b) => a + b, 0);
const dnsFlow = (run: Run, v: 4 | 6): Flow => run.flows.find((f) => f.proto === 17 && f.ipVersion === v && f.packetsIn > 1)!;

describe('IP fragments', () => {
  it('the fixture holds what the test needs', () => {
    expect(aAnswer(FRAMES).map((f) => f.fragOffset)).toEqual([0, 1480, 2960, 4440, 5920]);
    expect(FRAMES.filter((f) => f.fragment !== 0 && f.ipVersion === 6 && f.proto === 17).length).toBe(4);
    expect(FRAMES.filter((f) => f.fragment !== 0 && f.proto === 1).length).toBe(6); // ping -s 3000, both ways
  });

  it('in capture order: both answers whole, every fragment in its flow, nothing skipped', () => {
    const run = replay(FRAMES);
    expect(answersOf(run, 'A')).toEqual(A_ANSWERS);
    expect(answersOf(run, 'AAAA')).toEqual(AAAA_ANSWERS);
    expect(skipped(run)).toBe(0);
    expect(packetsIn(run)).toBe(FRAMES.length);
    const a = dnsFlow(run, 4);
    expect([a.packetsOut, a.packetsIn]).toEqual([1, 5]);
    expect(addrToString(a.responderAddr)).toBe('203.0.113.53');
    // The answer's IP bytes: four full 1500-byte fragments and the 542-byte last one (tshark: ip.len).
    expect(a.bytesIn).toBe(4 * 1500 + 542);
    expect(run.counts.fragments.reassembled).toBe(2); // the two DNS answers; the pings are only counted
  });

  it('fragments in reverse order, the first one last: the same answers and counts', () => {
    const frags = new Set(aAnswer(FRAMES));
    const reversed = [...FRAMES];
    const at = reversed.findIndex((f) => frags.has(f));
    reversed.splice(at, frags.size, ...[...frags].reverse());
    const run = replay(reversed);
    expect(answersOf(run, 'A')).toEqual(A_ANSWERS);
    expect(skipped(run)).toBe(0);
    expect([dnsFlow(run, 4).packetsOut, dnsFlow(run, 4).packetsIn]).toEqual([1, 5]);
    expect(dnsFlow(run, 4).bytesIn).toBe(4 * 1500 + 542);
  });

  it('a broken frame right after a later fragment is counted as itself, not as another fragment', () => {
    const second = aAnswer(FRAMES)[1];
    const frames = [...FRAMES];
    frames.splice(frames.indexOf(second) + 1, 0, { ...second, data: second.data.subarray(0, 10) }); // shorter than Ethernet
    const run = replay(frames);
    expect(run.counts.skips['truncated-link-header']).toBe(1);
    expect(run.counts.skips['ip-fragment']).toBe(0);
    expect(packetsIn(run) + skipped(run)).toBe(frames.length);
    expect(answersOf(run, 'A')).toEqual(A_ANSWERS);
  });

  it('the first fragment lost: later ones belong to no flow and stay counted as skipped', () => {
    const first = aAnswer(FRAMES)[0];
    const run = replay(FRAMES.filter((f) => f !== first));
    expect(answersOf(run, 'A')).toBeNull();
    expect(run.counts.skips['ip-fragment']).toBe(4);
    expect(packetsIn(run) + skipped(run)).toBe(FRAMES.length - 1);
    expect(run.counts.fragments.orphans).toBe(4);
    expect(answersOf(run, 'AAAA')).toEqual(AAAA_ANSWERS);
  });

  it('a middle fragment lost: no answer, the rest still counted in the flow', () => {
    const middle = aAnswer(FRAMES)[2];
    const run = replay(FRAMES.filter((f) => f !== middle));
    expect(answersOf(run, 'A')).toBeNull();
    expect(skipped(run)).toBe(0);
    expect(dnsFlow(run, 4).packetsIn).toBe(4);
  });

  it('a duplicated fragment is counted as a packet and does not spoil the answer', () => {
    const dup = aAnswer(FRAMES)[1];
    const frames = [...FRAMES];
    frames.splice(frames.indexOf(dup) + 1, 0, { ...dup, data: Buffer.from(dup.data) });
    const run = replay(frames);
    expect(answersOf(run, 'A')).toEqual(A_ANSWERS);
    expect(dnsFlow(run, 4).packetsIn).toBe(6);
  });

  it('overlapping fragments are counted, not reassembled, and reported', () => {
    const third = aAnswer(FRAMES)[2];
    const data = Buffer.from(third.data);
    // Move its offset back by 8 bytes (fragment offset field: 8-byte units), into the second fragment's data.
    const ip = 14;
    const field = data.readUInt16BE(ip + 6);
    data.writeUInt16BE((field & 0xe000) | ((field & 0x1fff) - 1), ip + 6);
    const run = replay(FRAMES.map((f) => (f === third ? { ...f, data } : f)));
    expect(answersOf(run, 'A')).toBeNull();
    expect(run.counts.fragments.overlapping).toBe(1);
    expect(dnsFlow(run, 4).packetsIn).toBe(5);
    expect(answersOf(run, 'AAAA')).toEqual(AAAA_ANSWERS);
  });

  it('a fragment cut by the snapshot length: counted, the answer not read', () => {
    const last = aAnswer(FRAMES)[4];
    const run = replay(FRAMES.map((f) => (f === last ? { ...f, data: f.data.subarray(0, 200) } : f)));
    expect(answersOf(run, 'A')).toBeNull();
    expect(dnsFlow(run, 4).packetsIn).toBe(5);
  });

  it('a cut fragment that came before its first spoils the datagram for good', () => {
    const frags = aAnswer(FRAMES);
    // Later fragments first (the third cut by a 200-byte snapshot length), then the first.
    const early = [frags[1], { ...frags[2], data: frags[2].data.subarray(0, 200) }, frags[3], frags[4]];
    const rest = FRAMES.filter((f) => !frags.includes(f));
    const at = FRAMES.indexOf(frags[0]);
    const run = replay([...rest.slice(0, at), ...early, frags[0], ...rest.slice(at)]);
    expect(answersOf(run, 'A')).toBeNull();
    expect(run.counts.fragments.reassembled).toBe(1); // only the AAAA answer
    expect(dnsFlow(run, 4).packetsIn).toBe(5);
  });

  it('a fragment held longer than the reassembly timeout is forgotten', () => {
    const frags = aAnswer(FRAMES);
    const late = new Set(frags.slice(1));
    // The first fragment comes 61 s after the others: they expired in between (60 s timeout).
    const frames = FRAMES.filter((f) => f !== frags[0]);
    const lastTs = frames[frames.length - 1].ts;
    frames.push({ ...frags[0], ts: lastTs + 61e6 });
    const run = replay(frames);
    expect(answersOf(run, 'A')).toBeNull();
    expect(run.counts.skips['ip-fragment']).toBe(late.size);
    expect(run.counts.fragments.incomplete).toBeGreaterThanOrEqual(1);
  });
});
