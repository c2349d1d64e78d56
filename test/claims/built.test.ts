/**
 * Cases the fixtures lack, in captures built here: a `:cloud` generate proxied to ollama.com, a
 * two-minute capture with and without a long-lived off-host connection, at_most windows, and
 * user claims files.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/store/open-db.js';
import { claimsReport, type ClaimsReport } from '../../src/claims/evaluate.js';
import { readClaimsFile } from '../../src/claims/claim-schema.js';
import { parseAllowRule } from '../../src/claims/allow-rules.js';
import { BUILTIN_CLAIMS } from '../../src/knowledge/claims.js';
import {
  CURL_COMMENT, dnsQuery, HOST, HTTP_OK, httpRequest, OLLAMA_COMMENT, storeWith, tcpExchange, tmp, udpExchange, writeFrames, type Frame,
} from './helpers.js';

// A time in the past: a capture stamped more than a day past the import is skipped (bad-timestamp).
const T0 = 1_700_000_000_000_000;
const LO = 1;

async function judged(frames: Frame[], opts: Parameters<typeof claimsReport>[1] = {}): Promise<ClaimsReport> {
  const { dbPath } = await storeWith(writeFrames(frames));
  const db = openDb(dbPath, { readonly: true });
  try {
    return claimsReport(db, opts);
  } finally {
    db.close();
  }
}
const claim = (r: ClaimsReport, id: string) => r.claims.find((c) => c.id === id)!;

/** curl -> ollama on loopback: POST /api/generate lasting 300 ms (its body naming `model`, when given). */
function generateRequest(t0: number, model?: string): Frame[] {
  const body = model === undefined ? '' : JSON.stringify({ model, prompt: 'why is the sky blue?' });
  return tcpExchange({ client: '127.0.0.1', server: '127.0.0.1', sport: 50000, dport: 11434, t0, request: httpRequest('POST', '/api/generate', '127.0.0.1:11434', body),
    response: HTTP_OK, responseAfterUs: 300_000, comment: CURL_COMMENT, iface: LO });
}

describe('a :cloud model: /api/generate proxied to ollama.com', () => {
  // ollama (by its comment) opens a connection named ollama.com 50 ms into the request.
  const frames = [
    ...generateRequest(T0),
    ...tcpExchange({ client: HOST, server: '203.0.113.30', sport: 41000, dport: 443, t0: T0 + 50_000,
      request: httpRequest('POST', '/api/generate', 'ollama.com'), response: HTTP_OK, comment: OLLAMA_COMMENT }),
  ];

  it('chains the request to the ollama.com flow; the local-model claim is inconclusive, the pull-only one violated', async () => {
    const r = await judged(frames);
    const chain = r.chains.find((c) => c.request.path === '/api/generate')!;
    expect(chain.link).toBe('process');
    expect(chain.caused.map((f) => [f.activity, f.hostname, f.far_addr])).toEqual([['ollama-com', 'ollama.com', '203.0.113.30']]);
    const local = claim(r, 'inference-local-no-network');
    expect(local.verdict).toBe('inconclusive');
    expect(local.reason).toContain('cloud');
    expect(local.evidence.chains.map((c) => c.request.path)).toEqual(['/api/generate']);
    expect(claim(r, 'server-offline-unless-pull-push').verdict).toBe('violated');
    expect(claim(r, 'airgap-ollama-silent').verdict).toBe('violated');
  });

  it('a request naming the cloud model: the chain says so, and the local-model claims are not exercised by it', async () => {
    const cloudFrames = [...generateRequest(T0, 'gpt-oss:120b-cloud'), ...frames.slice(generateRequest(T0).length)];
    const r = await judged(cloudFrames);
    const chain = r.chains.find((c) => c.request.path === '/api/generate')!;
    expect(chain.request).toMatchObject({ model: 'gpt-oss:120b-cloud', cloud_model: true });
    expect(chain.caused.map((f) => f.hostname)).toEqual(['ollama.com']);
    for (const id of ['inference-local-no-network', 'wild-statistics-at-model-start']) {
      expect(claim(r, id).verdict, id).toBe('not exercised');
      expect(claim(r, id).reason).toContain('request for a local model');
    }
    // Cloud use is still off-host traffic outside a pull or push.
    expect(claim(r, 'server-offline-unless-pull-push').verdict).toBe('violated');
  });

  it('a request naming a local model that is followed by a flow to ollama.com breaks the local-model claim', async () => {
    const localFrames = [...generateRequest(T0, 'llama3.2:3b'), ...frames.slice(generateRequest(T0).length)];
    const r = await judged(localFrames);
    expect(r.chains.find((c) => c.request.path === '/api/generate')!.request).toMatchObject({ model: 'llama3.2:3b', cloud_model: false });
    const local = claim(r, 'inference-local-no-network');
    expect(local.verdict).toBe('violated');
    expect(local.evidence.flows.map((f) => f.hostname)).toEqual(['ollama.com']);
  });

  it('the same call to another host is a violation of the local-model claim', async () => {
    const elsewhere = [
      ...generateRequest(T0),
      ...tcpExchange({ client: HOST, server: '203.0.113.99', sport: 41000, dport: 80, t0: T0 + 50_000,
        request: httpRequest('POST', '/collect', 'stats.example.net'), response: HTTP_OK, comment: OLLAMA_COMMENT }),
    ];
    const r = await judged(elsewhere);
    expect(claim(r, 'inference-local-no-network').verdict).toBe('violated');
    expect(claim(r, 'wild-statistics-at-model-start').verdict).toBe('violated');
    expect(claim(r, 'inference-local-no-network').evidence.flows[0]).toMatchObject({ hostname: 'stats.example.net', far_port: 80, process: { name: 'ollama' } });
  });
});

