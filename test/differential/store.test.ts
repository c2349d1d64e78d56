// Differential test through the store: each committed fixture is imported by the real CLI into a
// fresh SQLite file, read back with `flows --json`, and compared with tshark's reading of the same
// file: conversations (packets and IP bytes each way, first and last packet), and the names stored
// per flow (SNI, proxy CONNECT target, first HTTP request and its status, DNS name of the far end).
// The in-memory pipeline is compared in fixtures.test.ts; this catches what is lost or changed on
// the way through the writer thread, SQLite and the query.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/store/read/flows.js';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import {
  tsharkConnect, tsharkConversations, tsharkDnsAnswers, tsharkFields, tsharkHttpRequests, tsharkSni, type Conversation,
} from '../helpers/tshark.js';
import { singleCopyFixtures } from './fixture-files.js';
import { endpoints, fromTshark, oracle, sorted, undirected } from './scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'oa-store-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Each test blocks on tshark: let vitest's RPC through between tests (see fixtures.test.ts).
afterEach(() => new Promise<void>((resolve) => setTimeout(resolve, 1)));

const ends = (f: FlowRecord): string => endpoints(f.initiator_addr, f.initiator_port, f.responder_addr, f.responder_port);
const convEnds = (c: Conversation): string => endpoints(c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort);
const fromRecord = (f: FlowRecord): string =>
  undirected(f.proto, f.initiator_addr, f.initiator_port, f.responder_addr, f.responder_port, f.packets_out, f.bytes_out, f.packets_in, f.bytes_in);

/** tshark's Community ID (its communityid dissector, seed 0) of each TCP/UDP conversation, by "proto:stream". */
function tsharkCommunityIds(file: string): Map<string, string> {
  const ids = new Map<string, string>();
  for (const r of tsharkFields(file, ['tcp.stream', 'udp.stream', 'communityid'], '(tcp || udp) && !icmp && !icmpv6', ['--enable-protocol', 'communityid'])) {
    const key = r['tcp.stream'].length > 0 ? `tcp:${r['tcp.stream'][0]}` : `udp:${r['udp.stream'][0]}`;
    if (r.communityid.length > 0 && !ids.has(key)) ids.set(key, r.communityid[0]);
  }
  return ids;
}

