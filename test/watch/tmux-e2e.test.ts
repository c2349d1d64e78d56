/**
 * `watch` end to end in a real terminal (tmux, issue #11), on a store a real import of the demo
 * capture filled: keys Tab, `/registry`, Enter, `e`, Space, `q`; resizes 120×40 → 80×24 → 200×60
 * with no leftover lines; `q` restores the screen and exits 0; `watch | cat` and `watch </dev/null`
 * print summary lines instead of drawing. CI=true is set in the pane: it must not stop drawing.
 * Timing-sensitive (it waits for frames): in vitest's `timing` project.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { tmuxServer } from '../helpers/tmux.js';
import { demoFlows, demoStore, type DemoStore } from './demo-store.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js');
const SOCKET = `oawt-${process.pid}`;
let store: DemoStore;

const { run: tmux, pane, waitFor, start } = tmuxServer(SOCKET);
const paneLines = (t: string) => pane(t).replace(/\n$/, '').split('\n');

/** The drawn frame: what is on the pane, and how many copies of the header line it holds (1: nothing left over). */
function checkFrame(t: string, columns: number, rows: number): string[] {
  const lines = paneLines(t);
  expect(lines.length).toBeLessThanOrEqual(rows);
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(columns);
  expect(lines.filter((l) => /^\[(LIVE|PAUSED|ENDED)\] /.test(l))).toHaveLength(1);
  expect(lines.filter((l) => /^coverage: /.test(l))).toHaveLength(1);
  expect(lines[0]).toMatch(/^\[(LIVE|PAUSED|ENDED)\] /);
  return lines;
}

