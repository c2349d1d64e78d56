/**
 * DNS transactions and the address -> name cache. Messages come from dns-packet's encoder,
 * from a real `dig` talking to a tiny DNS server on 127.0.0.1, and from hand-broken bytes.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { addrKey, createDnsCache } from '../../src/enrich/dns-cache.js';
import { createEnricher } from '../../src/enrich/enricher.js';
import { IPPROTO } from '../../src/decode/decoded.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { describeNeeding } from '../helpers/needs.js';
import { makeFlow, recorder, run, tcp, udp } from './helpers.js';

const v4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const CF1 = '104.21.75.227';
const CF2 = '172.67.182.229';
const CF6 = '2606:4700:3030::6815:4be3';
const CF6_BYTES = Buffer.from('26064700303000000000000068154be3', 'hex');

function query(id: number, name: string, type: 'A' | 'AAAA' = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

/** registry.ollama.ai -> CNAME chain -> two A records (and an AAAA), as a CDN answers. */
function chainResponse(id: number, ttl = 300): Buffer {
  return dnsPacket.encode({
    type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name: 'registry.ollama.ai' }],
    answers: [
      { type: 'CNAME', name: 'registry.ollama.ai', ttl, data: 'registry.ollama.ai.cdn.cloudflare.net' },
      { type: 'CNAME', name: 'registry.ollama.ai.cdn.cloudflare.net', ttl, data: 'edge.cloudflare.net' },
      { type: 'A', name: 'edge.cloudflare.net', ttl, data: CF1 },
      { type: 'A', name: 'edge.cloudflare.net', ttl, data: CF2 },
      { type: 'AAAA', name: 'edge.cloudflare.net', ttl, data: CF6 },
      { type: 'A', name: 'unrelated.example', ttl, data: '192.0.2.7' },
    ],
  });
}

function dnsFlow(over = {}) {
  return makeFlow({ proto: IPPROTO.UDP, responderPort: 53, responderAddr: v4('127.0.0.53'), ...over });
}

describe('address keys', () => {
  it('turn address text into the bytes a flow holds', () => {
    expect(Buffer.from(addrKey('192.0.2.1') as string, 'latin1')).toEqual(Buffer.from([192, 0, 2, 1]));
    expect(Buffer.from(addrKey(CF6) as string, 'latin1')).toEqual(CF6_BYTES);
    expect(Buffer.from(addrKey('::ffff:192.0.2.1') as string, 'latin1'))
      .toEqual(Buffer.from('00000000000000000000ffffc0000201', 'hex'));
    expect(Buffer.from(addrKey('::1') as string, 'latin1')).toEqual(Buffer.from('00000000000000000000000000000001', 'hex'));
    expect(addrKey('1.2.3')).toBeNull();
    expect(addrKey('1:2:3:4:5:6:7:8:9')).toBeNull();
    expect(addrKey('256.1.1.1')).toBeNull();
  });
});

