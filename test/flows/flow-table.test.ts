import { describe, expect, it } from 'vitest';
import { LINKTYPE, type Packet } from '../../src/capture/packet.js';
import { addrToString } from '../../src/decode/addr.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts } from '../../src/decode/decoded.js';
import { createFlowTable, type FlowTable, type FlowTableOptions } from '../../src/flows/flow-table.js';
import {
  DIR_IN, DIR_OUT, TCP_STATE_ESTABLISHED, TCP_STATE_FIN_IN, TCP_STATE_FIN_OUT, TCP_STATE_RST_IN,
  TCP_STATE_SYN, TCP_STATE_SYNACK, type Flow,
} from '../../src/flows/flow.js';
import { connStateOf, historyOf } from '../../src/flows/conn-state.js';
import { communityIdOf } from '../../src/flows/community-id.js';
import { icmp, ipv4, ipv6, packet, tcp, udp } from '../decode/frames.js';

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;
const PSH = 0x08;
const SEC = 1_000_000;
const T0 = 1_700_000_000 * SEC;

interface Ep { ip: string; port: number }

function tcpPkt(from: Ep, to: Ep, flags: number, payloadLen = 0, ts = T0): Packet {
  const v6 = from.ip.includes(':');
  const seg = tcp({ sport: from.port, dport: to.port, flags, payload: Buffer.alloc(payloadLen, 0x61) });
  const ip = v6 ? ipv6(from.ip, to.ip, 6, seg) : ipv4({ src: from.ip, dst: to.ip, proto: 6, payload: seg });
  return packet(LINKTYPE.RAW, ip, { ts });
}

function udpPkt(from: Ep, to: Ep, payloadLen = 0, ts = T0): Packet {
  return packet(LINKTYPE.RAW, ipv4({ src: from.ip, dst: to.ip, proto: 17, payload: udp(from.port, to.port, Buffer.alloc(payloadLen)) }), { ts });
}

function icmpPkt(from: string, to: string, type: number, ts = T0): Packet {
  return packet(LINKTYPE.RAW, ipv4({ src: from, dst: to, proto: 1, payload: icmp(type, 0, Buffer.from([0, 1, 0, 1]), Buffer.alloc(56)) }), { ts });
}

/** Decodes and ingests; returns the flow and the direction the table gave the packet. */
function feed(t: FlowTable, p: Packet): { f: Flow; dir: number; isNew: boolean } {
  const d = newDecoded();
  if (!decodePacket(p, d, newSkipCounts())) throw new Error('test packet did not decode');
  const f = t.ingest(p, d);
  return { f, dir: t.lastDir, isNew: t.lastNew };
}

function ends(f: Flow): string {
  return `${addrToString(f.initiatorAddr)}:${f.initiatorPort} > ${addrToString(f.responderAddr)}:${f.responderPort}`;
}

function tracked(opts: FlowTableOptions = {}) {
  const opened: Flow[] = [];
  const closed: Flow[] = [];
  const t = createFlowTable({ ...opts, onOpen: (f) => opened.push(f), onClose: (f) => closed.push(f) });
  return { t, opened, closed };
}

const C: Ep = { ip: '10.0.0.1', port: 40000 };
const S: Ep = { ip: '10.0.0.2', port: 80 };

