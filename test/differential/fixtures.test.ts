// Differential test: our analysis of every committed fixture against tshark's reading of the same file.
// Needs tshark (test/helpers/needs.ts: skipped with the reason outside CI, a failure under CI=true).
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeCaptureFile } from '../../src/pipeline/analyze.js';
import { addrToString } from '../../src/decode/addr.js';
import type { Flow } from '../../src/flows/flow.js';
import { tsharkConnect, tsharkConversations, tsharkDnsAnswers, tsharkHttpRequests, tsharkSni } from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';
import { singleCopyFixtures } from './fixture-files.js';
import { endpoints, fromTshark, oracle, sorted, undirected } from './scenario.js';

const PROTO = { 6: 'tcp', 17: 'udp' } as const;
const RR_TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, HTTPS: 65 };
const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

const rrType = (t: string | number): number => (typeof t === 'number' ? t : RR_TYPES[t.toUpperCase()] ?? Number(t));
const rcode = (r: string | number): number => (typeof r === 'number' ? r : RCODES[r.toUpperCase()] ?? Number(r));
const dnsName = (n: string): string => n.toLowerCase().replace(/\.$/, '');

const fromFlow = (f: Flow): string =>
  undirected(PROTO[f.proto as 6 | 17], addrToString(f.initiatorAddr), f.initiatorPort, addrToString(f.responderAddr), f.responderPort,
    f.packetsOut, f.bytesOut, f.packetsIn, f.bytesIn);

const flowEnds = (f: Flow): string => endpoints(addrToString(f.initiatorAddr), f.initiatorPort, addrToString(f.responderAddr), f.responderPort);

// Every test here blocks on tshark (execFileSync). Without a turn of the event loop between tests,
// a worker busy for over a minute on a loaded machine misses vitest's own RPC deadline ("Timeout
// calling onTaskUpdate") although every test passed.
afterEach(() => new Promise<void>((resolve) => setTimeout(resolve, 1)));

describeNeeding(['tshark'], 'differential vs tshark', () => {
  describe.each(singleCopyFixtures())('%s', (file) => {
    const ours = () => analyzeCaptureFile(file);

    it('has the same TCP/UDP conversations, packets and IP bytes each way', () => {
      const r = ours();
      const mine = r.flows.filter((f) => f.proto === 6 || f.proto === 17);
      expect(sorted(mine.map(fromFlow))).toEqual(sorted(oracle(file, 'conversations', tsharkConversations(file)).map(fromTshark)));
    });

    it('puts the initiator where the SYN came from, and first/last packet times', () => {
      const r = ours();
      const byEnds = new Map(r.flows.map((f) => [flowEnds(f), f]));
      for (const c of oracle(file, 'syn', tsharkConversations(file).filter((c) => c.initiatorBySyn))) {
        const f = byEnds.get(endpoints(c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort));
        expect(f, `flow ${c.initiatorAddr}:${c.initiatorPort} > ${c.responderAddr}:${c.responderPort}`).toBeDefined();
        expect(f?.initiatorBy).toBe('syn');
        // tshark prints ns for nanosecond files; we keep µs: allow the rounding.
        expect(Math.abs((f?.firstSeen ?? 0) - c.firstSeen)).toBeLessThanOrEqual(1);
        expect(Math.abs((f?.lastSeen ?? 0) - c.lastSeen)).toBeLessThanOrEqual(1);
      }
    });

    it('finds the same TLS SNI per TCP connection', () => {
      const r = ours();
      const mine = r.flows.filter((f) => f.sni !== null).map((f) => `${flowEnds(f)} ${f.sni}`);
      const theirs = oracle(file, 'sni', tsharkSni(file)).map((s) => `${endpoints(s.clientAddr, s.clientPort, s.serverAddr, s.serverPort)} ${s.sni}`);
      expect(sorted(mine)).toEqual(sorted(theirs));
    });

    it('reads the same DNS responses: names, types, rcodes and answers', () => {
      const r = ours();
      const norm = (q: string, qt: string | number, rc: string | number, answers: { name: string; type: string | number; data: unknown }[]) =>
        `${dnsName(q)}/${rrType(qt)} rcode=${rcode(rc)} [${answers.map((a) => `${dnsName(a.name)} ${rrType(a.type)} ${typeof a.data === 'string' ? dnsName(a.data) : ''}`).join(', ')}]`;
      // Ours is one record per transaction (rcode null when unanswered); tshark lists responses.
      const mine = r.dns.flatMap((d) => (d.rcode === null ? [] : [norm(d.query, d.qtype, d.rcode, d.answers)]));
      const theirs = oracle(file, 'dns', tsharkDnsAnswers(file)).map((d) => norm(d.query, d.qtype, d.rcode, d.answers));
      expect(sorted(mine)).toEqual(sorted(theirs));
    });

    it('reads the same HTTP requests (method, target, Host) and response status', () => {
      const r = ours();
      const mine = r.http.map((h) => `${h.method} ${h.path} ${h.host ?? '-'} ${h.status ?? '-'}`);
      const theirs = oracle(file, 'http', tsharkHttpRequests(file)).map((h) => `${h.method} ${h.uri} ${h.host ?? '-'} ${h.status ?? '-'}`);
      expect(sorted(mine)).toEqual(sorted(theirs));
    });

    it('names the same proxy CONNECT targets', () => {
      const r = ours();
      const mine = r.flows.filter((f) => f.connectHost !== null).map((f) => `${flowEnds(f)} ${f.connectHost}:${f.connectPort}`);
      const theirs = oracle(file, 'connect', tsharkConnect(file)).map((c) => `${endpoints(c.clientAddr, c.clientPort, c.proxyAddr, c.proxyPort)} ${c.targetHost}:${c.targetPort}`);
      expect(sorted(mine)).toEqual(sorted(theirs));
      expect(r.http.filter((h) => h.isConnect).length).toBe(theirs.length);
    });
  });
});
