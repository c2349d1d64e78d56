// Checks the tshark oracle itself against what the fixture scripts (fixtures/make/) are known to
// have done, so the differential test rests on an oracle that reads the fixtures correctly.
// Expected values come from the scenario design (names, addresses, requests), not from our code.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  tsharkConnect, tsharkConversations, tsharkDnsAnswers, tsharkFields,
  tsharkHttpRequests, tsharkSni,
} from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';
import { fixture, fixtureFiles } from './fixture-files.js';

const PULL = ['pull-any-sll2.pcap', 'pull-dumpcap.pcapng', 'pull-eth-nano.pcap', 'demo/ollama-pull.pcapng'];
const CDN = 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com';

describe('fixture files', () => {
  // A copy would be compared twice and counted as two scenarios (the demo capture was once also
  // committed as ptcpdump-comments.pcapng).
  it('no two committed captures are byte-identical', () => {
    const bySha = new Map<string, string[]>();
    for (const f of fixtureFiles()) {
      const sha = createHash('sha256').update(readFileSync(f)).digest('hex');
      bySha.set(sha, [...(bySha.get(sha) ?? []), f.slice(f.lastIndexOf('fixtures/') + 9)]);
    }
    expect([...bySha.values()].filter((names) => names.length > 1)).toEqual([]);
  });
});

// Every test here blocks on tshark (execFileSync). Without a turn of the event loop between tests,
// a worker busy for over a minute on a loaded machine misses vitest's own RPC deadline ("Timeout
// calling onTaskUpdate") although every test passed.
afterEach(() => new Promise<void>((resolve) => setTimeout(resolve, 1)));