describe('flow table: TCP', () => {
  it('a whole connection: SYN decides the initiator; counters, state bits and times each way', () => {
    const { t, opened } = tracked();
    const seq: [Ep, Ep, number, number, number][] = [
      [C, S, SYN, 0, DIR_OUT],
      [S, C, SYN | ACK, 0, DIR_IN],
      [C, S, ACK, 0, DIR_OUT],
      [C, S, PSH | ACK, 100, DIR_OUT],
      [S, C, PSH | ACK, 300, DIR_IN],
      [C, S, FIN | ACK, 0, DIR_OUT],
      [S, C, FIN | ACK, 0, DIR_IN],
      [C, S, ACK, 0, DIR_OUT],
    ];
    let flow: Flow | null = null;
    seq.forEach(([a, b, flags, len, wantDir], i) => {
      const { f, dir, isNew } = feed(t, tcpPkt(a, b, flags, len, T0 + i * 1000));
      expect(dir).toBe(wantDir);
      expect(isNew).toBe(i === 0);
      if (flow) expect(f).toBe(flow);
      flow = f;
    });
    const f = flow as unknown as Flow;
    expect(opened).toEqual([f]);
    expect(f.id).toBe(1);
    expect(ends(f)).toBe('10.0.0.1:40000 > 10.0.0.2:80');
    expect(f.initiatorBy).toBe('syn');
    expect([f.packetsOut, f.packetsIn]).toEqual([5, 3]);
    // every segment is 20 (IP) + 20 (TCP) bytes plus its payload
    expect([f.bytesOut, f.bytesIn]).toEqual([5 * 40 + 100, 3 * 40 + 300]);
    expect([f.payloadOut, f.payloadIn]).toEqual([100, 300]);
    expect(f.tcpState).toBe(TCP_STATE_SYN | TCP_STATE_SYNACK | TCP_STATE_ESTABLISHED | TCP_STATE_FIN_OUT | TCP_STATE_FIN_IN);
    expect(f.firstSeen).toBe(T0);
    expect(f.lastSeen).toBe(T0 + 7000);
    expect(t.size).toBe(1);
  });

  it('fills every Flow field at creation, with a Community ID matching the spec vector', () => {
    const t = createFlowTable();
    const { f } = feed(t, tcpPkt({ ip: '1.2.3.4', port: 1122 }, { ip: '5.6.7.8', port: 3344 }, SYN));
    expect(f.communityId).toBe(null); // computed when first asked for (a row is written)
    expect(communityIdOf(f)).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
    expect(f).toEqual({
      id: 1, proto: 6, ipVersion: 4, initiatorAddr: Buffer.from([1, 2, 3, 4]), responderAddr: Buffer.from([5, 6, 7, 8]),
      initiatorPort: 1122, responderPort: 3344, initiatorBy: 'syn', iface: 0, ifaces: null, firstSeen: T0, lastSeen: T0,
      packetsOut: 1, packetsIn: 0, bytesOut: 40, bytesIn: 0, payloadOut: 0, payloadIn: 0, tcpState: TCP_STATE_SYN,
      words: { conn: expect.any(Int32Array), loss: expect.any(Float64Array) }, at: 0, lossAt: 1, tcpLossHoles: null, communityId: '1:wCb3OG7yAFWelaUydu0D+125CLM=', hostname: null, hostnameSource: null, sni: null, alpn: null,
      httpMethod: null, httpPath: null, httpHost: null, httpStatus: null, connectHost: null, connectPort: null,
      dnsName: null, process: null, peerProcess: null, effectiveProcess: null, enrich: null, closed: false,
    });
    expect([connStateOf(f), historyOf(f)]).toEqual(['S0', 'S']);
  });

  it('keeps its own copy of the addresses (sources reuse the packet buffer)', () => {
    const t = createFlowTable();
    const p = tcpPkt(C, S, SYN);
    const { f } = feed(t, p);
    p.buf.fill(0);
    expect(ends(f)).toBe('10.0.0.1:40000 > 10.0.0.2:80');
  });

  it('SYN-ACK seen first: its receiver is the initiator', () => {
    const t = createFlowTable();
    const { f, dir } = feed(t, tcpPkt(S, C, SYN | ACK));
    expect(f.initiatorBy).toBe('syn-ack');
    expect(ends(f)).toBe('10.0.0.1:40000 > 10.0.0.2:80');
    expect(dir).toBe(DIR_IN);
    expect([f.packetsOut, f.packetsIn]).toEqual([0, 1]);
    expect(f.tcpState).toBe(TCP_STATE_SYNACK);
  });

  it('mid-stream TCP: the service port (80, 11434) is the responder whichever side speaks first', () => {
    const t = createFlowTable();
    expect(ends(feed(t, tcpPkt(S, C, ACK, 10)).f)).toBe('10.0.0.1:40000 > 10.0.0.2:80');
    const ollama = feed(t, tcpPkt({ ip: '127.0.0.1', port: 11434 }, { ip: '127.0.0.1', port: 51000 }, PSH | ACK, 5)).f;
    expect(ollama.initiatorBy).toBe('port');
    expect(ends(ollama)).toBe('127.0.0.1:51000 > 127.0.0.1:11434');
    expect([ollama.packetsOut, ollama.packetsIn]).toEqual([0, 1]);
  });

  it('a SYN after FIN both ways starts a new flow (port reuse) and closes the old one', () => {
    const { t, closed } = tracked();
    const first = feed(t, tcpPkt(C, S, SYN)).f;
    feed(t, tcpPkt(S, C, SYN | ACK));
    feed(t, tcpPkt(C, S, FIN | ACK, 0, T0 + 1));
    feed(t, tcpPkt(S, C, FIN | ACK, 0, T0 + 2));
    // a SYN while the flow is still open is a retransmission, not a new flow
    const { f: again, isNew } = feed(t, tcpPkt(C, S, ACK, 0, T0 + 3));
    expect(again).toBe(first);
    expect(isNew).toBe(false);
    const { f: second, isNew: isNew2 } = feed(t, tcpPkt(C, S, SYN, 0, T0 + 4));
    expect(isNew2).toBe(true);
    expect(second).not.toBe(first);
    expect(second.id).toBe(2);
    expect(closed).toEqual([first]);
    expect(first.closed).toBe(true);
    expect(t.size).toBe(1);
    expect([second.packetsOut, second.packetsIn]).toEqual([1, 0]);
  });

  it('a SYN retransmitted on a live flow stays in it; after a RST it starts a new flow', () => {
    const { t, closed } = tracked();
    const a = feed(t, tcpPkt(C, S, SYN)).f;
    expect(feed(t, tcpPkt(C, S, SYN, 0, T0 + 1)).f).toBe(a);
    feed(t, tcpPkt(S, C, RST | ACK, 0, T0 + 2));
    expect(a.tcpState & TCP_STATE_RST_IN).toBe(TCP_STATE_RST_IN);
    const b = feed(t, tcpPkt(C, S, SYN, 0, T0 + 3)).f;
    expect(b).not.toBe(a);
    expect(closed).toEqual([a]);
    expect(a.packetsOut).toBe(2);
  });

  it('IPv6 flows, and IPv4/IPv6 with equal ports stay apart', () => {
    const t = createFlowTable();
    const v6 = feed(t, tcpPkt({ ip: '2001:db8::1', port: 40000 }, { ip: '2001:db8::2', port: 443 }, SYN)).f;
    const v6back = feed(t, tcpPkt({ ip: '2001:db8::2', port: 443 }, { ip: '2001:db8::1', port: 40000 }, SYN | ACK));
    expect(v6back.f).toBe(v6);
    expect(v6back.dir).toBe(DIR_IN);
    expect(v6.ipVersion).toBe(6);
    expect(ends(v6)).toBe('2001:db8::1:40000 > 2001:db8::2:443');
    expect([v6.bytesOut, v6.bytesIn]).toEqual([60, 60]);
    feed(t, tcpPkt({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 443 }, SYN));
    expect(t.size).toBe(2);
  });
});

