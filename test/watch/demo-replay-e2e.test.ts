/**
 * `demo --watch` at the capture's own pace (issue #11): the bundled capture (3.1 s long, tshark's
 * frame.time_relative) replayed into the dashboard as a live capture. Lines at --speed 1 show the
 * session growing while LIVE; SIGINT mid-replay ends it cleanly; in tmux the dashboard shows the
 * LIVE badge, then the final state (ENDED, every Ollama flow of the capture as an import counts
 * them), and `q` leaves the screen and exits 0.
 * Timing-sensitive (it waits for replayed seconds and frames): in vitest's `timing` project.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { tmuxServer } from '../helpers/tmux.js';
import { tsharkColumns } from '../helpers/tshark.js';
import { DEMO_CAPTURE } from '../../src/commands/demo-command.js';
import { demoFlows, demoStore, type DemoStore } from './demo-store.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js');
const SOCKET = `oarp-${process.pid}`;
let store: DemoStore;

interface Line { live: boolean; session_flows: number; ollama_flows: number; banner: { kind: string }; claims: { id: string; verdict: string }[] }

const { run: tmux, pane, waitFor } = tmuxServer(SOCKET);

// The import of the same capture: what the replay's session must end with.
beforeAll(async () => { store = await demoStore('oarp-'); });
afterAll(() => store.remove());

describeNeeding(['tshark', 'dist'], 'demo --watch, replayed at its pace', () => {
  it('--speed 1 --json: LIVE objects whose flow count grows over the capture\'s seconds, then the ended session', () => {
    const seconds = Math.max(...tsharkColumns(DEMO_CAPTURE, ['frame.time_relative']).map(([t]) => Number(t)));
    expect(seconds).toBeGreaterThan(2); // lines come once a second: the capture spans several
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [BIN, 'demo', '--watch', '--json'], { encoding: 'utf8', timeout: 60_000 });
    const tookS = (Date.now() - t0) / 1000;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // At its own pace: not before the capture's length has gone by.
    expect(tookS).toBeGreaterThanOrEqual(seconds);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    const live = lines.filter((l) => l.live);
    const last = lines[lines.length - 1];
    expect(last.live).toBe(false);
    expect(live.length).toBeGreaterThanOrEqual(Math.floor(seconds));
    const flows = demoFlows(store);
    expect(last.session_flows).toBe(flows.length);
    expect(last.ollama_flows).toBe(flows.filter((f) => f.ollama).length);
    // Growing while live: some line between none and all of them, none going back.
    for (let i = 1; i < lines.length; i++) expect(lines[i].session_flows).toBeGreaterThanOrEqual(lines[i - 1].session_flows);
    expect(live.some((l) => l.session_flows > 0 && l.session_flows < last.session_flows)).toBe(true);
    // The banner turns from SILENT (nothing yet) to TRAFFIC (the pull to the registry and CDN).
    expect(lines[0].banner.kind).toBe('silent');
    expect(last.banner.kind).toBe('traffic');
    // The claims follow: before the first write nothing breaks the air gap; the pull does (the scenario's facts).
    const airgap = (l: Line) => l.claims.find((c) => c.id === 'airgap-no-ollama-destination')?.verdict;
    expect(airgap(lines[0])).not.toBe('violated');
    expect(airgap(last)).toBe('violated');
  }, 60_000);

  it('SIGINT mid-replay: exit 0, the temporary store removed', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'oarp-sigint-'));
    try {
      const kid = spawn(process.execPath, [BIN, 'demo', '--watch', '--speed', '0.1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
      let out = '';
      let err = '';
      kid.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      kid.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<number | null>((r) => kid.once('exit', (code) => r(code)));
      const end = Date.now() + 20_000;
      while (out.split('\n').filter((l) => / LIVE · /.test(l)).length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/ session 1 LIVE · /);
      kid.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(err).toBe('');
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});

describeNeeding(['tmux', 'dist'], 'demo --watch in tmux', () => {
  beforeAll(() => { tmux('start-server'); });
  afterAll(() => {
    try { tmux('kill-server'); } catch { /* already gone */ }
  });

  it('the LIVE badge while replaying, then the final state until q; q leaves the screen and exits 0', async () => {
    const ollama = demoFlows(store).filter((f) => f.ollama).length;
    const tmp = mkdtempSync(join(tmpdir(), 'oarp-tmux-'));
    // At a quarter of its speed the replay lasts ~12 s: long enough to see it live on a loaded machine (ink loads first).
    tmux('new-session', '-d', '-s', 'demo', '-x', '120', '-y', '40', `CI=true TMPDIR=${tmp} node ${BIN} demo --watch --speed 0.25; echo "EXIT=$?"; sleep 600`);
    await waitFor('demo', (t) => /^\[LIVE\] /.test(t) && /│ live replay of .*ollama-pull\.pcapng/.test(t), 'the LIVE badge');
    // Flows appear as they are replayed: a LIVE frame with some of them, not yet all.
    const rows = (t: string) => Number(/ (\d+) rows · sort/.exec(t)?.[1] ?? -1);
    await waitFor('demo', (t) => /^\[LIVE\] /.test(t) && rows(t) > 0 && rows(t) < ollama, 'a LIVE frame with some of the flows');
    const final = await waitFor('demo', (t) => /^\[ENDED\] /.test(t) && t.includes(`${ollama} rows · sort`), `the ended session with its ${ollama} Ollama flows`);
    expect(final).toMatch(/TRAFFIC: /);
    expect(final).toMatch(/VIOLATED +airgap-no-ollama-destination /);
    expect(final).toMatch(/HOLDS +api-loopback-only /);
    // It stays on the final state: still there a second later.
    await new Promise((r) => setTimeout(r, 1000));
    expect(pane('demo')).toMatch(/^\[ENDED\] /);
    tmux('send-keys', '-t', 'demo', 'q');
    const after = await waitFor('demo', (t) => t.includes('EXIT='), 'the exit');
    expect(after).toContain('EXIT=0');
    expect(after).not.toMatch(/\[(LIVE|ENDED)\]|coverage: /);
    // Its temporary store (and the evidence folder beside it) is gone.
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);
});
