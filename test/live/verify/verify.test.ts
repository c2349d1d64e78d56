/**
 * `ollama-audit verify` live, end to end, in network namespaces this file creates (../e2e/netns.ts
 * with prefix `oavf-`, apart from the daemon test's `oae2e-` so both can run at once: `oavf-host` with
 * a fake `ollama`, `oavf-inet` with a fake registry.ollama.ai, its blob CDN and DNS). The scenarios of the verify issue:
 *   (1) an idle host: exit 0, with the coverage (interfaces, capture window, kernel drops) stated;
 *   (2) a pull: exit 1, the violated claims name the registry/CDN flows, and the report's
 *       evidence.pcapng reads in tshark with SNI registry.ollama.ai and the SHA-256 in manifest.json;
 *   (3) capture on `lo` while the pull crosses the veth: exit 2, saying off-host traffic was unwatched;
 *   (6) --exercise judges its own window: a pull finished before verify started is not judged
 *       (exit 0 with `sleep 1`), a pull started by the exercised command is (exit 1).
 *
 * Expected values come from what the test did: the command line, the fake ollama's own log of its
 * sockets (local ports, remote ends, pid), clocks read around the run, a tcpdump of the veth, and
 * `tshark -n` / `sha256sum` on the report files.
 *
 * Needs root (namespaces, capture). Skips with one line outside CI; under CI=true it runs and fails.
 */
import { tsharkColumns } from '../../helpers/tshark.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR, CDN_HOST, REPO, buildInternet, inHost, isRoot, mustRun, readSocketLog, sh, startKid, teardownInternet, type Internet, type SocketLogEntry,
} from '../e2e/netns.js';

const run = isRoot || mustRun;
if (!run) console.log('verify live scenarios skipped: need root for network namespaces and capture (they run under CI=true)');

const PREFIX = 'oavf-';
const BLOB_BYTES = 1024 * 1024;
const PULL = `curl -sS -N -X POST -d '{"model":"tinyllama"}' http://127.0.0.1:11434/api/pull`;
const AIRGAP = ['airgap-ollama-silent', 'airgap-no-ollama-destination', 'airgap-no-ollama-dns', 'api-loopback-only'];

interface EvidenceFlow { flow_id: number; first_seen: string; activity: string; hostname: string | null; far_addr: string; far_port: number; direction: string; process: { pid: number; name: string } | null }
interface ClaimOut { id: string; verdict: string; reason: string; evidence: { flow_ids: number[]; count: number; flows: EvidenceFlow[] } }
interface Coverage {
  session_id: number; kind: string; started_at: string | null; ended_at: string | null; duration_s: number | null; packets: number;
  interfaces: string[]; drops: number | null; loss_estimate: number | null; attribution: string; off_host_visible: boolean | null;
  loopback_visible: boolean | null; problems: string[];
}
interface VerifyJson { result: string; exit_code: number; claim_set: string; claims: ClaimOut[]; coverage: { sessions: Coverage[] } }
interface Run { code: number | null; stdout: string; stderr: string; json: VerifyJson; before: number; after: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256sum = (file: string) => sh('sha256sum', [file]).split(' ')[0];
const num = (a: number, b: number) => a - b;
const ms = (iso: string | null) => (iso === null ? NaN : Date.parse(iso));

/** `ollama-audit verify ARGS` in the host namespace of `net`; resolves when it exits. */
async function verify(net: Internet, args: string[]): Promise<Run> {
  const before = Date.now();
  const k = inHost(net, process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'verify', ...args]);
  const e = await k.exited;
  const after = Date.now();
  let json: VerifyJson;
  try {
    json = JSON.parse(k.stdout()) as VerifyJson;
  } catch {
    throw new Error(`verify ${args.join(' ')}: exit ${e.code ?? e.signal}, stdout not JSON:\n${k.stdout()}\nstderr:\n${k.stderr()}`);
  }
  const r = { code: e.code, stdout: k.stdout(), stderr: k.stderr(), json, before, after };
  if (process.env.OAVF_DEBUG) console.log(`verify ${args.join(' ')}\n${brief(r)}`);
  return r;
}

const claim = (r: Run, id: string): ClaimOut => {
  const c = r.json.claims.find((x) => x.id === id);
  if (!c) throw new Error(`claim ${id} missing from ${r.json.claims.map((x) => x.id).join(', ')}`);
  return c;
};
const brief = (r: Run) => JSON.stringify({ code: r.code, result: r.json.result, coverage: r.json.coverage.sessions, claims: r.json.claims.map((c) => [c.id, c.verdict, c.reason]), stderr: r.stderr }, null, 1);

