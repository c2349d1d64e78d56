/**
 * The dashboard's screens (issue #11): renderToString goldens at 80, 120 and 160 columns of a real
 * import of the demo capture, checked also against the scenario's facts (which flows are Ollama's,
 * the CDN name, every claim's verdict as `claims --json` gives it), the frame's height (rows−1),
 * line widths, NO_COLOR, the too-small line; and interaction through ink-testing-library with an
 * injected clock and data source: Tab, filter, Enter, pause, quit.
 */
import { createElement as h } from 'react';
import { renderToString } from 'ink';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopSource, type LoopSource } from '../../src/watch/data/loop-source.js';
import type { Frame, FrameQuery } from '../../src/watch/data/frame.js';
import { Screen } from '../../src/watch/ui/screen.js';
import { WatchApp } from '../../src/watch/ui/app.js';
import { initialUiState, frameQueryOf } from '../../src/watch/state/ui-state.js';
import { layoutOf } from '../../src/watch/ui/layout.js';
import { claimsReport } from '../../src/claims/evaluate.js';
import { openDb } from '../../src/store/open-db.js';
import { demoFlows, demoStore, type DemoStore } from './demo-store.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { itNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkColumns } from '../helpers/tshark.js';

const NOW = Date.UTC(2026, 10, 23, 7, 45, 0);
let store: DemoStore;
beforeAll(async () => { store = await demoStore(); });
afterAll(() => store.remove());

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function source(): LoopSource {
  return loopSource({ dbPath: store.path, clock: () => NOW, outDir: store.dir, claimsEveryMs: 0 });
}

/** A frame for the choices at a terminal size; the store's temporary path is replaced by its name. */
function frameFor(columns: number, rows: number, ui = initialUiState(true)): Frame {
  const src = source();
  let frame: Frame | null = null;
  src.onFrame((f) => { frame = f; });
  const probe = layoutOf(columns, rows, 13)!;
  src.query(frameQueryOf(ui, probe.tableRows) as FrameQuery);
  void src.close();
  const f = frame!;
  return { ...f, header: { ...f.header, source: f.header.source.replace(store.path, 'audit.db') } };
}

function screen(columns: number, rows: number, ui = initialUiState(true), noColor = false): string {
  return renderToString(h(Screen, { frame: frameFor(columns, rows, ui), ui, columns, rows, noColor, notice: null }), { columns });
}

describe('drawn in place, frame after frame', () => {
  it("no line's text goes into ink's measure cache (ink 6.8 never empties it), and each line is still one line of the width", () => {
    // ink-testing-library's terminal is 100 columns wide; the dashboard draws at the terminal's width.
    const ui = initialUiState(true);
    const frame = frameFor(100, 40, ui);
    // ink's measure-text.js keeps each text it measures in a module Map as {width, height}, forever:
    // catch what goes in through Map.prototype.set while the dashboard's frames are drawn.
    const measured: string[] = [];
    const set = Map.prototype.set;
    Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
      if (typeof k === 'string' && typeof v === 'object' && v !== null && 'width' in v && 'height' in v) measured.push(k);
      return set.call(this, k, v);
    } as typeof set;
    let last = '';
    try {
      const draw = (i: number) => h(Screen, { frame: { ...frame, nowMs: NOW + i * 1000 }, ui, columns: 100, rows: 40, noColor: false, notice: `notice number ${i}` });
      const app = render(draw(0));
      for (let i = 1; i <= 30; i++) app.rerender(draw(i));
      last = app.lastFrame() ?? '';
      app.unmount();
    } finally {
      Map.prototype.set = set;
    }
    // The spy sees ink's cache (the blank each line is laid out as), and no line of any frame.
    expect(measured).toContain(' '.repeat(100));
    expect(measured.filter((t) => t.includes('notice number') || t.includes('UTC') || t.includes('PROCESS'))).toEqual([]);
    const lines = strip(last).split('\n');
    expect(lines).toHaveLength(39);
    expect(lines.at(-1)).toBe('notice number 30');
    expect(lines[0]).toContain(new Date(NOW + 30_000).toISOString().slice(11, 19));
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
    expect(lines.filter((l) => l.includes('blob-down')).length).toBeGreaterThan(0);
  });

  it('a line with a wide character (a process name in CJK) is cut by ink to the width, as before', () => {
    const ui = initialUiState(true);
    const frame = frameFor(100, 40, ui);
    const wide = '漢'.repeat(80);
    const app = render(h(Screen, { frame, ui, columns: 100, rows: 40, noColor: true, notice: wide }));
    const last = strip(app.lastFrame() ?? '').split('\n');
    app.unmount();
    expect(last).toHaveLength(39);
    // 80 double-width characters are 160 cells: ink cut the line (it did not wrap: still 39 lines).
    expect(last.at(-1)).toMatch(/^漢{40,50}…$/);
  });
});