describe('flow table: UDP, ICMP and others', () => {
  it('a DNS reply seen first: the port-53 side is the responder', () => {
    const t = createFlowTable();
    const dns = { ip: '10.0.0.53', port: 53 };
    const { f, dir } = feed(t, udpPkt(dns, C, 120));
    expect(f.initiatorBy).toBe('port');
    expect(ends(f)).toBe('10.0.0.1:40000 > 10.0.0.53:53');
    expect(dir).toBe(DIR_IN);
    expect([f.bytesIn, f.payloadIn]).toEqual([20 + 8 + 120, 120]);
    feed(t, udpPkt(C, dns, 30));
    expect([f.packetsOut, f.packetsIn, f.payloadOut]).toEqual([1, 1, 30]);
  });

  it('no clue (both ephemeral, both service ports): the first sender', () => {
    const t = createFlowTable();
    const a = feed(t, udpPkt({ ip: '10.0.0.9', port: 50000 }, { ip: '10.0.0.1', port: 40001 })).f;
    expect(a.initiatorBy).toBe('first-packet');
    expect(ends(a)).toBe('10.0.0.9:50000 > 10.0.0.1:40001');
    const mdns = feed(t, udpPkt({ ip: '10.0.0.9', port: 5353 }, { ip: '224.0.0.251', port: 5353 })).f;
    expect(mdns.initiatorBy).toBe('first-packet');
    expect(ends(mdns)).toBe('10.0.0.9:5353 > 224.0.0.251:5353');
  });

  it('ICMP echo request and reply are one flow; a reply seen first makes its receiver the initiator', () => {
    const t = createFlowTable();
    const req = feed(t, icmpPkt('10.0.0.1', '10.0.0.2', 8));
    const rep = feed(t, icmpPkt('10.0.0.2', '10.0.0.1', 0));
    expect(rep.f).toBe(req.f);
    expect(rep.dir).toBe(DIR_IN);
    expect(ends(req.f)).toBe('10.0.0.1:8 > 10.0.0.2:0');
    // each: IP 20 + ICMP 8 + 56 payload
    expect([req.f.bytesOut, req.f.bytesIn, req.f.payloadOut]).toEqual([84, 84, 56]);

    const lone = feed(t, icmpPkt('10.0.0.7', '10.0.0.3', 0)).f;
    expect(ends(lone)).toBe('10.0.0.3:8 > 10.0.0.7:0');
    expect(lone.initiatorBy).toBe('port');
    // destination unreachable is one-way: its own flow, sender first
    const unreach = feed(t, packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.254', dst: '10.0.0.1', proto: 1, payload: icmp(3, 1, Buffer.alloc(4), Buffer.alloc(28)) }))).f;
    expect(ends(unreach)).toBe('10.0.0.254:3 > 10.0.0.1:1');
    expect(unreach.initiatorBy).toBe('first-packet');
    expect(t.size).toBe(3);
  });

  it('a port-less protocol (GRE) is a flow keyed by addresses', () => {
    const t = createFlowTable();
    const gre = (s: string, d: string) => packet(LINKTYPE.RAW, ipv4({ src: s, dst: d, proto: 47, payload: Buffer.alloc(24) }));
    const a = feed(t, gre('10.0.0.1', '10.0.0.2'));
    const b = feed(t, gre('10.0.0.2', '10.0.0.1'));
    expect(b.f).toBe(a.f);
    expect(b.dir).toBe(DIR_IN);
    expect(a.f.initiatorBy).toBe('first-packet');
    expect([a.f.payloadOut, a.f.payloadIn]).toEqual([24, 24]);
  });
});

describe('flow table: expiry', () => {
  it('expire() closes UDP after 1 min idle and TCP after 5 min, by capture time', () => {
    const { t, closed } = tracked();
    const u = feed(t, udpPkt(C, { ip: '10.0.0.53', port: 53 }, 10, T0)).f;
    feed(t, udpPkt({ ip: '10.0.0.53', port: 53 }, C, 10, T0)); // answered: not half-open (30 s)
    const c = feed(t, tcpPkt(C, S, SYN, 0, T0)).f;
    feed(t, tcpPkt(S, C, SYN | ACK, 0, T0 + 1));
    expect(t.expire(T0 + 60 * SEC)).toBe(0);   // exactly the timeout: not yet
    expect(t.expire(T0 + 60 * SEC + 1)).toBe(1);
    expect(closed).toEqual([u]);
    expect(u.closed).toBe(true);
    expect(t.expire(T0 + 300 * SEC)).toBe(0);
    expect(t.expire(T0 + 300 * SEC + 2)).toBe(1);
    expect(closed).toEqual([u, c]);
    expect(t.size).toBe(0);
  });

  it('a finished TCP flow goes 5 s after its last packet; custom timeouts apply', () => {
    const { t, closed } = tracked({ idleTimeoutUs: { tcp: 100 * SEC, udp: 2 * SEC, other: 3 * SEC } });
    const done = feed(t, tcpPkt(C, S, RST, 0, T0)).f;
    const live = feed(t, tcpPkt({ ...C, port: 40001 }, S, SYN, 0, T0)).f;
    feed(t, tcpPkt(S, { ...C, port: 40001 }, SYN | ACK, 0, T0)); // answered: not half-open
    const gre = feed(t, packet(LINKTYPE.RAW, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 47, payload: Buffer.alloc(4) }), { ts: T0 })).f;
    feed(t, packet(LINKTYPE.RAW, ipv4({ src: '2.2.2.2', dst: '1.1.1.1', proto: 47, payload: Buffer.alloc(4) }), { ts: T0 }));
    t.expire(T0 + 3 * SEC + 1);
    expect(closed).toEqual([gre]);
    t.expire(T0 + 5 * SEC + 1);
    expect(closed).toEqual([gre, done]);
    t.expire(T0 + 100 * SEC + 1);
    expect(closed).toEqual([gre, done, live]);
  });

  it('a rejected attempt (SYN, then RST back) closes after the shorter delay only while the table is under pressure; a late RST is then a flow of its own', () => {
    const rejected = { closeDelayUs: 1 * SEC, pressureAtFlows: 3 };
    const { t, closed } = tracked({ rejected });
    const rej = (port: number, ts: number): Flow => {
      const c = { ...C, port };
      const f = feed(t, tcpPkt(c, S, SYN, 0, ts)).f;
      feed(t, tcpPkt(S, c, RST | ACK, 0, ts + 10));
      return f;
    };
    // Reset after an answer (RSTO), not a rejection: keeps the 5 s close delay under pressure too.
    const c9 = { ...C, port: 40009 };
    const reset = feed(t, tcpPkt(c9, S, SYN, 0, T0)).f;
    feed(t, tcpPkt(S, c9, SYN | ACK, 0, T0 + 1));
    feed(t, tcpPkt(c9, S, RST, 0, T0 + 2));
    const [r1, r2, r0] = [rej(40001, T0), rej(40002, T0), rej(40000, T0 + 20)];
    expect(connStateOf(r1)).toBe('REJ');
    t.expire(T0 + 1.5 * SEC); // 4 open > 3
    expect(closed).toEqual([r1, r2, r0]);
    expect(t.expiredEarly.rejectedClosedEarly).toBe(3);
    // A duplicate RST of r1 after its close: a flow of its own (one packet, from the server).
    const late = feed(t, tcpPkt(S, { ...C, port: 40001 }, RST | ACK, 0, T0 + 2 * SEC));
    expect(late.isNew).toBe(true);
    expect(late.f.packetsOut + late.f.packetsIn).toBe(1);
    expect(r1.packetsIn).toBe(1);
    // At the mark, not over it (3 open: reset, late and a new REJ flow): the 5 s delay, nothing counted.
    const r3 = rej(40003, T0 + 2 * SEC);
    t.expire(T0 + 4 * SEC);
    expect(closed).toEqual([r1, r2, r0]);
    t.expire(T0 + 7.1 * SEC);
    expect(closed).toEqual([r1, r2, r0, reset, late.f, r3]);
    expect(t.expiredEarly.rejectedClosedEarly).toBe(3);
  });

  it('without the option (an import) a rejected attempt keeps the 5 s close delay however many flows are open', () => {
    const { t, closed } = tracked();
    for (let p = 40001; p <= 40050; p++) {
      feed(t, tcpPkt({ ...C, port: p }, S, SYN, 0, T0));
      feed(t, tcpPkt(S, { ...C, port: p }, RST | ACK, 0, T0 + 10));
    }
    t.expire(T0 + 4 * SEC);
    expect(closed).toEqual([]);
    t.expire(T0 + 5 * SEC + 11);
    expect(closed.length).toBe(50);
    expect(t.expiredEarly.rejectedClosedEarly).toBe(0);
  });

  it('a full table evicts finished flows oldest first, rejected ones (in their own list under the option) and others alike', () => {
    const { t, closed } = tracked({ maxFlows: 3, rejected: { closeDelayUs: SEC, pressureAtFlows: 1 } });
    const c1 = { ...C, port: 40001 };
    const c2 = { ...C, port: 40002 };
    const reset = feed(t, tcpPkt(c1, S, SYN, 0, T0)).f;
    feed(t, tcpPkt(S, c1, SYN | ACK, 0, T0 + 1));
    const rej = feed(t, tcpPkt(c2, S, SYN, 0, T0 + 2)).f;
    feed(t, tcpPkt(S, c2, RST | ACK, 0, T0 + 3));
    feed(t, tcpPkt(c1, S, RST, 0, T0 + 4)); // reset: finished after rej
    const live = { ...C, port: 40003 };
    feed(t, tcpPkt(live, S, SYN, 0, T0 + 5));
    feed(t, tcpPkt(S, live, SYN | ACK, 0, T0 + 6));
    feed(t, tcpPkt({ ...C, port: 40004 }, S, SYN, 0, T0 + 7));
    expect(closed).toEqual([rej]);
    feed(t, tcpPkt({ ...C, port: 40005 }, S, SYN, 0, T0 + 8)); // evicts the half-open 40004 first
    feed(t, tcpPkt(S, { ...C, port: 40005 }, SYN | ACK, 0, T0 + 9));
    feed(t, tcpPkt({ ...C, port: 40006 }, S, SYN, 0, T0 + 10));
    expect(closed.slice(0, 3).map((f) => f.initiatorPort)).toEqual([40002, 40004, 40001]);
    expect(reset.closed).toBe(true);
    expect(t.expiredEarly.evictedFinished).toBe(2);
  });

  it('activity keeps a flow alive; a packet after the idle timeout starts a new flow even without expire()', () => {
    const { t, closed } = tracked();
    const dns = { ip: '10.0.0.53', port: 53 };
    const a = feed(t, udpPkt(C, dns, 1, T0)).f;
    feed(t, udpPkt(dns, C, 1, T0 + 1)); // answered: the UDP timeout (1 min), not the half-open one
    feed(t, udpPkt(dns, C, 1, T0 + 50 * SEC));
    t.expire(T0 + 100 * SEC);
    expect(closed).toEqual([]);
    const b = feed(t, udpPkt(C, dns, 1, T0 + 171 * SEC)).f;
    expect(b).not.toBe(a);
    expect(closed).toEqual([a]);
    expect(b.firstSeen).toBe(T0 + 171 * SEC);
  });

  it('closeAll() closes every flow in id order', () => {
    const { t, closed } = tracked();
    for (let i = 0; i < 5; i++) feed(t, udpPkt({ ip: '10.0.0.1', port: 40000 + i }, { ip: '10.0.0.2', port: 53 }));
    t.closeAll();
    expect(closed.map((f) => f.id)).toEqual([1, 2, 3, 4, 5]);
    expect(t.size).toBe(0);
    expect([...t.flows()]).toEqual([]);
  });
});

