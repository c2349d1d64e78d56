/**
 * `watch` capturing in-process through the live engine (issue #11), in network namespaces
 * oawt-host / oawt-inet (test/live/e2e/netns.ts): silent before anything happens, then a real
 * `curl` asks the fake ollama for a pull, which fetches the manifest from the registry and the blob
 * from the CDN over the veth; the banner must turn to TRAFFIC naming the CDN (the most bytes, the
 * blob's size known from the scenario), and the session ends at SIGINT with exit 0. Output is
 * lines (stdout is a pipe), one JSON object a second. Live capture: in vitest's `timing` project.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { tmuxServer } from '../helpers/tmux.js';
import { CDN_HOST, INTERNET_NEEDS, REPO, buildInternet, inHost, ollamaSocketsClosed, pullViaApi, teardownInternet, type Internet } from '../live/e2e/netns.js';

const PREFIX = 'oawt-';
const BLOB_BYTES = 2 * 1024 * 1024;
let dir = '';
let net: Internet;

interface Line { session: number; live: boolean; banner: { kind: string; topHost?: string; bytes?: number; flows?: number; ever?: boolean }; ollama_flows: number }

describeNeeding([...INTERNET_NEEDS, 'cap', 'dist', 'curl'], 'watch capturing in-process', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oawt-live-'));
    net = await buildInternet(dir, { prefix: PREFIX, blobBytes: BLOB_BYTES, dnsDelayMs: 5 });
  }, 120_000);
  afterAll(() => {
    teardownInternet(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  it('SILENT, then TRAFFIC to the CDN during a pull; SIGINT ends the session, exit 0', async () => {
    const db = join(dir, 'live.db');
    const watch = inHost(net, process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'watch', '--json', '-i', net.hostVeth, '-i', 'lo'], { OLLAMA_AUDIT_DB: db });
    const lines = () => watch.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
    await watch.waitFor(/"banner"/, 30_000);
    const first = lines()[0];
    expect(first.live).toBe(true);
    expect(first.banner).toMatchObject({ kind: 'silent', ever: false });

    const pull = await pullViaApi(net, { model: 'llama3' });
    await pull.done;
    await watch.waitFor(/"kind":"traffic"/, 20_000);
    const traffic = lines().find((l) => l.banner.kind === 'traffic')!;
    expect(traffic.banner.topHost).toBe(CDN_HOST);
    expect(traffic.banner.bytes).toBeGreaterThanOrEqual(BLOB_BYTES);
    expect(traffic.ollama_flows).toBeGreaterThanOrEqual(2);

    watch.proc.kill('SIGINT');
    const exit = await watch.exited;
    expect(exit.code).toBe(0);
    const store = new Database(db, { readonly: true });
    try {
      const s = store.prepare('SELECT kind, ended_at FROM sessions WHERE id = ?').get(first.session) as { kind: string; ended_at: number | null };
      expect(s.kind).toBe('live');
      expect(s.ended_at).not.toBeNull();
    } finally {
      store.close();
    }
  }, 120_000);

  it('what the engine says while it draws reaches stderr once it ends, with its stopped line (procfs fallback here); exit 0', async () => {
    const db = join(dir, 'warn.db');
    const watch = inHost(net, process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'watch', '--json', '-i', 'lo'],
      { OLLAMA_AUDIT_DB: db, OLLAMA_AUDIT_BPFTRACE: '/nonexistent/bpftrace' });
    await watch.waitFor(/"banner"/, 30_000);
    watch.proc.kill('SIGINT');
    const exit = await watch.exited;
    expect(exit.code).toBe(0);
    const lines = watch.stderr().trim().split('\n');
    expect(lines.some((l) => /^ollama-audit: attribution from procfs only: \/nonexistent\/bpftrace is not installed/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^ollama-audit: stopped: \d+ packets, \d+ flows/);
  }, 60_000);

  itNeeding(['tmux'], 'the dashboard (tmux): LIVE, the engine\'s seconds reach the data thread, TRAFFIC after a pull, q exits 0', async () => {
    const { run: tmux, waitFor, start } = tmuxServer(`oawt-live-${process.pid}`);
    const db = join(dir, 'dash.db');
    start('live', `ip netns exec ${net.hostNs} env OLLAMA_AUDIT_DB=${db} ${process.execPath} ${join(REPO, 'bin/ollama-audit.js')} watch -i ${net.hostVeth} -i lo`, 160, 40);
    const waitPane = (re: RegExp, what: string) => waitFor('live', (text) => re.test(text), what, 30_000);
    try {
      await waitPane(/^\[LIVE\] .*session \d+ │ live /m, 'the LIVE header');
      // (Not SILENT here: the first test's pull left connections of the fake ollama that close now, off-host, RST.)
      await waitPane(/^(SILENT for|TRAFFIC: )/m, 'the banner');
      // A pull within 2 s of the first test's would reuse its kept-alive connections: no TLS
      // handshake, so no SNI naming the CDN for this capture (seen once: TRAFFIC to its address).
      await ollamaSocketsClosed(net);
      const pull = await pullViaApi(net, { model: 'llama3' });
      await pull.done;
      const text = await waitPane(new RegExp(`^TRAFFIC: \\d+ flow\\(s\\) to ${CDN_HOST.replace(/\./g, '\\.')}`, 'm'), 'TRAFFIC naming the CDN');
      expect(text).toMatch(/last write [\d.]+ (ms|s) ago/);
      tmux('send-keys', '-t', 'live', 'q');
      expect(await waitPane(/EXIT=\d+/, 'the exit')).toContain('EXIT=0');
    } finally {
      tmux('kill-server');
    }
  }, 120_000);
});