describe('goldens', () => {
  for (const [columns, rows] of [[80, 24], [120, 40], [160, 40]] as const) {
    it(`${columns}×${rows}: rows−1 lines, none wider than the terminal, the scenario's flows and verdicts`, async () => {
      const out = strip(screen(columns, rows));
      const lines = out.split('\n');
      expect(lines).toHaveLength(rows - 1);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(columns);
      expect(lines[0]).toMatch(/^\[ENDED\] 07:45:00 UTC │ session 1 │ import ollama-pull\.pcapng · store/);
      // The Ollama tree's flows (Flows view, default scope) and nobody else's: curl's example.org is absent.
      const flows = demoFlows(store);
      expect(out).toContain(columns >= 120 ? 'dd20bb891979d25aebc8bec07b2b3bbc' : 'dd20bb8919');
      expect(out).not.toContain('example.org');
      expect(out).toMatch(new RegExp(`${flows.filter((f) => f.ollama).length} rows`));
      // Claims as the claims engine judges the store.
      const db = openDb(store.path, { readonly: true });
      const verdicts = claimsReport(db).claims;
      db.close();
      const shown = layoutOf(columns, rows, verdicts.length)!.claimLines;
      for (const c of verdicts.slice(0, shown === verdicts.length ? shown : shown - 1)) {
        expect(lines.some((l) => l.includes(c.verdict.toUpperCase()) && l.includes(c.id.slice(0, 30)))).toBe(true);
      }
      await expect(out).toMatchFileSnapshot(`golden/flows-${columns}x${rows}.txt`);
    });
  }

  it('NO_COLOR: no escape sequence at all, and the selected row is marked with ">"', () => {
    const out = screen(120, 40, initialUiState(true), true);
    expect(out).not.toMatch(/\x1b/);
    expect(out.split('\n').filter((l) => l.startsWith('> '))).toHaveLength(1);
  });

  it('below 80×24 one line says the terminal is too small', () => {
    const out = renderToString(h(Screen, { frame: null, ui: initialUiState(), columns: 70, rows: 20, noColor: true, notice: null }), { columns: 70 });
    expect(out.split('\n')).toHaveLength(1);
    expect(out).toMatch(/terminal too small: 70×20; watch needs at least 80×24/);
  });

  it('the other views: hosts add up, activities, claims with evidence, coverage, API clients with the requests curl made', async () => {
    const ui = (view: 'hosts' | 'activities' | 'claims' | 'coverage' | 'api') => ({ ...initialUiState(true), view, all: true });
    const hosts = strip(screen(160, 40, ui('hosts')));
    expect(hosts).toMatch(/registry\.ollama\.ai\s+3\s+/);
    const acts = strip(screen(160, 40, ui('activities')));
    expect(acts).toMatch(/blob-download\s+1\s+1\s/);
    const claims = strip(screen(160, 40, ui('claims')));
    expect(claims).toMatch(/VIOLATED\s+airgap-ollama-silent\s+#\d+ #\d+ #\d+ #\d+ \+2 +6 matching flows/);
    const cov = strip(screen(160, 40, ui('coverage')));
    expect(cov).toMatch(/packets captured: \d+/);
    const api = strip(screen(160, 40, ui('api')));
    for (const path of ['/api/pull', '/api/generate']) expect(api).toContain(path);
    // fixtures/make/pull.sh: curl -d '{"model":"tinyllama"}' .../api/pull; /api/tags names no model.
    expect(api).toMatch(/loopback .*curl\[\d+\].*POST \/api\/pull +tinyllama +caused #\d+ dns/);
    expect(api).toMatch(/GET \/api\/tags +— /);
    for (const [name, text] of [['hosts', hosts], ['activities', acts], ['claims', claims], ['coverage', cov], ['api', api]]) {
      await expect(text).toMatchFileSnapshot(`golden/${name}-160x40.txt`);
    }
  });
});

describe('bad input', () => {
  it('a --session the store does not hold, or a --db that is not a store: one line, exit 2', async () => {
    const r = await runCli('watch', '--db', store.path, '--session', '99', '--once');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: no session 99 in the store: `ollama-audit sessions --db .*` lists the valid ones\n$/);
    expect(r.stdout).toBe('');
    const missing = await runCli('watch', '--db', join(store.dir, 'nope.db'), '--once');
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')).toHaveLength(2);
    expect(missing.stderr).toMatch(/no database at/);
  });

  it('capture options with --db (they would be ignored), and --metrics (watch serves none): one line, exit 2, nothing drawn', async () => {
    const r = await runCli('watch', '--db', store.path, '--once', '-i', 'lo', '--filter', 'tcp');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: --interface, --filter: for capturing in-process; with --db watch only reads the store .*: drop them\n$/);
    expect(r.stdout).toBe('');
    const metrics = await runCli('watch', '--db', store.path, '--once', '--metrics', '9464');
    expect(metrics.code).toBe(2);
    expect(metrics.stderr).toMatch(/^ollama-audit: --metrics: watch serves no metrics/);
    // The options watch itself reads are no capture options.
    expect((await runCli('watch', '--db', store.path, '--once', '--json', '--session', String(store.sessionId))).code).toBe(0);
  });
});