describe('flow table: hashing and growth', () => {
  function manyFlows(t: FlowTable, n: number, ts: (i: number) => number): Flow[] {
    const out: Flow[] = [];
    for (let i = 0; i < n; i++) {
      const client = { ip: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 1024 + (i % 60000) };
      out.push(feed(t, udpPkt(client, { ip: '192.0.2.1', port: 53 }, 1, ts(i))).f);
    }
    return out;
  }

  function replies(t: FlowTable, flows: Flow[], ts: number): void {
    for (const f of flows) {
      const client = { ip: addrToString(f.initiatorAddr), port: f.initiatorPort };
      const r = feed(t, udpPkt({ ip: '192.0.2.1', port: 53 }, client, 1, ts));
      expect(r.f).toBe(f);
      expect(r.isNew).toBe(false);
    }
  }

  // One hash value for all flows; then 8 values whose probe runs overlap and wrap around the
  // end of the index (capacity 512 -> 1024 buckets, homes 1020..1027 & 1023).
  it.each([
    ['one hash value', { hash: () => 0x1234567, initialCapacity: 16 }],
    ['overlapping runs that wrap', { hash: (h: number) => 1020 + (h & 7), initialCapacity: 512 }],
  ])('colliding flows stay separate, also across deletions (%s)', (_name, opts) => {
    const { t } = tracked(opts);
    const flows = manyFlows(t, 300, (i) => T0 + (i % 2) * 30 * SEC);
    expect(new Set(flows).size).toBe(300);
    replies(t, flows, T0 + 30 * SEC);
    // flows whose last packet was at T0 + 30 s survive; the even ones got their reply then too
    expect(t.expire(T0 + 80 * SEC)).toBe(0);
    // let the odd ones talk again, then expire the even ones: deletions in the middle of the probe chain
    replies(t, flows.filter((_, i) => i % 2 === 1), T0 + 60 * SEC);
    expect(t.expire(T0 + 95 * SEC)).toBe(150);
    const odd = flows.filter((_, i) => i % 2 === 1);
    replies(t, odd, T0 + 96 * SEC);
    for (const f of odd) expect([f.packetsOut, f.packetsIn]).toEqual([1, 3]);
    expect(t.size).toBe(150);
  });

  it('grows from a small capacity without losing flows', () => {
    const t = createFlowTable({ initialCapacity: 16 });
    const flows = manyFlows(t, 5000, () => T0);
    expect(t.size).toBe(5000);
    expect(new Set(flows.map((f) => f.id)).size).toBe(5000);
    replies(t, flows, T0 + 1);
    expect([...t.flows()].length).toBe(5000);
  });
});