describeNeeding(['tshark'], 'tshark oracle', () => {
  it('finds every fixture', () => {
    const names = fixtureFiles().map((f) => f.slice(f.lastIndexOf('fixtures/') + 9));
    expect(names).toEqual(expect.arrayContaining([...PULL, 'vlan-qinq.pcap']));
  });

  describe.each(PULL)('%s', (name) => {
    const file = fixture(name);

    it('sees the SNI of ollama.com, the registry, the CDN, and one ClientHello split over two segments', () => {
      const sni = tsharkSni(file);
      console.log(name, 'SNI', sni.map((s) => `${s.clientAddr}:${s.clientPort} -> ${s.serverAddr}:${s.serverPort} ${s.sni}${s.reassembled ? ' (reassembled)' : ''}`));
      expect(new Set(sni.map((s) => s.sni))).toEqual(new Set(['ollama.com', 'registry.ollama.ai', CDN]));
      const big = sni.filter((s) => s.reassembled);
      expect(big).toHaveLength(1);
      expect(big[0]).toMatchObject({ serverAddr: '203.0.113.10', serverPort: 443, sni: 'registry.ollama.ai' });
      // The TLS inside the proxy tunnel names the registry too.
      expect(sni.some((s) => s.serverPort === 3128 && s.sni === 'registry.ollama.ai')).toBe(true);
    });

    it('sees the proxy CONNECT', () => {
      const c = tsharkConnect(file);
      console.log(name, 'CONNECT', c);
      expect(c).toEqual([expect.objectContaining({ proxyAddr: '203.0.113.128', proxyPort: 3128, targetHost: 'registry.ollama.ai', targetPort: 443, status: 200 })]);
    });

    it('sees the CNAME chain, the CDN name, IPv6 answers and the NXDOMAIN', () => {
      const dns = tsharkDnsAnswers(file);
      console.log(name, 'DNS', dns.map((d) => `${d.query}/${d.qtype} rcode=${d.rcode} ${d.answers.map((a) => `${a.name} ${a.type} ${a.data}`).join(', ')}`));
      const registryA = dns.find((d) => d.query === 'registry.ollama.ai' && d.qtype === 1);
      expect(registryA?.answers.map((a) => [a.name, a.type, a.data])).toEqual([
        ['registry.ollama.ai', 5, 'registry.ollama.ai.cdn.cloudflare.net'],
        ['registry.ollama.ai.cdn.cloudflare.net', 1, '203.0.113.10'],
      ]);
      expect(dns.find((d) => d.query === CDN && d.qtype === 1)?.answers.map((a) => a.data)).toEqual(['203.0.113.20']);
      expect(dns.find((d) => d.query === 'example.org' && d.qtype === 28)?.answers.map((a) => a.data)).toEqual(['2001:db8:2::80']);
      expect(dns.find((d) => d.query === 'no-such-host.example.net')?.rcode).toBe(3);
    });

    // pull-eth-nano.pcap is the veth alone: no loopback API or runner traffic in it.
    const hasLoopback = name !== 'pull-eth-nano.pcap';

    it('sees the API calls, the runner call and the plain web requests with their status', () => {
      const http = tsharkHttpRequests(file).map((h) => `${h.method} ${h.uri} ${h.host} ${h.status}`);
      console.log(name, 'HTTP', http);
      const loopback = ['GET /api/tags 127.0.0.1:11434 200', 'POST /api/pull 127.0.0.1:11434 200', 'POST /api/generate 127.0.0.1:11434 200'];
      if (hasLoopback) expect(http).toEqual(expect.arrayContaining(loopback));
      else expect(http.filter((h) => h.includes('127.0.0.1'))).toEqual([]);
      expect(http).toEqual(expect.arrayContaining([
        'CONNECT registry.ollama.ai:443 registry.ollama.ai:443 200',
        'GET http://example.org/ example.org 200',
        'GET / example.org 200',
      ]));
      expect(http.filter((h) => /^POST \/completion 127\.0\.0\.1:\d+ 200$/.test(h))).toHaveLength(hasLoopback ? 1 : 0);
    });

    it('counts conversations by SYN, including an IPv6 one', () => {
      const convs = tsharkConversations(file);
      console.log(name, 'conversations', convs.length, convs.map((c) => `${c.proto} ${c.initiatorAddr}:${c.initiatorPort} > ${c.responderAddr}:${c.responderPort} ${c.packetsOut}/${c.bytesOut} ${c.packetsIn}/${c.bytesIn}`));
      const v6web = convs.find((c) => c.proto === 'tcp' && c.responderAddr === '2001:db8:2::80' && c.responderPort === 80);
      expect(v6web?.initiatorBySyn).toBe(true);
      expect(v6web?.initiatorAddr).toBe('2001:db8:1::10');
      // The blob (40 KiB) comes back from the CDN: the responder sent far more than it received.
      const cdn = convs.find((c) => c.responderAddr === '203.0.113.20');
      expect(cdn?.bytesIn).toBeGreaterThan(40 * 1024);
      expect(convs.every((c) => c.lastSeen >= c.firstSeen)).toBe(true);
    });
  });

  it('demo/ollama-pull.pcapng carries ptcpdump-style process comments', () => {
    const rows = tsharkFields(fixture('demo/ollama-pull.pcapng'), ['frame.comment'], 'frame.comment');
    const comments = rows.map((r) => r['frame.comment'][0]);
    expect(comments.length).toBeGreaterThan(100);
    // tshark escapes the comment's newlines as \n in field output.
    expect(comments.every((c) => /^PID: \d+\\nCmd: \/\S+\\nArgs: .+/.test(c))).toBe(true);
    const cmds = new Set(comments.map((c) => c.split('\\n')[1]));
    expect(cmds).toEqual(new Set(['Cmd: /tmp/oafx-bin/ollama', 'Cmd: /tmp/oafx-bin/llama-server', 'Cmd: /usr/bin/curl', 'Cmd: /usr/bin/dig', 'Cmd: /usr/bin/ping', 'Cmd: /usr/bin/openssl']));
  });

  it('vlan-qinq.pcap has 802.1Q and QinQ frames carrying IPv4 and IPv6', () => {
    // tshark names the 802.1ad (S-tag) id ieee8021ad.id and the 802.1Q (C-tag) id vlan.id.
    const rows = tsharkFields(fixture('vlan-qinq.pcap'), ['eth.type', 'ieee8021ad.id', 'vlan.id', 'ip.src', 'ipv6.src'], 'vlan || ieee8021ad');
    const ids = (r: Record<string, string[]>) => [...r['ieee8021ad.id'], ...r['vlan.id']].join('/');
    const stacks = new Set(rows.map((r) => `${r['eth.type'][0]} ${ids(r)} ${r['ip.src'].length ? 'v4' : r['ipv6.src'].length ? 'v6' : 'other'}`));
    console.log('vlan-qinq.pcap stacks', [...stacks]);
    for (const want of ['0x8100 100 v4', '0x8100 100 v6', '0x88a8 200/300 v4', '0x88a8 200/300 v6']) expect(stacks.has(want)).toBe(true);
  });

  it('api-keepalive.pcap: five requests on one curl connection, bodies as keepalive.sh and api-stream.mjs make them', () => {
    const file = fixture('api-keepalive.pcap');
    // The scenario's bodies, computed as the scripts compute them (fixtures/make/keepalive.sh, servers/api-stream.mjs).
    const pad = (n: number) => 'x'.repeat(n);
    const chatRequest = JSON.stringify({ model: 'tinyllama', messages: [{ role: 'user', content: 'q'.repeat(40000) }] });
    const chatChunks = [
      ...Array.from({ length: 80 }, (_, i) => JSON.stringify({ model: 'tinyllama', message: { role: 'assistant', content: `token ${i} ${pad(560)}` }, done: false }) + '\n'),
      JSON.stringify({ model: 'tinyllama', done: true }) + '\n',
    ].map((c) => Buffer.byteLength(c));
    const tags = JSON.stringify({ models: Array.from({ length: 40 }, (_, i) => ({ name: `model-${i}:latest`, details: pad(480) })) });
    const bodies = {
      show: '{"model":"tinyllama"}', delete: '{"model":"nope"}', pull: '{"model":"tinyllama","stream":false}',
      showAnswer: JSON.stringify({ modelfile: pad(3000) }), deleteAnswer: JSON.stringify({ error: "model 'nope' not found" }),
      pullAnswer: JSON.stringify({ status: 'success' }),
    };
    expect(chatChunks.reduce((a, b) => a + b, 0)).toBe(51_864); // fixtures/README.md
    expect(tags.length).toBe(20_802);

    expect(tsharkHttpRequests(file).map((h) => `${h.method} ${h.uri} ${h.status}`)).toEqual([
      'POST /api/chat 200', 'GET /api/tags 200', 'POST /api/show 200', 'DELETE /api/delete 404', 'POST /api/pull 200',
    ]);
    const rows = tsharkFields(file, ['http.request.method', 'http.response.code', 'http.content_length', 'http.chunk_size'], 'http',
      ['-o', 'tcp.desegment_tcp_streams:TRUE']);
    const messages = rows.map((r) => ({
      what: r['http.request.method'][0] ?? r['http.response.code'][0],
      length: r['http.content_length'][0] === undefined ? null : Number(r['http.content_length'][0]),
      chunks: r['http.chunk_size'].map(Number),
    }));
    expect(messages).toEqual([
      { what: 'POST', length: chatRequest.length, chunks: [] },
      { what: '200', length: null, chunks: [...chatChunks, 0] },
      { what: 'GET', length: null, chunks: [] },
      { what: '200', length: tags.length, chunks: [] },
      { what: 'POST', length: bodies.show.length, chunks: [] },
      { what: '200', length: bodies.showAnswer.length, chunks: [] },
      { what: 'DELETE', length: bodies.delete.length, chunks: [] },
      { what: '404', length: bodies.deleteAnswer.length, chunks: [] },
      { what: 'POST', length: bodies.pull.length, chunks: [] },
      { what: '200', length: bodies.pullAnswer.length, chunks: [] },
    ]);
    // curl reused one connection for all five (the script checks it).
    expect(tsharkConversations(file).map((c) => `${c.proto} ${c.initiatorAddr} > ${c.responderAddr}:${c.responderPort} syn=${c.initiatorBySyn}`))
      .toEqual(['tcp 127.0.0.1 > 127.0.0.1:11434 syn=true']);
    expect(tsharkFields(file, ['frame.number'])).toHaveLength(248);
  });

  it('dns-fragments.pcap: 200 A and 120 AAAA answers in fragmented datagrams, as fragments.sh and dns.mjs make them', () => {
    const file = fixture('dns-fragments.pcap');
    const dns = tsharkDnsAnswers(file);
    const many = (qtype: number) => dns.find((d) => d.query === 'many.example.net' && d.qtype === qtype);
    // 203.0.113.1-200 and 2001:db8:2::1000-1077 (fixtures/README.md).
    expect(many(1)?.answers.map((a) => a.data).sort()).toEqual(Array.from({ length: 200 }, (_, i) => `203.0.113.${i + 1}`).sort());
    expect(many(28)?.answers.map((a) => a.data).sort()).toEqual(Array.from({ length: 120 }, (_, i) => `2001:db8:2::${(0x1000 + i).toString(16)}`).sort());
    expect(many(1)?.answers.every((a) => a.name === 'many.example.net' && a.type === 1)).toBe(true);
    expect(many(28)?.answers.every((a) => a.name === 'many.example.net' && a.type === 28)).toBe(true);
    expect(dns.find((d) => d.query === 'example.org')?.answers.map((a) => a.data)).toEqual(['203.0.113.80']);
    expect(dns).toHaveLength(3);

    // A 6,442-byte UDP datagram in five IPv4 fragments and a 5,322-byte one in four IPv6 fragments; dig's source ports 40061-40063.
    const answers = tsharkFields(file, ['udp.dstport', 'udp.length', 'ip.fragment.count', 'ipv6.fragment.count'], 'dns.flags.response == 1')
      .map((r) => `${r['udp.dstport'][0]} ${r['udp.length'][0]} ${r['ip.fragment.count'][0] ?? r['ipv6.fragment.count'][0] ?? 1}`);
    expect(answers).toEqual(['40061 6442 5', '40062 5322 4', '40063 64 1']);
    const convs = tsharkConversations(file).map((c) => `${c.proto} ${c.initiatorPort}>${c.responderAddr}:${c.responderPort} ${c.packetsOut}/${c.packetsIn}`);
    expect(convs.sort()).toEqual(['udp 40061>203.0.113.53:53 1/5', 'udp 40062>2001:db8:2::53:53 1/4', 'udp 40063>203.0.113.53:53 1/1']);
    expect(tsharkFields(file, ['frame.number'])).toHaveLength(28);
  });
});