describe('a two-minute capture', () => {
  // Unrelated DNS (curl) at the start and at 125 s make the capture span two minutes.
  const span = [
    ...udpExchange({ client: HOST, server: '203.0.113.53', sport: 40001, dport: 53, t0: T0, payload: dnsQuery('example.org'), comment: CURL_COMMENT }),
    ...udpExchange({ client: HOST, server: '203.0.113.53', sport: 40002, dport: 53, t0: T0 + 125_000_000, payload: dnsQuery('example.org', 7), comment: CURL_COMMENT }),
  ];
  const apiUse = generateRequest(T0 + 1_000_000);
  const ollamaLoopback = tcpExchange({ client: '127.0.0.1', server: '127.0.0.1', sport: 50010, dport: 41107, t0: T0 + 1_010_000,
    request: httpRequest('POST', '/completion', '127.0.0.1:41107'), response: HTTP_OK, comment: OLLAMA_COMMENT, iface: LO });

  it('with Ollama only on loopback, no minutely ping: holds', async () => {
    const r = await judged([...span, ...apiUse, ...ollamaLoopback]);
    expect(r.coverage.sessions[0].duration_s!).toBeGreaterThan(120);
    expect(claim(r, 'wild-websocket-ping').verdict).toBe('holds');
    expect(claim(r, 'airgap-ollama-silent').verdict).toBe('holds');
  });

  it('an ollama connection to ollama.com held open for 100 s: violated', async () => {
    const longLived = tcpExchange({ client: HOST, server: '203.0.113.30', sport: 41001, dport: 443, t0: T0 + 10_000_000,
      request: httpRequest('GET', '/ws', 'ollama.com'), response: HTTP_OK, durationUs: 100_000_000, comment: OLLAMA_COMMENT });
    const r = await judged([...span, ...apiUse, ...ollamaLoopback, ...longLived]);
    const ws = claim(r, 'wild-websocket-ping');
    expect(ws.verdict).toBe('violated');
    expect(ws.evidence.flows.map((f) => f.hostname)).toEqual(['ollama.com']);
  });

  it('at_most: a user claim allowing one lookup per 60 s', async () => {
    const rule = {
      id: 'dns-rate', title: 'At most one DNS query a minute', scope: 'host', match: { port: [53] }, expect: { at_most: 1 }, window: { seconds: 60 },
    };
    const file = join(tmp('rate'), 'rate.json');
    writeFileSync(file, JSON.stringify([rule]));
    const claims = readClaimsFile(file);
    // 125 s apart: never two in one minute
    expect(claim(await judged(span, { claims }), 'dns-rate').verdict).toBe('holds');
    const burst = [...span, ...udpExchange({ client: HOST, server: '203.0.113.53', sport: 40003, dport: 53, t0: T0 + 30_000_000, payload: dnsQuery('example.org', 9), comment: CURL_COMMENT })];
    const r = await judged(burst, { claims });
    expect(claim(r, 'dns-rate').verdict).toBe('violated');
    expect(claim(r, 'dns-rate').evidence.count).toBe(2);
  });
});