describe('flow table: per-packet TCP numbers in the table\'s rows', () => {
  it('a closed flow keeps its conn state and history after its slot goes to a new flow', () => {
    const { t, closed } = tracked();
    feed(t, tcpPkt(C, S, SYN));
    feed(t, tcpPkt(S, C, SYN | ACK));
    feed(t, tcpPkt(C, S, ACK));
    feed(t, tcpPkt(C, S, RST));
    t.expire(T0 + 10 * SEC); // past the 5 s close delay of a reset flow
    expect(closed).toHaveLength(1);
    const a = closed[0];
    expect([connStateOf(a), historyOf(a)]).toEqual(['RSTO', 'ShAR']);
    // Flows that reuse the freed slot (and make the table grow) do not touch the closed flow's numbers.
    for (let i = 0; i < 3000; i++) feed(t, tcpPkt({ ip: '10.0.1.1', port: 1024 + i }, S, SYN | ACK, 0, T0 + 11 * SEC));
    expect([connStateOf(a), historyOf(a)]).toEqual(['RSTO', 'ShAR']);
    const open = [...t.flows()];
    expect(open).toHaveLength(3000);
    expect(new Set(open.map((f) => `${connStateOf(f)} ${historyOf(f)}`))).toEqual(new Set(['OTH h']));
  });
});