describe('DNS over UDP', () => {
  it('records the transaction and names later flows to the answers with the query name', () => {
    const sink = recorder();
    const e = createEnricher(sink);
    const f = dnsFlow();
    e.onFlowOpen(f);
    udp(e, f, DIR_OUT, query(0x1234, 'Registry.Ollama.AI'), 1_000_000);
    expect(sink.dnsRecs).toHaveLength(0);
    udp(e, f, DIR_IN, chainResponse(0x1234), 1_020_000);
    expect(sink.dnsRecs).toHaveLength(1);
    const r = sink.dnsRecs[0];
    expect(r).toMatchObject({ ts: 1_000_000, responseTs: 1_020_000, txid: 0x1234, query: 'registry.ollama.ai', qtype: 'A',
      rcode: 'NOERROR', transport: 'udp', flowId: 1 });
    expect(r.answers.map((a) => `${a.name} ${a.type} ${a.ttl} ${a.data}`)).toEqual([
      'registry.ollama.ai CNAME 300 registry.ollama.ai.cdn.cloudflare.net',
      'registry.ollama.ai.cdn.cloudflare.net CNAME 300 edge.cloudflare.net',
      `edge.cloudflare.net A 300 ${CF1}`,
      `edge.cloudflare.net A 300 ${CF2}`,
      `edge.cloudflare.net AAAA 300 ${CF6}`,
      'unrelated.example A 300 192.0.2.7',
    ]);

    const https = makeFlow({ id: 2, responderAddr: v4(CF2), firstSeen: 1_030_000 });
    e.onFlowOpen(https);
    expect(https.dnsName).toBe('registry.ollama.ai');
    expect(https.hostname).toBe('registry.ollama.ai');
    expect(https.hostnameSource).toBe('dns');
    const six = makeFlow({ id: 3, ipVersion: 6, responderAddr: CF6_BYTES, firstSeen: 1_030_000 });
    e.onFlowOpen(six);
    expect(six.dnsName).toBe('registry.ollama.ai');
    expect(e.dnsCache.lookup(v4(CF1), 4, 1_030_000)?.aliases)
      .toEqual(['registry.ollama.ai.cdn.cloudflare.net', 'edge.cloudflare.net']);
    expect(e.dnsCache.nameFor(v4('192.0.2.7'), 4, 1_030_000)).toBe('unrelated.example');
  });

  it('does not name a flow that began before the answer was seen', () => {
    const e = createEnricher(recorder());
    const f = dnsFlow();
    e.onFlowOpen(f);
    udp(e, f, DIR_IN, chainResponse(7), 2_000_000);
    const early = makeFlow({ id: 2, responderAddr: v4(CF1), firstSeen: 1_999_999 });
    e.onFlowOpen(early);
    expect(early.dnsName).toBeNull();
    expect(early.hostname).toBeNull();
  });

  it('prefers the latest answer still within its TTL, else the latest one', () => {
    const cache = createDnsCache();
    const k = addrKey(CF1) as string;
    cache.add(k, { name: 'long.example', aliases: [], ts: 0, ttl: 3600 });
    cache.add(k, { name: 'short.example', aliases: [], ts: 100e6, ttl: 60 });
    expect(cache.nameFor(v4(CF1), 4, 150e6)).toBe('short.example');
    expect(cache.nameFor(v4(CF1), 4, 500e6)).toBe('long.example');  // short.example expired at 160 s
    expect(cache.nameFor(v4(CF1), 4, 4000e6)).toBe('short.example'); // both stale: the latest
    expect(cache.nameFor(v4(CF1), 4, 50e6)).toBe('long.example');   // short.example not seen yet
  });

  it('stays bounded, dropping the address answered longest ago', () => {
    const cache = createDnsCache(3);
    for (let i = 1; i <= 4; i++) cache.add(addrKey(`192.0.2.${i}`) as string, { name: `n${i}`, aliases: [], ts: i, ttl: 60 });
    expect(cache.size).toBe(3);
    expect(cache.nameFor(v4('192.0.2.1'), 4, 10)).toBeNull();
    expect(cache.nameFor(v4('192.0.2.4'), 4, 10)).toBe('n4');
  });

  it('emits an unanswered query on close and a response without its query on its own', () => {
    const sink = recorder();
    const e = createEnricher(sink);
    const f = dnsFlow();
    e.onFlowOpen(f);
    udp(e, f, DIR_IN, chainResponse(99), 5_000_000);
    udp(e, f, DIR_OUT, query(100, 'ollama.com', 'AAAA'), 6_000_000);
    udp(e, f, DIR_OUT, query(100, 'ollama.com', 'AAAA'), 6_500_000); // retransmitted
    const https = query(101, 'ollama.com');
    https.writeUInt16BE(65, https.length - 4); // QTYPE 65 = HTTPS (RFC 9460 §14.2)
    udp(e, f, DIR_OUT, https, 7_000_000);
    e.onFlowClose(f);
    expect(sink.dnsRecs.map((r) => [r.txid, r.query, r.qtype, r.ts, r.rcode, r.responseTs])).toEqual([
      [99, 'registry.ollama.ai', 'A', 5_000_000, 'NOERROR', 5_000_000],
      [100, 'ollama.com', 'AAAA', 6_000_000, null, null],
      [101, 'ollama.com', 'HTTPS', 7_000_000, null, null],
    ]);
    expect(f.enrich).toBeNull();
  });

  it('counts malformed messages and never throws', () => {
    const sink = recorder();
    const e = createEnricher(sink);
    const f = dnsFlow();
    e.onFlowOpen(f);
    const good = chainResponse(1);
    const absurd = Buffer.from(good);
    absurd.writeUInt16BE(0xffff, 6); // 65535 answers claimed
    const cases = [Buffer.from([1, 2, 3]), good.subarray(0, good.length - 3), absurd, Buffer.alloc(12, 0xff)];
    for (const c of cases) expect(() => udp(e, f, DIR_IN, c, 1)).not.toThrow();
    expect(e.stats.malformed).toBeGreaterThanOrEqual(3);
    // Every truncation of a valid response: no throw.
    for (let n = 0; n < good.length; n++) expect(() => udp(e, f, DIR_IN, good.subarray(0, n), 2)).not.toThrow();
    expect(sink.dnsRecs.every((r) => r.txid === 1 || r.txid === 0xffff)).toBe(true);
  });
});