describeNeeding(['tmux', 'dist'], 'watch in tmux', () => {
  beforeAll(async () => {
    store = await demoStore();
    tmux('start-server');
  });
  afterAll(() => {
    try { tmux('kill-server'); } catch { /* already gone */ }
    store.remove();
  });

  it('keys, detail, evidence, pause, resizes without leftovers, q restores the screen and exits 0', async () => {
    const flows = demoFlows(store);
    start('dash', `CI=true node ${BIN} watch --db ${store.path} --out ${store.dir}`, 120, 40);
    await waitFor('dash', (t) => /\[ENDED\].*session 1/.test(t) && /rows · sort/.test(t), 'the first frame');
    checkFrame('dash', 120, 40);
    tmux('send-keys', '-t', 'dash', 'Tab');
    await waitFor('dash', (t) => t.includes('[2 Hosts]') && /HOST +FLOWS/.test(t), 'the Hosts view');
    tmux('send-keys', '-t', 'dash', '1', '/registry', 'Enter');
    const registry = flows.filter((f) => f.ollama && (f.hostname ?? '').includes('registry'));
    const filtered = await waitFor('dash', (t) => t.includes(`${registry.length} rows · filter registry`), 'the filtered Flows view');
    expect(filtered.split('\n').filter((l) => /^[> ] +\d+ +\S+ +registry\.ollama\.ai /.test(l))).toHaveLength(registry.length);
    tmux('send-keys', '-t', 'dash', 'Enter');
    const detail = await waitFor('dash', (t) => /Detail \(Esc back/.test(t) && /flow #\d+ tcp/.test(t), 'the detail');
    const id = Number(/flow #(\d+) tcp/.exec(detail)![1]);
    const flow = flows.find((f) => f.id === id)!;
    expect(registry.map((f) => f.id)).toContain(id);
    expect(detail).toContain(`process (initiator's end): ${flow.process!.name}[${flow.process!.pid}]`);
    tmux('send-keys', '-t', 'dash', 'e');
    const written = await waitFor('dash', (t) => /evidence of flow #\d+: \d+ packet/.test(t), 'the evidence export');
    const packets = Number(/evidence of flow #\d+: (\d+) packet/.exec(written)![1]);
    expect(packets).toBe(flow.packets_out + flow.packets_in);
    const file = readdirSync(store.dir).find((n) => n.endsWith(`-flow-${id}.pcapng`))!;
    expect(readFileSync(join(store.dir, file)).readUInt32LE(0)).toBe(0x0a0d0d0a);
    tmux('send-keys', '-t', 'dash', 'Space');
    await waitFor('dash', (t) => t.startsWith('[PAUSED]'), 'the PAUSED badge');

    for (const [x, y] of [[80, 24], [200, 60]] as const) {
      tmux('resize-window', '-t', 'dash', '-x', String(x), '-y', String(y));
      await waitFor('dash', (t) => {
        const l = t.replace(/\n$/, '').split('\n');
        return (l[y - 2] ?? '') !== '' && l.every((line) => line.length <= x) && l.filter((line) => line.startsWith('[PAUSED]')).length === 1;
      }, `a ${x}×${y} frame`, 10_000);
      const lines = checkFrame('dash', x, y);
      // The frame is rows−1 tall; the pane's last line stays empty.
      expect(lines.slice(0, y - 1).every((l) => l.length <= x)).toBe(true);
      expect(lines[y - 1] ?? '').toBe('');
    }
    tmux('send-keys', '-t', 'dash', 'q');
    const after = await waitFor('dash', (t) => t.includes('EXIT='), 'the exit');
    expect(after).toContain('EXIT=0');
    // The alternate screen is left: none of the dashboard remains on the normal screen.
    expect(after).not.toMatch(/\[(PAUSED|ENDED)\]|coverage: /);
  }, 120_000);

  it('`watch | cat` and `watch </dev/null` print summary lines instead of drawing', async () => {
    start('pipe', `node ${BIN} watch --db ${store.path} | cat`, 160, 20);
    start('null', `node ${BIN} watch --db ${store.path} </dev/null`, 160, 20);
    const ollama = demoFlows(store).filter((f) => f.ollama).length;
    for (const t of ['pipe', 'null']) {
      const text = await waitFor(t, (s) => s.split('\n').filter((l) => / session 1 ENDED · /.test(l)).length >= 2, `two summary lines in ${t}`);
      expect(text).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ session 1 ENDED · TRAFFIC: .* · ${ollama} Ollama flows · claims: `, 'm'));
      expect(text).not.toMatch(/\[ENDED\]|\x1b/);
    }
    expect(existsSync(store.path)).toBe(true);
  }, 60_000);

  it('NO_COLOR draws without any color or reverse video (mapped before ink loads); without it, colors', async () => {
    start('plain', `NO_COLOR=1 node ${BIN} watch --db ${store.path}`, 120, 30);
    start('color', `node ${BIN} watch --db ${store.path}`, 120, 30);
    for (const t of ['plain', 'color']) await waitFor(t, (s) => /rows · sort/.test(s), `the first frame in ${t}`);
    const sgr = (t: string) => tmux('capture-pane', '-e', '-p', '-t', t).match(/\x1b\[[0-9;]*m/g) ?? [];
    expect(sgr('plain')).toEqual([]);
    expect(sgr('color').length).toBeGreaterThan(0);
    expect(pane('plain').split('\n').filter((l) => l.startsWith('> '))).toHaveLength(1);
  }, 60_000);

  it('`demo --watch </dev/null`: the bundled capture replayed as summary lines, LIVE then ENDED; it ends by itself, exit 0', async () => {
    const { spawn } = await import('node:child_process');
    const kid = spawn(process.execPath, [BIN, 'demo', '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    kid.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => kid.once('exit', (code) => r(code)));
    expect(await exited).toBe(0);
    const ollama = demoFlows(store).filter((f) => f.ollama).length;
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/ session \d+ LIVE · /);
    expect(lines[lines.length - 1]).toMatch(new RegExp(` session \\d+ ENDED · .* · ${ollama} Ollama flows · claims: `));
  }, 60_000);
});
