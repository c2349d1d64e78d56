/**
 * The dashboard's shortcut through ink's screen output (src/watch/ui/ink-output.ts): every frame
 * drawn, in every view, in color and in NO_COLOR, with the selected row, the help, the detail and
 * the filter line, is byte for byte what ink's own Output.get() makes of the same tree; the plain
 * lines skip ink's per-cell pass (the cost the shortcut exists for), a line with a wide character
 * does not and is still cut by ink.
 */
import { createElement as h } from 'react';
import { render as inkRender, renderToString } from 'ink';
import { render } from 'ink-testing-library';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { Writable, PassThrough } from 'node:stream';
import { loopSource } from '../../src/watch/data/loop-source.js';
import type { Frame, FrameQuery } from '../../src/watch/data/frame.js';
import { Screen } from '../../src/watch/ui/screen.js';
import { inkOutputRows } from '../../src/watch/ui/ink-output.js';
import { initialUiState, frameQueryOf, type UiState } from '../../src/watch/state/ui-state.js';
import { layoutOf } from '../../src/watch/ui/layout.js';
import { demoStore, type DemoStore } from './demo-store.js';

const NOW = Date.UTC(2026, 10, 23, 7, 45, 0);
let store: DemoStore;
beforeAll(async () => { store = await demoStore(); });
afterAll(() => store.remove());

interface OutputLike { operations: { type: string }[]; get(): { output: string; height: number } }
const inkMain = createRequire(import.meta.url).resolve('ink');
const { default: Output } = (await import(pathToFileURL(join(dirname(inkMain), 'output.js')).href)) as { default: { prototype: OutputLike } };
// ink's colors (chalk, as ink resolves it): on, as in a terminal (vitest's output is not one).
const { default: chalk } = (await import(pathToFileURL(createRequire(inkMain).resolve('chalk')).href)) as { default: { level: number } };
const chalkLevel = chalk.level;
beforeAll(() => { chalk.level = 3; });
afterAll(() => { chalk.level = chalkLevel; });

/**
 * Every screen ink makes while installed: the shortcut's text and ink's own for the same tree
 * (a clip around it sends get() down ink's own path, as any tree the shortcut does not handle).
 */
let compared: { fast: string; ink: string }[] = [];
const fastGet = Output.prototype.get;
beforeEach(() => {
  compared = [];
  Output.prototype.get = function (this: OutputLike) {
    const fast = fastGet.call(this);
    this.operations.unshift({ type: 'clip', clip: {} } as { type: string });
    this.operations.push({ type: 'unclip' });
    const own = fastGet.call(this);
    this.operations.shift();
    this.operations.pop();
    compared.push({ fast: fast.output, ink: own.output });
    expect(fast.height).toBe(own.height);
    return fast;
  };
});
afterEach(() => { Output.prototype.get = fastGet; });

function frameFor(columns: number, rows: number, ui: UiState): Frame {
  const src = loopSource({ dbPath: store.path, clock: () => NOW, outDir: store.dir, claimsEveryMs: 0 });
  let frame: Frame | null = null;
  src.onFrame((f) => { frame = f; });
  src.query(frameQueryOf(ui, layoutOf(columns, rows, 13)!.tableRows) as FrameQuery);
  if (ui.detail !== null) src.query(frameQueryOf(ui, layoutOf(columns, rows, 13)!.tableRows) as FrameQuery);
  void src.close();
  return frame!;
}

it("every screen, in every view and state, color or not, is byte for byte ink's own; the plain lines skip ink's per-cell pass", () => {
  const base = initialUiState(true);
  const flowId = frameFor(120, 40, base).list.rows.length > 0 ? (frameFor(120, 40, base).list.rows[0] as { id: number }).id : null;
  const states: UiState[] = [
    base, { ...base, cursor: 2 }, { ...base, paused: true }, { ...base, help: true }, { ...base, editing: 'host:regi' },
    { ...base, all: true, totals: true, addresses: true }, { ...base, detail: flowId },
    ...(['hosts', 'activities', 'claims', 'coverage', 'api'] as const).map((view) => ({ ...base, view, all: true, cursor: 1 })),
  ];
  const before = { ...inkOutputRows };
  let drawn = 0;
  for (const [columns, rows] of [[80, 24], [120, 40], [160, 40]] as const) {
    for (const ui of states) {
      const frame = frameFor(columns, rows, ui);
      for (const noColor of [false, true]) {
        for (const notice of [null, 'wrote /tmp/x.pcapng']) {
          renderToString(h(Screen, { frame, ui, columns, rows, noColor, notice }), { columns });
          drawn += rows - 1;
        }
      }
    }
  }
  expect(compared.length).toBe(3 * states.length * 4);
  for (const c of compared) expect(c.fast).toBe(c.ink);
  // Color and reverse video are in what was compared.
  expect(compared.some((c) => c.ink.includes('\x1b[7m'))).toBe(true);
  expect(compared.some((c) => /\x1b\[3\dm/.test(c.ink))).toBe(true);
  // Every row of these screens (ASCII and the screen's own one-cell marks) took the shortcut.
  expect(inkOutputRows.cells - before.cells).toBe(0);
  expect(inkOutputRows.fast - before.fast).toBe(drawn);
});

it("drawn in place frame after frame (as the dashboard does), each screen is ink's own", () => {
  const ui = initialUiState(true);
  const frame = frameFor(120, 40, ui);
  let written = '';
  const stdout = Object.assign(new Writable({ write(c, _e, done) { written += String(c); done(); } }), { isTTY: true, columns: 120, rows: 40 });
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  const draw = (i: number) => h(Screen, { frame: { ...frame, nowMs: NOW + i * 1000 }, ui: { ...ui, cursor: i % 5 }, columns: 120, rows: 40, noColor: false, notice: `notice ${i}` });
  const app = inkRender(draw(0), { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, exitOnCtrlC: false, patchConsole: false, debug: true });
  for (let i = 1; i <= 10; i++) app.rerender(draw(i));
  app.unmount();
  expect(compared.length).toBeGreaterThanOrEqual(11);
  for (const c of compared) expect(c.fast).toBe(c.ink);
  expect(written).toContain('notice 10');
  expect(written).toContain(new Date(NOW + 10_000).toISOString().slice(11, 19));
});

it('a line with a wide character goes through ink\'s cells (and is cut by ink), the others still do not', () => {
  const ui = initialUiState(true);
  const frame = frameFor(100, 40, ui);
  const before = { ...inkOutputRows };
  const app = render(h(Screen, { frame, ui, columns: 100, rows: 40, noColor: false, notice: '漢'.repeat(80) }));
  const last = (app.lastFrame() ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  app.unmount();
  for (const c of compared) expect(c.fast).toBe(c.ink);
  expect(last).toHaveLength(39);
  expect(last.at(-1)).toMatch(/^漢{40,50}…$/);
  expect(inkOutputRows.cells - before.cells).toBe(compared.length);
  expect(inkOutputRows.fast - before.fast).toBe(compared.length * 38);
});
