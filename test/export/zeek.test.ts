/**
 * `export --format zeek` (issue #12): Zeek's conn.log, read back by an independent reader of Zeek's
 * ASCII format (zeek-reader.py: Python's csv module with Zeek's rules) and compared with tshark's
 * view of the same captures: conversation endpoints, packets, IP bytes, payload bytes, first packet
 * and duration, Community ID; connection states against the conn-states scenario's own facts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeekString } from '../../src/export/zeek.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkConversations, tsharkFields, type Conversation } from '../helpers/tshark.js';
import { CONN_STATES, exported, factsOf, HOSTILE, KEEPALIVE, storeWith, tempDir } from './helpers.js';

const READER = join(import.meta.dirname, 'zeek-reader.py');

/** Zeek's Conn::Info columns in log order with their types (docs.zeek.org, base/protocols/conn/main.zeek), plus community_id (policy/protocols/conn/community-id-logging.zeek). */
const CONN_LOG: [string, string][] = [
  ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
  ['proto', 'enum'], ['service', 'string'], ['duration', 'interval'], ['orig_bytes', 'count'], ['resp_bytes', 'count'],
  ['conn_state', 'string'], ['local_orig', 'bool'], ['local_resp', 'bool'], ['missed_bytes', 'count'], ['history', 'string'],
  ['orig_pkts', 'count'], ['orig_ip_bytes', 'count'], ['resp_pkts', 'count'], ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'], ['community_id', 'string'],
];

type Row = Record<string, string | number | boolean | string[] | null>;
interface Log { meta: Record<string, string> & { order: string[] }; rows: Row[] }

function readZeek(text: string): Log {
  return JSON.parse(execFileSync('python3', [READER], { input: text, encoding: 'utf8' })) as Log;
}

const endsOf = (a: unknown, ap: unknown, b: unknown, bp: unknown) => `${String(a)}:${String(ap)}>${String(b)}:${String(bp)}`;

/** Per tshark conversation ("tcp:3"): payload bytes each way (tcp.len; UDP length - 8) and tshark's Community ID, in one tshark pass. */
function tsharkPayloadAndIds(file: string, convs: Conversation[]): Map<string, { out: number; in: number; communityId: string }> {
  const rows = tsharkFields(file, ['ip.src', 'ipv6.src', 'tcp.stream', 'tcp.srcport', 'tcp.len', 'udp.stream', 'udp.srcport', 'udp.length', 'communityid'],
    '(tcp || udp) && !icmp && !icmpv6', ['--enable-protocol', 'communityid']);
  const byKey = new Map(convs.map((c) => [`${c.proto}:${c.stream}`, c]));
  const out = new Map<string, { out: number; in: number; communityId: string }>();
  for (const r of rows) {
    const proto = r['tcp.stream'].length ? 'tcp' : 'udp';
    const key = `${proto}:${r[`${proto}.stream`][0]}`;
    const c = byKey.get(key);
    if (!c) continue;
    const src = r['ip.src'][0] ?? r['ipv6.src'][0];
    const port = Number(r[`${proto}.srcport`][0]);
    const payload = proto === 'tcp' ? Number(r['tcp.len'][0] ?? 0) : Number(r['udp.length'][0] ?? 8) - 8;
    const t = out.get(key) ?? { out: 0, in: 0, communityId: r.communityid[0] };
    if (src === c.initiatorAddr && port === c.initiatorPort) t.out += payload; else t.in += payload;
    out.set(key, t);
  }
  return out;
}

const tmp = tempDir('oaex-zeek-');
afterAll(tmp.remove);