describe('e and r', () => {
  itNeeding(['tshark'], '`e` writes the flow\'s packets as pcapng (tshark counts the flow\'s packets); `r` a report folder of the session', async () => {
    const src = source();
    try {
      const cdn = demoFlows(store).find((f) => f.activity === 'blob-download')!;
      const said = await src.exportEvidence(cdn.id);
      const path = /in (\S+\.pcapng)/.exec(said)![1];
      const frames = tsharkColumns(path, ['frame.number']);
      expect(frames).toHaveLength(cdn.packets_out + cdn.packets_in);
      expect(said).toContain(`${frames.length} packet(s)`);
      const again = await src.exportEvidence(cdn.id);
      expect(again).not.toBe(said); // a new name, never over the first file
      const report = await src.writeReport();
      const folder = /written to (\S+)$/.exec(report)![1];
      for (const f of ['report.md', 'report.html', 'report.json', 'manifest.json']) expect(existsSync(join(folder, f))).toBe(true);
      expect(readFileSync(join(folder, 'report.json'), 'utf8')).toContain('"session_id": 1');
    } finally {
      await src.close();
    }
  });
});

const tick = (ms = 120) => new Promise((r) => setTimeout(r, ms));

describe('interaction (ink-testing-library, injected clock and data source)', () => {
  it('Tab, / filter, Enter detail, Esc, Space pause, q quit', async () => {
    const src = source();
    let quit = 0;
    const app = render(h(WatchApp, { source: src, noColor: true, closed: true, onQuit: () => { quit++; } }));
    try {
      await tick();
      const frame = () => strip(app.lastFrame() ?? '');
      expect(frame()).toContain('[1 Flows]');
      app.stdin.write('\t');
      await tick();
      expect(frame()).toContain('[2 Hosts]');
      expect(frame()).toMatch(/HOST\s+FLOWS/);
      app.stdin.write('1');
      await tick();
      app.stdin.write('/');
      await tick();
      for (const c of 'registry') app.stdin.write(c);
      await tick();
      expect(frame()).toContain('/registry█');
      app.stdin.write('\r');
      await tick();
      const rows = frame().split('\n').filter((l) => /^[> ] +\d+ /.test(l));
      // The Ollama tree's registry flows: ollama's own (curl's and openssl's are other programs).
      const want = demoFlows(store).filter((f) => f.ollama && (f.hostname ?? '').includes('registry'));
      expect(rows).toHaveLength(want.length);
      expect(frame()).toContain('filter registry');
      app.stdin.write('\r');
      await tick();
      expect(frame()).toMatch(/Detail \(Esc back/);
      // A finished import has no rates: ties sort newest first, so the selected row is the highest id.
      const selected = want.reduce((a, b) => (b.id > a.id ? b : a));
      expect(frame()).toMatch(new RegExp(`flow #${selected.id} tcp`));
      expect(frame()).toContain(`process (initiator's end): ${selected.process!.name}[${selected.process!.pid}]`);
      app.stdin.write('\x1b');
      await tick(80);
      expect(frame()).not.toContain('Detail (Esc back');
      app.stdin.write(' ');
      await tick();
      expect(frame()).toContain('[PAUSED]');
      app.stdin.write('q');
      await tick();
      expect(quit).toBe(1);
    } finally {
      app.unmount();
      await src.close();
    }
  });
});