/** `flows --json` time ("2026-11-23T07:41:13.842633Z") as µs since the epoch. */
function isoToMicros(iso: string): number {
  const m = /^(.{19})\.(\d{6})Z$/.exec(iso);
  if (!m) throw new Error(`not an ISO time with µs: ${iso}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]);
}

describeNeeding(['tshark'], 'differential vs tshark, through import, SQLite and flows --json', () => {
  describe.each(singleCopyFixtures())('%s', (file) => {
    let flows: FlowRecord[];
    let convs: Conversation[];

    beforeAll(async () => {
      const db = join(mkdtempSync(join(dir, 'db-')), 'audit.db');
      const imp = await runCli('import', file, '--db', db);
      expect(imp.code, imp.stderr).toBe(0);
      const out = await runCli('flows', '--db', db, '--json');
      expect(out.code, out.stderr).toBe(0);
      flows = (JSON.parse(out.stdout) as FlowRecord[]).filter((f) => f.proto === 'tcp' || f.proto === 'udp');
      convs = tsharkConversations(file);
    });

    it('stores the same TCP/UDP conversations, packets and IP bytes each way', () => {
      expect(sorted(flows.map(fromRecord))).toEqual(sorted(oracle(file, 'conversations', convs).map(fromTshark)));
    });

    it('stores the initiator where the SYN came from, and first/last packet times to the µs', () => {
      const byEnds = new Map(flows.map((f) => [ends(f), f]));
      for (const c of oracle(file, 'syn', convs.filter((x) => x.initiatorBySyn))) {
        const f = byEnds.get(convEnds(c));
        expect(f, `flow ${convEnds(c)}`).toBeDefined();
        expect(f!.initiator_by).toBe('syn');
        // tshark prints ns for nanosecond files; the store keeps µs: allow the rounding.
        expect(Math.abs(isoToMicros(f!.first_seen!) - c.firstSeen)).toBeLessThanOrEqual(1);
        expect(Math.abs(isoToMicros(f!.last_seen!) - c.lastSeen)).toBeLessThanOrEqual(1);
      }
    });

    it('stores tshark\'s Community ID for every TCP/UDP conversation (built on the import\'s writer thread)', () => {
      const byEnds = new Map(flows.map((f) => [ends(f), f]));
      const ids = tsharkCommunityIds(file);
      const conversations = oracle(file, 'conversations', convs);
      for (const c of conversations) {
        const f = byEnds.get(convEnds(c));
        expect(f, `flow ${convEnds(c)}`).toBeDefined();
        expect(f!.community_id, convEnds(c)).toBe(ids.get(`${c.proto}:${c.stream}`));
      }
      expect(conversations.length).toBeGreaterThan(0);
    });

    it('stores the same TLS SNI per connection', () => {
      const mine = flows.filter((f) => f.sni !== null).map((f) => `${ends(f)} ${f.sni}`);
      const theirs = oracle(file, 'sni', tsharkSni(file)).map((s) => `${endpoints(s.clientAddr, s.clientPort, s.serverAddr, s.serverPort)} ${s.sni}`);
      expect(sorted(mine)).toEqual(sorted(theirs));
    });

    it('stores the same proxy CONNECT targets', () => {
      const mine = flows.filter((f) => f.connect_host !== null).map((f) => `${ends(f)} ${f.connect_host}:${f.connect_port}`);
      const theirs = oracle(file, 'connect', tsharkConnect(file))
        .map((c) => `${endpoints(c.clientAddr, c.clientPort, c.proxyAddr, c.proxyPort)} ${c.targetHost}:${c.targetPort}`);
      expect(sorted(mine)).toEqual(sorted(theirs));
    });

    it('stores each connection\'s first HTTP request (method, target, Host) and its status', () => {
      const byStream = new Map(convs.filter((c) => c.proto === 'tcp').map((c) => [c.stream, c]));
      const first = new Map<number, string>();
      for (const h of [...oracle(file, 'http', tsharkHttpRequests(file))].sort((a, b) => a.frame - b.frame)) {
        if (!first.has(h.stream)) first.set(h.stream, `${convEnds(byStream.get(h.stream)!)} ${h.method} ${h.uri} ${h.host ?? '-'} ${h.status ?? '-'}`);
      }
      const mine = flows.filter((f) => f.http_method !== null)
        .map((f) => `${ends(f)} ${f.http_method} ${f.http_path} ${f.http_host ?? '-'} ${f.http_status ?? '-'}`);
      expect(sorted(mine)).toEqual(sorted([...first.values()]));
    });

    it('names the far end by DNS only with a name tshark saw resolve to that address', () => {
      // Every name of an answer chain (the query, each CNAME owner) resolves to the chain's addresses.
      const namesOf = new Map<string, Set<string>>();
      for (const d of oracle(file, 'dns', tsharkDnsAnswers(file))) {
        const names = [d.query, ...d.answers.map((a) => a.name)].map((n) => n.toLowerCase().replace(/\.$/, ''));
        for (const a of d.answers.filter((x) => x.type === 1 || x.type === 28)) {
          const set = namesOf.get(a.data) ?? new Set<string>();
          for (const n of names) set.add(n);
          namesOf.set(a.data, set);
        }
      }
      const named = flows.filter((f) => f.dns_name !== null);
      for (const f of named) expect(namesOf.get(f.responder_addr)?.has(f.dns_name!), `${ends(f)} ${f.dns_name}`).toBe(true);
      // Where a connection went to an address DNS answered, some flow carries a name (the check above is not empty).
      if (flows.some((f) => f.proto === 'tcp' && namesOf.has(f.responder_addr))) expect(named.length).toBeGreaterThan(0);
    });
  });
});