describe('flow table: bounded (maxFlows) and half-open expiry', () => {
  const synFrom = (i: number, ts: number) =>
    tcpPkt({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) }, S, SYN, 0, ts);

  /** Two established connections (handshake + data), then a flood of distinct SYNs. */
  function floodAfterEstablished(t: FlowTable, synCount: number) {
    const est = [40100, 40101].map((port, k) => {
      const c = { ...C, port };
      const f = feed(t, tcpPkt(c, S, SYN, 0, T0 + k)).f;
      feed(t, tcpPkt(S, c, SYN | ACK, 0, T0 + k + 1));
      feed(t, tcpPkt(c, S, ACK | PSH, 100, T0 + k + 2));
      return f;
    });
    for (let i = 0; i < synCount; i++) feed(t, synFrom(i, T0 + 10 + i));
    return est;
  }

  it('5000 distinct SYNs into maxFlows 1000: at most 1000 open, 4000+ evictions counted as half-open, established flows kept', () => {
    const { t, closed } = tracked({ maxFlows: 1000 });
    let most = 0;
    const est = floodAfterEstablished(t, 0);
    for (let i = 0; i < 5000; i++) {
      feed(t, synFrom(i, T0 + 10 + i));
      most = Math.max(most, t.size);
    }
    expect(most).toBe(1000);
    expect(t.size).toBe(1000);
    // 5002 flows made, 1000 open: 4002 closed, all half-open SYNs (oldest first), none established.
    expect(closed.length).toBe(4002);
    expect(t.expiredEarly).toEqual({ evictedHalfOpen: 4002, evictedFinished: 0, evictedActive: 0, halfOpenTimeout: 0, rejectedClosedEarly: 0 });
    expect(closed.every((f) => f.packetsIn === 0 && f.packetsOut === 1)).toBe(true);
    expect(closed.map((f) => f.id)).toEqual(closed.map((f) => f.id).sort((a, b) => a - b)); // oldest first
    for (const f of est) expect(f.closed).toBe(false);
    expect(est.every((f) => [...t.flows()].includes(f))).toBe(true);
    // Evicted flows are real flows, closed early: S0 (SYN, no answer).
    expect(connStateOf(closed[0])).toBe('S0');
  });

  it('with no half-open flow left, a new flow evicts a finished one, then the least recently active', () => {
    const { t, closed } = tracked({ maxFlows: 3 });
    const [a, b] = floodAfterEstablished(t, 0);
    // A third established flow that finished (RST): in its 5 s close delay.
    const c3 = { ...C, port: 40102 };
    const fin = feed(t, tcpPkt(c3, S, SYN, 0, T0 + 5)).f;
    feed(t, tcpPkt(S, c3, SYN | ACK, 0, T0 + 6));
    feed(t, tcpPkt(c3, S, RST, 0, T0 + 7));
    feed(t, tcpPkt({ ...C, port: 40100 }, S, ACK, 0, T0 + 8)); // a is now the most recent
    const n1 = feed(t, synFrom(1, T0 + 20)).f;
    expect(closed).toEqual([fin]);
    feed(t, tcpPkt(S, { ip: addrToString(n1.initiatorAddr), port: n1.initiatorPort }, SYN | ACK, 0, T0 + 21)); // n1 answered
    feed(t, synFrom(2, T0 + 30));
    // Nothing half-open or finished: b (last packet at T0+3) is least recently active.
    expect(closed).toEqual([fin, b]);
    expect(t.expiredEarly).toEqual({ evictedHalfOpen: 0, evictedFinished: 1, evictedActive: 1, halfOpenTimeout: 0, rejectedClosedEarly: 0 });
    expect(a.closed).toBe(false);
  });

  it('an unanswered flow goes after 30 s idle (counted), an answered one keeps its protocol timeout', () => {
    const { t, closed } = tracked();
    const half = feed(t, synFrom(7, T0)).f;
    const udpHalf = feed(t, udpPkt(C, { ip: '10.0.0.9', port: 9999 }, 10, T0)).f;
    const [est] = floodAfterEstablished(t, 0);
    t.expire(T0 + 30 * SEC);
    expect(closed).toEqual([]);
    t.expire(T0 + 31 * SEC);
    expect(closed).toEqual([half, udpHalf]);
    expect(t.expiredEarly.halfOpenTimeout).toBe(2);
    expect(est.closed).toBe(false);
    t.expire(T0 + 299 * SEC);
    expect(est.closed).toBe(false);
  });

  it('a one-way flow with more than a few packets is not half-open (a one-way capture of a real stream)', () => {
    const { t, closed } = tracked();
    const u = { ip: '10.0.0.9', port: 9999 };
    const f = feed(t, udpPkt(C, u, 10, T0)).f;
    for (let i = 1; i <= 4; i++) feed(t, udpPkt(C, u, 10, T0 + i));
    t.expire(T0 + 40 * SEC);
    expect(closed).toEqual([]);
    t.expire(T0 + 61 * SEC);
    expect(closed).toEqual([f]);
  });

  it('maxFlows must be a positive integer', () => {
    expect(() => createFlowTable({ maxFlows: 0 })).toThrow(/positive integer/);
    expect(() => createFlowTable({ maxFlows: 1.5 })).toThrow(/positive integer/);
  });
});

