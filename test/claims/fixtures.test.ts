/**
 * Built-in claims against the real pull scenario (fixtures/README.md): ollama starts and fetches
 * model recommendations from ollama.com, curl lists tags, pulls (registry + 307 to the CDN, with
 * DNS for both), generates (runner on loopback only), and unrelated programs use a proxy, DNS,
 * HTTP and ping. Expected verdicts follow from that scenario, not from our output.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../differential/fixture-files.js';
import { openDb } from '../../src/store/open-db.js';
import { claimsReport, type ClaimsReport } from '../../src/claims/evaluate.js';
import { BUILTIN_CLAIMS } from '../../src/knowledge/claims.js';
import { storeWith } from './helpers.js';
import { tsharkFields } from '../helpers/tshark.js';
import { itNeeding } from '../helpers/needs.js';


function report(dbPath: string, opts: Parameters<typeof claimsReport>[1] = {}): ClaimsReport {
  const db = openDb(dbPath, { readonly: true });
  try {
    return claimsReport(db, opts);
  } finally {
    db.close();
  }
}

const verdicts = (r: ClaimsReport) => Object.fromEntries(r.claims.map((c) => [c.id, c.verdict]));
const claim = (r: ClaimsReport, id: string) => r.claims.find((c) => c.id === id)!;

describe('demo capture (pcapng with process comments, veth + lo)', () => {
  let dbPath: string;
  let rep: ClaimsReport;
  beforeAll(async () => {
    dbPath = (await storeWith(fixture('demo/ollama-pull.pcapng'))).dbPath;
    rep = report(dbPath);
  });

  it('gives every built-in claim the verdict the scenario implies', () => {
    expect(verdicts(rep)).toEqual({
      // the model-recommendations fetch at start is not caused by a pull
      'server-offline-unless-pull-push': 'violated',
      // /api/generate on a local model: runner traffic on loopback only
      'inference-local-no-network': 'holds',
      // nothing shows OLLAMA_NO_CLOUD was set (and the ollama.com fetch shows it was not)
      'no-cloud-only-pulls-and-me': 'not exercised',
      'pull-only-registry-cdn': 'holds',
      // ollama pulled direct; only curl used the proxy: no sign HTTPS_PROXY was set for ollama
      'pull-honours-https-proxy': 'not exercised',
      // every API connection is 127.0.0.1 -> 127.0.0.1:11434
      'api-loopback-only': 'holds',
      'airgap-ollama-silent': 'violated',
      'airgap-no-ollama-destination': 'violated',
      'airgap-no-ollama-dns': 'violated',
      'wild-update-check-api-ollama-ai': 'holds',
      'wild-statistics-at-model-start': 'holds',
      // a 3 s capture cannot show the absence of a once-a-minute ping
      'wild-websocket-ping': 'inconclusive',
      'wild-api-port-8000': 'holds',
    });
    expect(Object.keys(verdicts(rep)).sort()).toEqual(BUILTIN_CLAIMS.map((c) => c.id).sort());
  });

  it('the start-up violation points at ollama\'s own ollama.com connection and lookup, nothing of the pull', () => {
    const db = openDb(dbPath, { readonly: true });
    const expected = (db.prepare(`SELECT f.id FROM flows f JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
      WHERE p.comm = 'ollama' AND (f.sni = 'ollama.com' OR f.id IN (SELECT fl.id FROM flows fl JOIN dns d ON d.session_id = fl.session_id AND d.flow_seq = fl.seq WHERE d.query = 'ollama.com'))
      ORDER BY f.id`).all() as { id: number }[]).map((r) => r.id);
    db.close();
    expect(expected.length).toBe(2); // the TLS connection and its DNS lookup
    const c = claim(rep, 'server-offline-unless-pull-push');
    expect([...c.evidence.flow_ids].sort((a, b) => a - b)).toEqual(expected);
    expect(c.evidence.count).toBe(2);
    expect(c.evidence.first_seen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(c.reason).toContain('ollama.com');
  });

  it('chains the /api/pull request to the registry and CDN connections and their DNS lookups, by process', () => {
    const db = openDb(dbPath, { readonly: true });
    const names = ['registry.ollama.ai', 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com'];
    const expected = (db.prepare(`SELECT f.id FROM flows f JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
      WHERE p.comm = 'ollama' AND (f.sni IN (?, ?) OR f.id IN (SELECT fl.id FROM flows fl JOIN dns d ON d.session_id = fl.session_id AND d.flow_seq = fl.seq WHERE d.query IN (?, ?)))
      ORDER BY f.id`).all(...names, ...names) as { id: number }[]).map((r) => r.id);
    db.close();
    expect(expected.length).toBe(4);
    const pull = rep.chains.find((c) => c.request.path === '/api/pull')!;
    expect(pull.request).toMatchObject({ method: 'POST', client: '127.0.0.1', activity: 'api:/api/pull' });
    expect(pull.link).toBe('process');
    expect(pull.caused.map((f) => f.flow_id).sort((a, b) => a - b)).toEqual(expected);
    expect(new Set(pull.caused.map((f) => f.activity))).toEqual(new Set(['dns', 'registry', 'blob-download']));
    // each flow is linked once: the later /api/generate gets the runner flow, /api/tags nothing
    const gen = rep.chains.find((c) => c.request.path === '/api/generate')!;
    expect(gen.caused.map((f) => f.activity)).toEqual(['runner']);
    expect(rep.chains.find((c) => c.request.path === '/api/tags')!.caused).toEqual([]);
    // the chain is part of the claim's evidence
    expect(claim(rep, 'pull-only-registry-cdn').evidence.chains.map((c) => c.request.path)).toEqual(['/api/pull']);
  });

  itNeeding(['tshark'], "names each API request's client (curl) and server (ollama) as the packets' own comments do", () => {
    const db = openDb(dbPath, { readonly: true });
    const portOf = db.prepare('SELECT initiator_port AS port FROM flows WHERE id = ?');
    const file = fixture('demo/ollama-pull.pcapng');
    const firstPid = (filter: string): number => Number(/^PID: (\d+)/.exec(tsharkFields(file, ['frame.comment'], `${filter} && frame.comment`)[0]['frame.comment'][0])![1]);
    try {
      const api = rep.chains.map((c) => c.request);
      expect(api.map((r) => r.path).sort()).toEqual(['/api/generate', '/api/pull', '/api/tags']);
      for (const r of api) {
        const { port } = portOf.get(r.flow_id) as { port: number };
        expect(r.client_process).toEqual({ pid: firstPid(`tcp.srcport == ${port} && tcp.dstport == 11434`), name: 'curl' });
        expect(r.server_process).toEqual({ pid: firstPid(`tcp.srcport == 11434 && tcp.dstport == ${port}`), name: 'ollama' });
      }
    } finally {
      db.close();
    }
  });

  it('coverage: both interfaces, no loss, attribution available for nearly all bytes', () => {
    const cov = rep.coverage.sessions[0];
    expect(cov.interfaces).toEqual(['oafx-h0', 'lo']);
    expect(cov.loss_estimate).toBe(0);
    expect(cov.attribution).toBe('available');
    // only kernel ND/MLD packets have no owner
    expect(cov.attributed_share!).toBeGreaterThan(0.98);
    expect(cov.attributed_share!).toBeLessThan(1);
    expect(cov.off_host_visible).toBe(true);
    expect(cov.loopback_visible).toBe(true);
    expect(cov.problems).toEqual([]);
  });

  it('conditions the capture cannot show are judged when the user assumes them', () => {
    const r = report(dbPath, { assume: ['no-cloud', 'https-proxy'] });
    // the recommendations fetch at start is what OLLAMA_NO_CLOUD would stop
    expect(claim(r, 'no-cloud-only-pulls-and-me').verdict).toBe('violated');
    // ollama reached registry and CDN directly
    const proxy = claim(r, 'pull-honours-https-proxy');
    expect(proxy.verdict).toBe('violated');
    expect(new Set(proxy.evidence.flows.map((f) => f.activity))).toEqual(new Set(['registry', 'blob-download']));
    expect(proxy.evidence.flows.every((f) => f.process?.name === 'ollama')).toBe(true);
  });
});

describe('pull-eth-nano.pcap (veth only, no process information)', () => {
  let rep: ClaimsReport;
  beforeAll(async () => {
    rep = report((await storeWith(fixture('pull-eth-nano.pcap'))).dbPath);
  });

  it('judges host-wide claims, and says inconclusive where attribution or loopback is missing', () => {
    const v = verdicts(rep);
    expect(v['airgap-no-ollama-destination']).toBe('violated');
    expect(v['airgap-no-ollama-dns']).toBe('violated');
    expect(v['wild-update-check-api-ollama-ai']).toBe('holds');
    // Ollama-tree claims need attribution
    expect(v['airgap-ollama-silent']).toBe('inconclusive');
    expect(v['server-offline-unless-pull-push']).toBe('inconclusive');
    expect(claim(rep, 'airgap-ollama-silent').reason).toContain('no process information');
    // requests travel on loopback, which this capture did not include
    expect(v['inference-local-no-network']).toBe('inconclusive');
    expect(claim(rep, 'inference-local-no-network').reason).toContain('loopback');
    expect(v['api-loopback-only']).toBe('not exercised');
    expect(rep.coverage.sessions[0]).toMatchObject({ attribution: 'unavailable', attributed_share: null, off_host_visible: true, loopback_visible: null });
    expect(rep.chains).toEqual([]);
  });
});

describe('several sessions', () => {
  it('the worst verdict wins and the reason names the session', async () => {
    const { dbPath, sessions } = await storeWith(fixture('demo/ollama-pull.pcapng'), fixture('pull-eth-nano.pcap'));
    const both = report(dbPath);
    expect(claim(both, 'airgap-ollama-silent').verdict).toBe('violated');
    expect(claim(both, 'inference-local-no-network').verdict).toBe('inconclusive');
    expect(claim(both, 'inference-local-no-network').reason).toContain(`session ${sessions[1]}:`);
    const first = report(dbPath, { sessions: [sessions[0]] });
    expect(claim(first, 'inference-local-no-network').verdict).toBe('holds');
  });
});
