/**
 * `export --format ecs` (issue #12): every field of every document is an ECS field with a value of
 * a compatible type (and one of its allowed values, where ECS lists them), checked against ECS's
 * own field list (fixtures/ecs/ecs-fields.tsv, generated from the official ecs_flat.yml), or lies
 * under the one custom namespace `ollama_audit`. Values are checked against tshark's reading of the
 * same captures, and strings an attacker chose come back exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkConversations, tsharkSni } from '../helpers/tshark.js';
import { runCli } from '../helpers/run-cli.js';
import { CUSTOM, ECS, leaves, problem, type Doc } from './ecs-check.js';
import { CONN_STATES, exported, factsOf, flowsJson, HOSTILE, KEEPALIVE, PULL, storeWith, tempDir } from './helpers.js';

const tmp = tempDir('oaex-ecs-');
afterAll(tmp.remove);

describe('the checker itself', () => {
  it('refuses a name ECS does not have, a wrong type, a scalar for an array field and a value outside the allowed ones', () => {
    expect(problem('network.communityid', 'x')).toMatch(/not an ECS field/);
    expect(problem('source.port', '443')).toMatch(/not an ECS long/);
    expect(problem('source.ip', 'registry.ollama.ai')).toMatch(/not an ECS ip/);
    expect(problem('event.start', '2026-11-30 12:00')).toMatch(/not an ECS date/);
    expect(problem('event.category', 'network')).toMatch(/array/);
    expect(problem('event.kind', 'flow')).toMatch(/not one of/);
    expect(problem('ollama_audit.anything', { any: 1 })).toBeNull();
    expect(problem('network.community_id', '1:abc=')).toBeNull();
  });
});

describeNeeding(['tshark'], 'export --format ecs', () => {
  let db: string;
  let docs: Doc[];
  let flows: Doc[];

  beforeAll(async () => {
    db = await storeWith(tmp.dir, PULL, CONN_STATES, KEEPALIVE, HOSTILE);
    docs = (await exported(db, '--format', 'ecs')).trim().split('\n').map((l) => JSON.parse(l) as Doc);
    flows = docs.filter((d) => (d.event as Doc).dataset === 'ollama_audit.flow');
  });

  it('every field of every document is an ECS field of a compatible type, or under ollama_audit.*', () => {
    const problems = new Set(docs.flatMap((d) => leaves(d).map(([n, v]) => problem(n, v)).filter((p) => p !== null)));
    expect([...problems]).toEqual([]);
    // The checker saw what the issue asks for, not an empty document.
    const names = new Set(docs.flatMap((d) => leaves(d).map(([n]) => n)));
    for (const n of ['@timestamp', 'source.ip', 'source.port', 'destination.ip', 'destination.domain', 'network.community_id', 'network.transport',
      'network.bytes', 'network.packets', 'process.pid', 'process.name', 'process.executable', 'event.kind', 'event.category', 'event.type',
      'event.start', 'event.end', 'event.duration', 'rule.id', 'url.original', 'url.domain', 'url.port', 'tls.client.server_name', 'ollama_audit.activity', 'ollama_audit.ollama', 'ollama_audit.reason',
      'ollama_audit.hostname_source', 'ollama_audit.coverage.session_kind', 'ollama_audit.claim.verdict']) {
      expect(names, n).toContain(n);
    }
    const custom = [...names].filter((n) => !ECS.has(n));
    expect(custom.every((n) => n.startsWith(CUSTOM)), custom.join(' ')).toBe(true);
  });

  it('one document per stored flow (ids unique), and one per claim with the claims engine\'s verdict', async () => {
    expect(flows.length).toBe((await flowsJson(db)).length);
    expect(new Set(flows.map((d) => (d.event as Doc).id)).size).toBe(flows.length);
    const claims = JSON.parse((await runCli('claims', '--db', db, '--json')).stdout) as { claims: { id: string; verdict: string }[] };
    const verdicts = docs.filter((d) => (d.event as Doc).dataset === 'ollama_audit.verdict')
      .map((d) => ({ id: (d.rule as Doc).id, verdict: ((d.ollama_audit as Doc).claim as Doc).verdict }));
    expect(verdicts).toEqual(claims.claims.map((c) => ({ id: c.id, verdict: c.verdict })));
    expect(docs.filter((d) => (d.event as Doc).kind === 'alert').map((d) => (d.rule as Doc).id))
      .toEqual(claims.claims.filter((c) => c.verdict === 'violated').map((c) => c.id));
  });

  it('endpoints, packets, bytes, start, end and duration (ns) are tshark\'s for each TCP/UDP conversation', () => {
    const session = 2; // conn-states.pcap
    const convs = tsharkConversations(CONN_STATES);
    const mine = flows.filter((d) => (d.ollama_audit as Doc).session_id === session && ['tcp', 'udp'].includes((d.network as Doc).transport as string));
    const key = (a: unknown, ap: unknown, b: unknown, bp: unknown) => `${a as string}:${ap as number}>${b as string}:${bp as number}`;
    const byEnds = new Map(mine.map((d) => [key((d.source as Doc).ip, (d.source as Doc).port, (d.destination as Doc).ip, (d.destination as Doc).port), d]));
    expect(mine.length).toBe(convs.length);
    for (const c of convs) {
      const d = byEnds.get(key(c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort));
      expect(d, key(c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort)).toBeDefined();
      const src = d!.source as Doc; const dst = d!.destination as Doc; const ev = d!.event as Doc; const net = d!.network as Doc;
      expect([src.packets, src.bytes, dst.packets, dst.bytes]).toEqual([c.packetsOut, c.bytesOut, c.packetsIn, c.bytesIn]);
      expect([net.packets, net.bytes]).toEqual([c.packetsOut + c.packetsIn, c.bytesOut + c.bytesIn]);
      expect(isoToMicros(ev.start as string)).toBe(c.firstSeen);
      expect(isoToMicros(ev.end as string)).toBe(c.lastSeen);
      expect(ev.duration).toBe((c.lastSeen - c.firstSeen) * 1000);
    }
  });

  it('destination.domain and tls.client.server_name are the SNI tshark reads from each ClientHello', () => {
    const session = 1; // the pull
    for (const sni of tsharkSni(PULL)) {
      const d = flows.find((x) => (x.ollama_audit as Doc).session_id === session && (x.source as Doc).port === sni.clientPort
        && (x.destination as Doc).port === sni.serverPort && (x.source as Doc).ip === sni.clientAddr);
      expect(d, `${sni.clientAddr}:${sni.clientPort}`).toBeDefined();
      expect(((d!.tls as Doc).client as Doc).server_name).toBe(sni.sni);
      expect((d!.destination as Doc).domain).toBe(sni.sni);
      expect((d!.network as Doc).protocol).toBe('tls');
    }
  });

  it('strings an attacker chose come back exactly (valid JSON, nothing cut or replaced; host names as the store keeps them, lower case)', async () => {
    const facts = factsOf<{ http_path: string; http_host: string; exe: string; connect_host: string }>(HOSTILE);
    const hostile = flows.filter((d) => (d.ollama_audit as Doc).session_id === 4);
    expect(hostile.some((d) => (d.url as Doc | undefined)?.original === facts.http_path)).toBe(true);
    expect(hostile.some((d) => (d.process as Doc | undefined)?.executable === facts.exe)).toBe(true);
    expect(hostile.some((d) => ((d.ollama_audit as Doc).connect as Doc | undefined)?.host === facts.connect_host.toLowerCase())).toBe(true);
    // Every string is the store's own value to the last character (flows --json, the documented interface).
    const stored = new Map((await flowsJson(db)).map((f) => [f.id, f]));
    for (const d of hostile) {
      const f = stored.get((d.ollama_audit as Doc).flow_id as number)!;
      const url = d.url as Doc | undefined;
      const hostPort = url?.port === undefined ? url?.domain : `${url.domain as string}:${url.port as number}`;
      expect([hostPort ?? null, url?.original ?? null, (d.destination as Doc).domain ?? null,
        (d.process as Doc | undefined)?.name ?? null, ((d.ollama_audit as Doc).dns_name as string | undefined) ?? null])
        .toEqual([f.http_host, f.http_path, f.hostname, f.process?.name ?? null, f.dns_name]);
    }
    expect(hostile.filter((d) => (d.url as Doc | undefined)?.domain !== undefined).length).toBeGreaterThan(0);
  });
});

/** ISO 8601 with µs ("2026-11-23T07:41:13.842633Z") -> µs since the epoch. */
function isoToMicros(iso: string): number {
  const m = /^(.{19})\.(\d{6})Z$/.exec(iso);
  if (!m) throw new Error(`not an ISO time with µs: ${iso}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]);
}