describe('flow table: closing under a deadline (the daemon stopping)', () => {
  it('closeAll(stopWhen) closes answered flows before half-open ones and leaves the rest open once told to stop', () => {
    const { t, closed } = tracked();
    const half: Flow[] = [];
    for (let i = 0; i < 600; i++) half.push(feed(t, tcpPkt({ ip: '10.9.0.1', port: 20000 + i }, S, SYN, 0, T0 + i)).f);
    const answered: Flow[] = [];
    for (let i = 0; i < 300; i++) {
      const c = { ip: '10.8.0.1', port: 30000 + i };
      answered.push(feed(t, tcpPkt(c, S, SYN, 0, T0 + 1000 + i)).f);
      feed(t, tcpPkt(S, c, SYN | ACK, 0, T0 + 1000 + i));
    }
    let asked = 0;
    // stopWhen is asked every 256 flows: true at the third question, after 512 closed.
    const left = t.closeAll(() => ++asked > 2);
    expect(closed.length).toBe(512);
    expect(left).toBe(900 - 512);
    expect(t.size).toBe(left);
    expect(answered.every((f) => f.closed)).toBe(true);
    expect(half.filter((f) => f.closed).length).toBe(512 - 300);
    expect(t.closeAll()).toBe(0);
    expect(t.size).toBe(0);
  });
});