describe('DNS over TCP', () => {
  it('reads two messages in one segment and one message split across two segments', () => {
    const sink = recorder();
    const e = createEnricher(sink);
    const f = makeFlow({ responderPort: 53 });
    e.onFlowOpen(f);
    tcp(e, f, DIR_OUT, 999, Buffer.alloc(0), 1, 0x02);
    tcp(e, f, DIR_IN, 4999, Buffer.alloc(0), 2, 0x12);
    const q = Buffer.concat([dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'registry.ollama.ai' }] }),
      dnsPacket.streamEncode({ type: 'query', id: 2, questions: [{ type: 'AAAA', name: 'registry.ollama.ai' }] })]);
    tcp(e, f, DIR_OUT, 1000, q, 10);
    const r1 = Buffer.concat([Buffer.from([0, 0]), chainResponse(1)]);
    r1.writeUInt16BE(r1.length - 2, 0);
    const r2 = dnsPacket.streamEncode({ type: 'response', id: 2, flags: 3 /* NXDOMAIN */,
      questions: [{ type: 'AAAA', name: 'registry.ollama.ai' }] });
    const both = Buffer.concat([r1, r2]);
    const cut = r1.length + 5; // r2 split after its length prefix and 3 header bytes
    tcp(e, f, DIR_IN, 5000 + cut, both.subarray(cut), 30); // second part first
    tcp(e, f, DIR_IN, 5000, both.subarray(0, cut), 20);
    expect(sink.dnsRecs.map((r) => [r.txid, r.qtype, r.rcode, r.transport, r.ts, r.responseTs])).toEqual([
      [1, 'A', 'NOERROR', 'tcp', 10, 20],
      [2, 'AAAA', 'NXDOMAIN', 'tcp', 10, 20],
    ]);
    expect(e.dnsCache.nameFor(v4(CF1), 4, 100)).toBe('registry.ollama.ai');
  });

  it('reads every message of a long connection, far past one 64 KiB window', () => {
    const sink = recorder();
    const e = createEnricher(sink);
    const f = makeFlow({ responderPort: 53 });
    e.onFlowOpen(f);
    const seq = [1000, 5000];
    tcp(e, f, DIR_OUT, seq[0] - 1, Buffer.alloc(0), 1, 0x02);
    tcp(e, f, DIR_IN, seq[1] - 1, Buffer.alloc(0), 2, 0x12);
    let t = 10;
    const send = (dir: number, data: Buffer): void => {
      for (let i = 0; i < data.length; i += 1400) tcp(e, f, dir, seq[dir] + i, data.subarray(i, i + 1400), t);
      seq[dir] += data.length;
      t++;
    };
    const txt = Array.from({ length: 120 }, (_, i) => `${i} ${'t'.repeat(240)}`);
    for (let id = 1; id <= 4; id++) {
      const question = [{ type: 'TXT' as const, name: `big${id}.example.net` }];
      send(DIR_OUT, dnsPacket.streamEncode({ type: 'query', id, questions: question }));
      send(DIR_IN, dnsPacket.streamEncode({ type: 'response', id, questions: question, answers: [{ type: 'TXT', name: `big${id}.example.net`, data: txt }] }));
    }
    expect(seq[1] - 5000).toBeGreaterThan(100_000); // four ~30 KB answers
    expect(sink.dnsRecs.map((r) => `${r.query} ${r.rcode}`)).toEqual([1, 2, 3, 4].map((id) => `big${id}.example.net NOERROR`));
  });
});