describe('claims files', () => {
  const write = (name: string, text: string) => {
    const p = join(tmp('schema'), name);
    writeFileSync(p, text);
    return p;
  };

  it('reads YAML and JSON in the catalogue\'s shape', () => {
    const y = readClaimsFile(write('c.yaml', `claims:
  - id: lan-only
    title: Ollama talks only to the LAN
    scope: ollama
    match: { direction: outbound, not: { address: [10.0.0.0/8, "fd00::/8"] } }
    expect: never
  - id: pull-window
    title: Registry only during pulls
    scope: any
    match: { activity: [registry] }
    expect: { only_during: ["api:/api/pull"] }
`));
    expect(y.map((c) => c.id)).toEqual(['lan-only', 'pull-window']);
    expect(y[0]).toMatchObject({ scope: 'ollama', supported: true, source: '[user] claims file', match: { not: { address: ['10.0.0.0/8', 'fd00::/8'] } } });
    const j = readClaimsFile(write('c.json', JSON.stringify([{ id: 'p', title: 't', scope: 'host', match: { port: 8000 }, expect: 'never' }])));
    expect(j[0].match.port).toEqual([8000]);
  });

  it('one-line errors name the file, the claim and the field', () => {
    const bad = (text: string, name = 'bad.yaml') => {
      const p = write(name, text);
      try {
        readClaimsFile(p);
      } catch (err) {
        const msg = (err as Error).message;
        expect(msg).not.toContain('\n');
        expect(msg.startsWith(p)).toBe(true);
        return msg.slice(p.length);
      }
      throw new Error('accepted');
    };
    expect(bad('- {id: x, title: t, scope: planet, expect: never}')).toBe(': claim "x": field "scope": expected one of ollama, any, host');
    expect(bad('- {id: x, title: t, scope: host, expect: sometimes}')).toMatch(/claim "x": field "expect"/);
    expect(bad('- {id: x, title: t, scope: host, expect: never, match: {address: [10.0.0.0/33]}}')).toMatch(/claim "x": field "match.address": "10.0.0.0\/33"/);
    expect(bad('- {id: x, title: t, scope: host, expect: never, match: {not: {port: [70000]}}}')).toMatch(/field "match.not.port"/);
    expect(bad('- {id: x, title: t, scope: host, expect: {at_most: 2}}')).toMatch(/field "window.seconds": required/);
    expect(bad('- {title: t, scope: host, expect: never}')).toMatch(/claim #1: field "id"/);
    expect(bad('- {id: api-loopback-only, title: t, scope: host, expect: never}')).toMatch(/already used/);
    expect(bad('- {id: x, title: t, scope: host, expect: never, colour: red}')).toMatch(/field "colour": unknown/);
    expect(bad('{"claims": [', 'broken.json')).toMatch(/not valid JSON/);
    expect(bad('just text')).toMatch(/expected a list of claims/);
  });
});

describe('catalogue and allow rules', () => {
  it('every built-in claim has a stable id, a citation and a shape the schema accepts', () => {
    const ids = BUILTIN_CLAIMS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of BUILTIN_CLAIMS) {
      expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(c.source).toMatch(/\[(src|issue|claim|inferred)\]/);
      if (!c.supported && c.id.startsWith('wild-')) {
        expect(c.claimed).toBeTruthy();
        expect(c.source).toContain('[claim]');
      }
    }
    expect(BUILTIN_CLAIMS.filter((c) => c.id.startsWith('wild-')).length).toBe(4);
  });

  it('parses the allow grammar and rejects the rest', () => {
    expect(parseAllowRule('api:lan')).toMatchObject({ kind: 'api', from: 'lan' });
    expect(parseAllowRule('host:10.0.0.0/8')).toMatchObject({ kind: 'cidr' });
    expect(parseAllowRule('host:2001:db8::/32')).toMatchObject({ kind: 'cidr' });
    expect(parseAllowRule('host:*.example.com')).toMatchObject({ kind: 'host', pattern: '*.example.com' });
    expect(parseAllowRule('activity:registry')).toMatchObject({ kind: 'activity', activity: 'registry' });
    expect(parseAllowRule('port:53')).toMatchObject({ kind: 'port', from: 53, to: 53, proto: null });
    expect(parseAllowRule('port:8000-8099/tcp')).toMatchObject({ kind: 'port', from: 8000, to: 8099, proto: 6 });
    for (const bad of ['api:wan', 'host:', 'port:99999', 'port:9-1', 'colour:red', 'registry', 'host:bad name']) {
      expect(() => parseAllowRule(bad), bad).toThrow(/^--allow /);
    }
  });
});