describe.skipIf(!run)('verify live in network namespaces (needs root)', () => {
  let dir: string;
  let net: Internet;

  /** The fake ollama's socket log from entry `from` on, once every socket it opened has closed (keep-alive ends after 2 s). */
  async function pullLogWhenClosed(from: number): Promise<SocketLogEntry[]> {
    const end = Date.now() + 15_000;
    for (;;) {
      const log = readSocketLog(net.ollamaLog).slice(from);
      const open = log.filter((e) => e.event === 'connect').length - log.filter((e) => e.event === 'close').length;
      if (open === 0) return log;
      if (Date.now() > end) throw new Error(`fake ollama still has ${open} sockets open: ${JSON.stringify(log)}`);
      await sleep(50);
    }
  }
  const connects = (log: SocketLogEntry[]) => log.filter((e) => e.event === 'connect');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), PREFIX));
    net = await buildInternet(dir, { prefix: PREFIX, blobBytes: BLOB_BYTES, dnsDelayMs: 10 });
  });
  afterAll(() => {
    teardownInternet(PREFIX);
    if (dir && !process.env.OAVF_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('(1) idle host, -i any for 3 s: exit 0 "silent", coverage states the interface, window and drops', async () => {
    const r = await verify(net, ['--duration', '3s', '-i', 'any', '--json']);
    expect(r.code, brief(r)).toBe(0);
    expect(r.json).toMatchObject({ result: 'silent', exit_code: 0, claim_set: 'airgap' });
    expect(r.json.claims.map((c) => c.id).sort()).toEqual([...AIRGAP].sort());
    for (const c of r.json.claims) expect(['holds', 'not exercised'], `${c.id}: ${c.reason}`).toContain(c.verdict);
    expect(claim(r, 'airgap-no-ollama-destination').verdict).toBe('holds');
    expect(claim(r, 'airgap-no-ollama-dns').verdict).toBe('holds');

    expect(r.json.coverage.sessions).toHaveLength(1);
    const cov = r.json.coverage.sessions[0];
    expect(cov).toMatchObject({ kind: 'live', interfaces: ['any'], drops: 0, off_host_visible: true, loopback_visible: true, problems: [] });
    expect(cov.duration_s).toBeGreaterThanOrEqual(2.9);
    expect(cov.duration_s).toBeLessThan(4.5);
    expect(ms(cov.started_at)).toBeGreaterThanOrEqual(r.before);
    expect(ms(cov.ended_at)).toBeLessThanOrEqual(r.after);
    expect(ms(cov.ended_at) - ms(cov.started_at)).toBeCloseTo(cov.duration_s! * 1000, -1);
  });

  it('(1) idle host, -i <veth> -i lo: exit 0 and the coverage names both interfaces', async () => {
    const r = await verify(net, ['--duration', '3s', '-i', net.hostVeth, '-i', 'lo', '--json']);
    expect(r.code, brief(r)).toBe(0);
    expect(r.json.result).toBe('silent');
    const cov = r.json.coverage.sessions[0];
    expect(cov).toMatchObject({ interfaces: [net.hostVeth, 'lo'], drops: 0, off_host_visible: true, loopback_visible: true, problems: [] });
    expect(cov.duration_s).toBeGreaterThanOrEqual(2.9);
    expect(cov.duration_s).toBeLessThan(4.5);
  });

  it('(2) a pull under --exercise: exit 1 naming the registry/CDN flows; evidence.pcapng has SNI registry.ollama.ai, manifest SHA-256 match', async () => {
    const work = join(dir, 'pull');
    mkdirSync(work);
    const reportDir = join(work, 'report');
    const from = readSocketLog(net.ollamaLog).length;
    const r = await verify(net, ['--exercise', PULL, '--grace', '1s', '--db', join(work, 'verify.db'), '--report', reportDir, '--json']);
    const log = await pullLogWhenClosed(from);
    expect(r.stderr, 'the exercised pull succeeded').toMatch(/"status":"success"/);

    expect(r.code, brief(r)).toBe(1);
    expect(r.json).toMatchObject({ result: 'traffic', exit_code: 1 });
    const conns = connects(log);
    const registry = conns.filter((e) => e.remoteAddress === ADDR.registry);
    const cdn = conns.filter((e) => e.remoteAddress === ADDR.cdn);
    expect(registry.length).toBeGreaterThan(0);
    expect(cdn.length).toBeGreaterThan(0);

    // No Ollama destination: broken by exactly the connections the fake ollama logged, named.
    const dest = claim(r, 'airgap-no-ollama-destination');
    expect(dest.verdict).toBe('violated');
    const db = new Database(join(work, 'verify.db'), { readonly: true });
    try {
      const portOf = (id: number) => (db.prepare('SELECT initiator_port AS p FROM flows WHERE id = ?').get(id) as { p: number }).p;
      const named = dest.evidence.flows.map((f) => ({ port: portOf(f.flow_id), far: `${f.far_addr}:${f.far_port}`, hostname: f.hostname, activity: f.activity }));
      const expected = [
        ...registry.map((e) => ({ port: e.localPort, far: `${ADDR.registry}:443`, hostname: 'registry.ollama.ai', activity: 'registry' })),
        ...cdn.map((e) => ({ port: e.localPort, far: `${ADDR.cdn}:443`, hostname: CDN_HOST, activity: 'blob-download' })),
      ];
      const byPort = (a: { port?: number }, b: { port?: number }) => a.port! - b.port!;
      expect(named.sort(byPort)).toEqual(expected.sort(byPort));
      expect(dest.evidence.count).toBe(expected.length);
      expect(dest.reason).toMatch(/registry\.ollama\.ai/);
    } finally {
      db.close();
    }

    // The Ollama tree went off-host: the fake ollama's pid, from its own log.
    const silent = claim(r, 'airgap-ollama-silent');
    expect(silent.verdict).toBe('violated');
    const owners = new Set(silent.evidence.flows.map((f) => `${f.process?.name}:${f.process?.pid}`));
    expect(owners).toEqual(new Set([`ollama:${net.ollama.pid}`]));
    expect(new Set(silent.evidence.flows.filter((f) => f.far_port === 443).map((f) => f.far_addr))).toEqual(new Set([ADDR.registry, ADDR.cdn]));

    // It looked the names up.
    const dns = claim(r, 'airgap-no-ollama-dns');
    expect(dns.verdict).toBe('violated');
    expect(new Set(dns.evidence.flows.map((f) => `${f.far_addr}:${f.far_port}`))).toEqual(new Set([`${ADDR.dns}:53`]));
    const resolved = new Set(log.filter((e) => e.event === 'resolved').map((e) => e.hostname));
    expect(resolved).toEqual(new Set(['registry.ollama.ai', CDN_HOST]));

    // The report folder: evidence.pcapng as tshark reads it, and the manifest's digests.
    const evidence = join(reportDir, 'evidence.pcapng');
    const sni = tsharkColumns(evidence, ['tls.handshake.extensions_server_name', 'tcp.srcport', 'ip.dst'], 'tls.handshake.type == 1', ',');
    const registrySni = sni.filter(([name]) => name === 'registry.ollama.ai');
    expect(registrySni.length, JSON.stringify(sni)).toBeGreaterThan(0);
    for (const [, port, dst] of registrySni) {
      expect(dst).toBe(ADDR.registry);
      expect(registry.map((e) => e.localPort)).toContain(Number(port));
    }
    expect(new Set(registrySni.map(([, port]) => Number(port)))).toEqual(new Set(registry.map((e) => e.localPort)));
    expect(sni.filter(([name]) => name === CDN_HOST).map(([, port]) => Number(port)).sort(num)).toEqual(cdn.map((e) => e.localPort!).sort(num));

    const manifest = JSON.parse(readFileSync(join(reportDir, 'manifest.json'), 'utf8')) as { files: { name: string; bytes: number; sha256: string }[] };
    const onDisk = readdirSync(reportDir).filter((n) => n !== 'manifest.json').sort();
    expect(manifest.files.map((f) => f.name).sort()).toEqual(onDisk);
    expect(onDisk).toContain('evidence.pcapng');
    for (const f of manifest.files) {
      expect(f.sha256, f.name).toBe(sha256sum(join(reportDir, f.name)));
      expect(f.bytes, f.name).toBe(statSync(join(reportDir, f.name)).size);
    }
  });

  it('(3) capture on lo while the pull crosses the veth: exit 2, traffic leaving the host was not watched', async () => {
    const work = join(dir, 'lo');
    mkdirSync(work);
    const veth = join(work, 'veth.pcap');
    const td = startKid('ip', ['netns', 'exec', net.hostNs, 'tcpdump', '-i', net.hostVeth, '-n', '-U', '-w', veth]);
    await td.waitFor(/listening on/);
    const from = readSocketLog(net.ollamaLog).length;
    let r: Run;
    try {
      r = await verify(net, ['--exercise', PULL, '--grace', '1s', '-i', 'lo', '--json']);
      await pullLogWhenClosed(from);
    } finally {
      td.proc.kill('SIGINT');
      await td.exited;
    }
    expect(r.stderr, 'the exercised pull succeeded').toMatch(/"status":"success"/);
    // The pull did cross the veth (tcpdump saw its ClientHello there).
    expect(tsharkColumns(veth, ['frame.number'], 'tls.handshake.extensions_server_name == "registry.ollama.ai"').length).toBeGreaterThan(0);

    expect(r.code, brief(r)).toBe(2);
    expect(r.json).toMatchObject({ result: 'cannot-tell', exit_code: 2 });
    const cov = r.json.coverage.sessions[0];
    expect(cov).toMatchObject({ interfaces: ['lo'], off_host_visible: false, loopback_visible: true });
    expect(cov.problems).toContain('the capture saw only loopback interfaces: traffic leaving the host was not watched');
    for (const c of r.json.claims) expect(c.verdict, `${c.id}: ${c.reason}`).not.toBe('violated');
    for (const id of ['airgap-ollama-silent', 'airgap-no-ollama-destination', 'airgap-no-ollama-dns']) {
      const c = claim(r, id);
      expect(c.verdict, `${id}: ${c.reason}`).toBe('inconclusive');
      expect(c.reason).toMatch(/traffic leaving the host was not watched/);
    }
  });

  it('(6) --exercise judges only its window: a pull finished before is not judged (exit 0), one the command starts is (exit 1)', async () => {
    const work = join(dir, 'window');
    mkdirSync(work);
    // A pull by another process, over (every socket closed) before verify starts.
    const from = readSocketLog(net.ollamaLog).length;
    const earlier = inHost(net, 'sh', ['-c', PULL]);
    const e = await earlier.exited;
    expect(e.code, earlier.stderr()).toBe(0);
    expect(earlier.stdout()).toMatch(/"status":"success"/);
    const earlierLog = await pullLogWhenClosed(from);
    const earlierPorts = connects(earlierLog).map((x) => x.localPort!);
    expect(earlierPorts.length).toBeGreaterThan(0);
    const earlierEnd = Math.max(...earlierLog.map((x) => x.t));
    await sleep(300);

    const quiet = await verify(net, ['--exercise', 'sleep 1', '--grace', '1s', '--db', join(work, 'quiet.db'), '--json']);
    expect(quiet.code, brief(quiet)).toBe(0);
    expect(quiet.json.result).toBe('silent');
    const qcov = quiet.json.coverage.sessions[0];
    expect(ms(qcov.started_at)).toBeGreaterThan(earlierEnd);
    expect(qcov.problems).toEqual([]);
    // The window is the command (1 s) plus the grace (1 s).
    expect(qcov.duration_s).toBeGreaterThanOrEqual(1.9);
    expect(qcov.duration_s).toBeLessThan(5);
    const qdb = new Database(join(work, 'quiet.db'), { readonly: true });
    try {
      // Nothing of the earlier pull (its ports, or anything to the fake internet) is in the session.
      const rows = qdb.prepare('SELECT initiator_port, responder_addr FROM flows WHERE session_id = ?').all(qcov.session_id) as { initiator_port: number; responder_addr: string }[];
      expect(rows.filter((f) => earlierPorts.includes(f.initiator_port) || f.responder_addr.startsWith('203.0.113.'))).toEqual([]);
    } finally {
      qdb.close();
    }

    // The same pull, now started by the exercised command (after a pause, so it is inside the window).
    const from2 = readSocketLog(net.ollamaLog).length;
    const judged = await verify(net, ['--exercise', `sleep 0.5; ${PULL}`, '--grace', '1s', '--db', join(work, 'judged.db'), '--json']);
    const judgedLog = await pullLogWhenClosed(from2);
    expect(judged.stderr).toMatch(/"status":"success"/);
    expect(judged.code, brief(judged)).toBe(1);
    expect(judged.json.result).toBe('traffic');
    const dest = claim(judged, 'airgap-no-ollama-destination');
    expect(dest.verdict).toBe('violated');
    const jdb = new Database(join(work, 'judged.db'), { readonly: true });
    try {
      const ports = dest.evidence.flow_ids.map((id) => (jdb.prepare('SELECT initiator_port AS p FROM flows WHERE id = ?').get(id) as { p: number }).p).sort(num);
      expect(ports).toEqual(connects(judgedLog).map((x) => x.localPort!).sort(num));
      // Every judged flow began inside this window, after the earlier pull was over.
      const start = ms(judged.json.coverage.sessions[0].started_at);
      for (const f of dest.evidence.flows) {
        expect(ms(f.first_seen)).toBeGreaterThanOrEqual(start);
        expect(ms(f.first_seen)).toBeGreaterThan(earlierEnd);
      }
    } finally {
      jdb.close();
    }
  });
});