describeNeeding(['tshark', 'python3'], 'export --format zeek', () => {
  let log: Log;
  let text: string;

  beforeAll(async () => {
    const db = await storeWith(tmp.dir, CONN_STATES, KEEPALIVE);
    text = await exported(db, '--format', 'zeek', '--session', '1');
    log = readZeek(text);
  });

  it('has Zeek\'s header lines, in Zeek\'s order, with conn.log\'s field names, order and types', () => {
    expect(log.meta.order).toEqual(['separator', 'set_separator', 'empty_field', 'unset_field', 'path', 'open', 'fields', 'types', 'close']);
    expect([log.meta.separator, log.meta.set_separator, log.meta.empty_field, log.meta.unset_field, log.meta.path])
      .toEqual(['\t', ',', '(empty)', '-', 'conn']);
    expect(log.meta.open).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
    expect(log.meta.close).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
    expect(log.meta.fields.split('\t')).toEqual(CONN_LOG.map((f) => f[0]));
    expect(log.meta.types.split('\t')).toEqual(CONN_LOG.map((f) => f[1]));
    expect(text.endsWith('\n')).toBe(true);
  });

  it('one row per TCP/UDP conversation tshark sees, with its endpoints, packets, IP and payload bytes, start, duration and Community ID', () => {
    const convs = tsharkConversations(CONN_STATES);
    const rows = log.rows.filter((r) => r.proto === 'tcp' || r.proto === 'udp');
    expect(rows.length).toBe(convs.length);
    const tshark = tsharkPayloadAndIds(CONN_STATES, convs);
    const byEnds = new Map(rows.map((r) => [endsOf(r['id.orig_h'], r['id.orig_p'], r['id.resp_h'], r['id.resp_p']), r]));
    for (const c of convs) {
      const r = byEnds.get(endsOf(c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort))!;
      expect(r, endsOf(c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort)).toBeDefined();
      const t = tshark.get(`${c.proto}:${c.stream}`)!;
      expect(r.proto).toBe(c.proto);
      expect([r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes]).toEqual([c.packetsOut, c.bytesOut, c.packetsIn, c.bytesIn]);
      expect(Math.round((r.ts as number) * 1e6)).toBe(c.firstSeen);
      // As Zeek: a connection that lasted no time (one packet) has no duration and no byte counts.
      if (c.lastSeen === c.firstSeen) expect([r.duration, r.orig_bytes, r.resp_bytes]).toEqual([null, null, null]);
      else {
        expect(Math.round((r.duration as number) * 1e6)).toBe(c.lastSeen - c.firstSeen);
        expect([r.orig_bytes, r.resp_bytes]).toEqual([t.out, t.in]);
      }
      expect(r.community_id).toBe(t.communityId);
      expect([r.local_orig, r.local_resp, r.tunnel_parents]).toEqual([null, null, null]);
    }
  });

  it('connection states are the scenario\'s (make/conn-states.sh): SF, RSTO, RSTR, 2 REJ and 3 S0 over TCP; one unanswered UDP query', () => {
    const count = (proto: string, svc?: string) => {
      const n: Record<string, number> = {};
      for (const r of log.rows.filter((x) => x.proto === proto && (svc === undefined || x.service === svc))) n[r.conn_state as string] = (n[r.conn_state as string] ?? 0) + 1;
      return n;
    };
    expect(count('tcp')).toEqual({ SF: 1, RSTO: 1, RSTR: 1, REJ: 2, S0: 3 });
    expect(count('udp').S0).toBe(1);
    expect(log.rows.filter((r) => r.proto === 'tcp' && r.conn_state === 'SF').map((r) => r.service)).toEqual(['http']);
    expect(log.rows.filter((r) => r.proto === 'tcp' && r.conn_state === 'RSTO').map((r) => r.service)).toEqual(['ssl']);
    expect(log.rows.filter((r) => r.proto === 'icmp').length).toBeGreaterThan(0);
  });

  it('uids look like Zeek\'s and are unique', () => {
    const uids = log.rows.map((r) => r.uid as string);
    expect(uids.every((u) => /^C[0-9A-Za-z]{17}$/.test(u))).toBe(true);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('strings from outside are escaped as Zeek escapes them: printable ASCII only, and the reader gets every byte back', () => {
    const facts = Object.values(factsOf<Record<string, string>>(HOSTILE));
    const samples = [...facts, 'tab\there', 'back\\slash', '-', '(empty)', 'naïve ✓'];
    const escaped = samples.map(zeekString);
    for (const e of escaped) expect(e).toMatch(/^[\x20-\x7e]+$/);
    expect(escaped.slice(-5, -1)).toEqual(['tab\\x09here', 'back\\x5cslash', '\\x2d', '\\x28empty)']); // as Zeek writes them
    const back = JSON.parse(execFileSync('python3', [READER, 'unescape'], { input: JSON.stringify(escaped), encoding: 'utf8' })) as string[];
    expect(back).toEqual(samples);
  });
});

describe('zeek strings', () => {
  it('unset and empty are Zeek\'s markers', () => {
    expect([zeekString(null), zeekString('')]).toEqual(['-', '(empty)']);
  });
});
