/** `verify` offline: exit 0 silent, 1 traffic breaking the air-gap claims, 2 cannot tell or bad input. */
import { describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../differential/fixture-files.js';
import { runVerifyOffline, type VerifyReport } from '../../src/commands/verify-command.js';
import { runClaims } from '../../src/commands/claims-command.js';
import { runFlows } from '../../src/commands/flows-command.js';
import { filterCapture, isOllamaPacket, storeWith, tmp } from './helpers.js';

async function verify(opts: Parameters<typeof runVerifyOffline>[0]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = { write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WritableStream;
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    return { code: await runVerifyOffline(opts, sink), out, err };
  } finally {
    spy.mockRestore();
  }
}

const demo = fixture('demo/ollama-pull.pcapng');
// Only the unrelated traffic of the scenario: curl/dig/ping to example.org, kernel ND/MLD, still with process comments.
const idle = () => filterCapture(demo, isOllamaPacket);
// The demo without ollama's start-up fetch of ollama.com and dig's lookup of ollama.com: a pull and unrelated traffic.
const pullOnly = () => filterCapture(demo, (p) =>
  p.src === '203.0.113.30' || p.dst === '203.0.113.30' || ((p.sport === 53 || p.dport === 53) && p.payload.includes(Buffer.from('\x06ollama\x03com\x00', 'latin1'))));

describe('verify --pcap', () => {
  it('exit 1 on the pull capture, naming the broken claims and the chain behind them', async () => {
    const r = await verify({ pcap: [demo] });
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL');
    expect(r.out).toMatch(/VIOLATED\s+airgap-no-ollama-destination/);
    expect(r.out).toContain('POST /api/pull from 127.0.0.1');
    expect(r.out.split('\n').length).toBeLessThan(60);
  });

  it('exit 2 on a capture where Ollama never ran (only unrelated traffic, attributed): one stderr line saying so', async () => {
    const file = idle();
    const r = await verify({ pcap: [file], json: true });
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toEqual([expect.stringMatching(/^ollama-audit: cannot tell: .*no sign of Ollama running.*--allow-idle/), '']);
    expect(r.err).toContain(file);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep).toMatchObject({ result: 'cannot-tell', exit_code: 2, watched: { ollama_ran: false, ollama_evidence: null, allow_idle: false } });
    // Nothing is violated or inconclusive: only the missing Ollama stops a PASS.
    for (const c of rep.claims) expect(['holds', 'not exercised']).toContain(c.verdict);
  });

  it('--allow-idle accepts the same idle capture: exit 0, PASS, nothing on stderr', async () => {
    const r = await verify({ pcap: [idle()], allowIdle: true });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('PASS');
  });

  it('a capture with Ollama in it passes without --allow-idle; the evidence names the Ollama flow', async () => {
    // The pull alone, allowed: the flows of the ollama process (its pcapng comments) show it ran.
    const r = await verify({ pcap: [pullOnly()], allow: ['activity:registry'], json: true });
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep.watched.ollama_ran).toBe(true);
    // The first flow showing it: the scenario's API call to the server (answered), before the pull.
    expect(rep.watched.ollama_evidence).toMatch(/^an answered API connection \(flow #\d+, api:\/api\/\w+\)$/);
  });

  it('exit 2 on a capture with no packets, even with --allow-idle', async () => {
    const empty = filterCapture(demo, () => true);
    const r = await verify({ pcap: [empty], allowIdle: true });
    expect(r.code).toBe(2);
    expect(r.out).not.toContain('PASS');
    expect(r.err.split('\n')).toEqual([expect.stringMatching(/^ollama-audit: cannot tell: .*saw 0 packets/), '']);
  });

  it('every exit 2 of an inconclusive verdict says why on stderr in one line', async () => {
    const r = await verify({ pcap: [filterCapture(demo, isOllamaPacket, { pcap: true })], allowIdle: true });
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toEqual([expect.stringMatching(/^ollama-audit: cannot tell: .*no process information.*\(airgap-ollama-silent\b/), '']);
  });

  it('the hint after a FAIL names a command that works: --db to keep a temporary store, flows --db PATH otherwise', async () => {
    const temp = await verify({ pcap: [demo] });
    expect(temp.code).toBe(1);
    expect(temp.out).toContain('run again with --db PATH to keep it');
    expect(temp.out).not.toMatch(/`ollama-audit flows` lists/);
    const dbPath = join(tmp('kept'), 'kept.db');
    const kept = await verify({ pcap: [demo], db: dbPath });
    expect(kept.code).toBe(1);
    const hint = /`(ollama-audit flows --db [^`]+)`/.exec(kept.out);
    expect(hint?.[1]).toBe(`ollama-audit flows --db ${dbPath}`);
    let listed = '';
    const sink = { write: (s: string) => { listed += s; return true; } } as unknown as NodeJS.WritableStream;
    expect(await runFlows({ db: dbPath, json: true }, sink)).toBe(0);
    expect((JSON.parse(listed) as unknown[]).length).toBeGreaterThan(0);
  });

  it('exit 2 on the same idle traffic without process information: its flows could be Ollama\'s', async () => {
    const r = await verify({ pcap: [filterCapture(demo, isOllamaPacket, { pcap: true })], json: true });
    expect(r.code).toBe(2);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep.result).toBe('cannot-tell');
    const silent = rep.claims.find((c) => c.id === 'airgap-ollama-silent')!;
    expect(silent.verdict).toBe('inconclusive');
    expect(silent.reason).toContain('no process information');
  });

  it('exit 2 when capture loss is above the threshold, even on idle traffic', async () => {
    // Remove the data segments of the plain-HTTP responses from example.org: acknowledged, never captured.
    const lossy = filterCapture(idle(), (p) => p.proto === 6 && p.sport === 80 && p.payload.length > 0);
    const r = await verify({ pcap: [lossy], json: true });
    expect(r.code).toBe(2);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep.coverage.sessions[0].loss_estimate!).toBeGreaterThan(1);
    expect(rep.claims.find((c) => c.id === 'airgap-no-ollama-destination')!.reason).toContain('estimated capture loss');
  });

  it('--allow activity:registry turns a capture with only a pull into exit 0; without it exit 1', async () => {
    const cap = pullOnly();
    expect((await verify({ pcap: [cap] })).code).toBe(1);
    const r = await verify({ pcap: [cap], allow: ['activity:registry'], json: true });
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep.allow).toEqual(['activity:registry']);
    // ollama.com is not covered by that rule
    expect((await verify({ pcap: [demo], allow: ['activity:registry'] })).code).toBe(1);
  });

  it('--json shape', async () => {
    const r = await verify({ pcap: [demo], json: true });
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(Object.keys(rep).sort()).toEqual(['allow', 'chains', 'claim_set', 'claims', 'confidence', 'coverage', 'exit_code', 'result', 'watched']);
    expect(Object.keys(rep.watched).sort()).toEqual(['allow_idle', 'missing', 'ollama_evidence', 'ollama_ran']);
    expect(rep).toMatchObject({ result: 'traffic', exit_code: 1, claim_set: 'airgap' });
    expect(rep.claims.map((c) => c.id)).toEqual(['airgap-ollama-silent', 'airgap-no-ollama-destination', 'airgap-no-ollama-dns', 'api-loopback-only']);
    for (const c of rep.claims) {
      expect(Object.keys(c).sort()).toEqual(['claimed', 'evidence', 'id', 'reason', 'scope', 'source', 'supported', 'title', 'verdict']);
      expect(Object.keys(c.evidence).sort()).toEqual(['chains', 'count', 'first_seen', 'flow_ids', 'flows']);
    }
    expect(Object.keys(rep.coverage.sessions[0]).sort()).toEqual(['attributed_share', 'attribution', 'attribution_confidence', 'attribution_sources', 'confidence_note', 'drop_percent', 'drops', 'duration_s', 'ended_at',
      'expired_early', 'interfaces', 'kind', 'loopback_visible', 'loss_estimate', 'off_host_visible', 'packets', 'problems', 'session_id', 'short_unattributed', 'source', 'started_at', 'store_gaps']);
    const chain = rep.chains.find((c) => c.request.path === '/api/pull')!;
    expect(Object.keys(chain.request).sort()).toEqual(['activity', 'client', 'client_process', 'cloud_model', 'flow_id', 'method', 'model', 'model_status', 'path', 'server_process', 'ts']);
    expect(Object.keys(chain.caused[0]).sort()).toEqual(['activity', 'far_addr', 'far_port', 'first_seen', 'flow_id', 'hostname']);
  });
});

describe('verify --db', () => {
  it('judges stored sessions; --session picks them', async () => {
    const { dbPath, sessions } = await storeWith(idle(), demo);
    expect((await verify({ db: dbPath })).code).toBe(1);
    expect((await verify({ db: dbPath, session: [sessions[0]] })).code).toBe(2); // idle: Ollama never ran
    expect((await verify({ db: dbPath, session: [sessions[0]], allowIdle: true })).code).toBe(0);
    expect((await verify({ db: dbPath, session: [sessions[1]] })).code).toBe(1);
  });

  it('bad input is exit 2 with one line on stderr', async () => {
    const { dbPath } = await storeWith(idle());
    let r = await verify({ db: dbPath, allow: ['hosts:10.0.0.0/8'] });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ollama-audit: --allow hosts:10\.0\.0\.0\/8: .*\n$/);
    r = await verify({ db: dbPath, session: [99] });
    expect(r.code).toBe(2);
    expect(r.err).toContain('no session 99');
    r = await verify({ pcap: [join(tmp('none'), 'missing.pcap')] });
    expect(r.code).toBe(2);
    r = await verify({ db: join(tmp('none'), 'no.db') });
    expect(r.code).toBe(2);
    // --keep-cmdline chooses what a live capture stores: on stored sessions it would do nothing.
    r = await verify({ db: dbPath, keepCmdline: true });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ollama-audit: --keep-cmdline applies to .*--duration or --exercise\n$/);
  });

  it('a claims file adds claims to the air-gap set', async () => {
    const { dbPath } = await storeWith(idle());
    const file = join(tmp('file'), 'claims.yaml');
    writeFileSync(file, 'claims:\n  - id: no-example-org\n    title: Nothing talks to example.org\n    scope: host\n    match: { hostname: [example.org] }\n    expect: never\n');
    const r = await verify({ db: dbPath, claimsFile: file, json: true, allowIdle: true });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep.claims.find((c) => c.id === 'no-example-org')!.verdict).toBe('violated');
  });
});

describe('claims command', () => {
  it('prints every claim with coverage and chains; --json has the documented fields', async () => {
    const { dbPath } = await storeWith(demo);
    let out = '';
    const sink = { write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WritableStream;
    expect(runClaims({ db: dbPath }, sink)).toBe(0);
    expect(out).toContain('Coverage');
    expect(out).toMatch(/VIOLATED\s+server-offline-unless-pull-push/);
    expect(out).toContain('claimed in the wild');
    expect(out).toContain('POST /api/pull from 127.0.0.1');
    out = '';
    expect(runClaims({ db: dbPath, json: true }, sink)).toBe(0);
    const rep = JSON.parse(out) as { coverage: { thresholds: Record<string, number> }; claims: { id: string; supported: boolean }[] };
    expect(rep.coverage.thresholds).toEqual({ max_loss_percent: 1, max_drop_percent: 1, request_grace_s: 0.5 });
    expect(rep.claims.filter((c) => !c.supported).map((c) => c.id)).toContain('wild-update-check-api-ollama-ai');
  });
});