describeNeeding(['dig'], 'DNS from a real dig', () => {
  function answerFor(msg: Buffer): Buffer {
    const q = dnsPacket.decode(msg);
    const name = q.questions?.[0]?.name ?? '';
    return dnsPacket.encode({
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions,
      answers: [
        { type: 'CNAME', name, ttl: 120, data: 'blobs.cdn.example' },
        { type: 'A', name: 'blobs.cdn.example', ttl: 120, data: '198.51.100.9' },
      ],
    });
  }

  it('over UDP', async () => {
    const got: Buffer[] = [];
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m, rinfo) => {
      const resp = answerFor(m);
      got.push(Buffer.from(m), resp);
      sock.send(resp, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    try {
      await run('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', 'Dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com', 'A']);
    } finally {
      sock.close();
    }
    expect(got).toHaveLength(2);
    const sink = recorder();
    const e = createEnricher(sink);
    const f = dnsFlow();
    e.onFlowOpen(f);
    udp(e, f, DIR_OUT, got[0], 10);
    udp(e, f, DIR_IN, got[1], 20);
    expect(sink.dnsRecs).toHaveLength(1);
    // dig sends the name as typed; DNS names compare case-insensitively.
    expect(sink.dnsRecs[0]).toMatchObject({ query: 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com', qtype: 'A',
      rcode: 'NOERROR', txid: got[0].readUInt16BE(0), ts: 10, responseTs: 20 });
    expect(e.dnsCache.nameFor(v4('198.51.100.9'), 4, 30)).toBe('dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com');
  });

  it('over TCP (+tcp)', async () => {
    const chunks: { dir: number; data: Buffer }[] = [];
    const srv = net.createServer((c) => {
      let acc = Buffer.alloc(0);
      c.on('data', (d) => {
        chunks.push({ dir: DIR_OUT, data: Buffer.from(d) });
        acc = Buffer.concat([acc, d]);
        if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
          const resp = answerFor(acc.subarray(2, 2 + acc.readUInt16BE(0)));
          const framed = Buffer.concat([Buffer.from([resp.length >> 8, resp.length & 0xff]), resp]);
          chunks.push({ dir: DIR_IN, data: framed });
          c.end(framed);
        }
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      await run('dig', ['@127.0.0.1', '-p', String((srv.address() as net.AddressInfo).port), '+tcp', '+tries=1', '+time=3',
        'registry.ollama.ai', 'A']);
    } finally {
      srv.close();
    }
    const sink = recorder();
    const e = createEnricher(sink);
    const f = makeFlow({ responderPort: 53 });
    e.onFlowOpen(f);
    const seq = [100, 200];
    let t = 10;
    for (const c of chunks) { tcp(e, f, c.dir, seq[c.dir], c.data, t++); seq[c.dir] += c.data.length; }
    expect(sink.dnsRecs).toHaveLength(1);
    expect(sink.dnsRecs[0]).toMatchObject({ query: 'registry.ollama.ai', transport: 'tcp', rcode: 'NOERROR' });
    expect(e.dnsCache.nameFor(v4('198.51.100.9'), 4, 100)).toBe('registry.ollama.ai');
  });
});
