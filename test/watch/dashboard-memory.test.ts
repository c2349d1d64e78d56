/**
 * What the dashboard holds in memory before it shows anything (issue #11: ≤ 150 MB at 50,000 flows;
 * bench/RESULTS.md "watch", 2026-12-01): the modules each of its two threads loads, and the UI
 * thread's young generation. Read from the compiled dist/ that bin/ollama-audit.js runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { RECORD_RESOLVED, resolvedUrls } from '../helpers/loaded-modules.js';
import { honoursSmallYoungGrowth, keepYoungGenerationSmall } from '../../src/watch/ui-heap.js';
import { demoStore, type DemoStore } from './demo-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = resolve(ROOT, 'dist');

/**
 * Every file of dist/ that loading `entries` loads: their static imports (`import … from './x.js'`,
 * `export … from`), followed through our own files. A dynamic import() is what loads a module
 * only when it is needed, so it is not followed.
 */
function staticallyLoaded(...entries: string[]): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'|^\s*import\s+'(\.{1,2}\/[^']+)'/gm)) {
      walk(resolve(dirname(file), m[1] ?? m[2]));
    }
  };
  for (const e of entries) walk(resolve(DIST, e));
  return [...seen].map((f) => relative(DIST, f));
}

/** What the data thread and the lines/once modes need, and the UI thread must not load. */
const NOT_ON_THE_UI_THREAD = ['live/engine.js', 'pipeline/', 'watch/data/store-poller.js', 'watch/data/loop-source.js', 'claims/evaluate.js', 'report/'];
/** What `e` and `r` need (loaded on the first such key). */
const WRITERS = ['watch/data/outputs.js', 'report/write-report.js', 'report/evidence-file.js'];

describeNeeding(['dist'], "the dashboard's memory", () => {
  it("the UI thread loads the CLI, `watch`'s command and the screen, not the capture engine, the store reader or the claims engine", () => {
    // What `watch --db` on a terminal loads on its main thread: the CLI (cli.js registers every
    // command), watch-command.js, run-modes.js, then what runDashboard imports (ui/app.js) and the
    // data thread's handle (thread-source.js).
    const ui = staticallyLoaded('commands/cli.js', 'commands/watch-command.js', 'watch/run-modes.js', 'watch/ui/app.js', 'watch/data/thread-source.js');
    expect(ui).toContain('watch/ui/screen.js');
    expect(ui).toContain('watch/ui-heap.js');
    for (const m of NOT_ON_THE_UI_THREAD) expect(ui.filter((f) => f.startsWith(m)), m).toEqual([]);
  });

  it('the data thread loads the store reader and the claims engine, and the evidence and report writers only on a key', () => {
    const data = staticallyLoaded('watch/data/store-thread.js');
    expect(data).toContain('watch/data/store-poller.js');
    expect(data).toContain('claims/evaluate.js');
    for (const m of WRITERS) expect(data, m).not.toContain(m);
    // …and they are there when asked for.
    expect(staticallyLoaded('watch/data/outputs.js')).toEqual(expect.arrayContaining(WRITERS));
  });

  it("the UI thread's young generation stays at its size while ink, React and the screen load and objects survive (V8 doubled it up to 16 MB)", () => {
    /** A child that loads what the dashboard's UI thread loads, keeps 400,000 objects, and prints its young generation's size (MB). */
    const youngMb = (keepSmall: boolean) => Number(execFileSync(process.execPath, ['--input-type=module', '-e', `
      import { getHeapSpaceStatistics } from 'node:v8';
      ${keepSmall ? `(await import(${JSON.stringify(resolve(DIST, 'watch/ui-heap.js'))})).keepYoungGenerationSmall();` : ''}
      process.env.NODE_ENV = 'production';
      await import('react'); await import('ink'); await import(${JSON.stringify(resolve(DIST, 'watch/ui/app.js'))});
      const kept = [];
      for (let i = 0; i < 400000; i++) kept.push({ i, s: 'x' + i });
      const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(young.space_size / 1048576 + kept.length * 0));
    `], { cwd: ROOT, encoding: 'utf8' }));
    const grown = youngMb(false);
    const kept = youngMb(true);
    // On a V8 that forces the factor back to 2 the flag is not set (below): nothing to measure.
    if (!honoursSmallYoungGrowth(process.versions.v8)) return expect(kept).toBeGreaterThanOrEqual(8);
    // Without it V8 grows the space as objects survive (the control: this test can fail).
    expect(grown).toBeGreaterThanOrEqual(8);
    expect(kept).toBeLessThanOrEqual(4);
  });

  it('keeping the young generation small prints nothing and throws nothing, and is left to V8 where V8 would undo it (V8 ≥ 13)', () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const applied = (await import(${JSON.stringify(resolve(DIST, 'watch/ui-heap.js'))})).keepYoungGenerationSmall();
      process.stdout.write(String(applied));
    `], { cwd: ROOT, encoding: 'utf8' });
    expect(child.status).toBe(0);
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe(String(honoursSmallYoungGrowth(process.versions.v8)));
    // The versions Node 20, 22 and 24 ship, and what newer or odd ones get.
    expect(honoursSmallYoungGrowth('11.3.244.8-node.38')).toBe(true);
    expect(honoursSmallYoungGrowth('12.4.254.21-node.33')).toBe(true);
    expect(honoursSmallYoungGrowth('13.6.233.10-node.24')).toBe(false);
    expect(honoursSmallYoungGrowth('14.1.0')).toBe(false);
    expect(honoursSmallYoungGrowth('')).toBe(false);
    expect(keepYoungGenerationSmall('13.6.233.10-node.24')).toBe(false);
  });

  describe_dashboard();
});

/**
 * The real dashboard (run-modes.ts runDashboard, from dist/) in a child node on a store of the demo
 * import, drawing to a 120×40 stand-in terminal until its first screen, then keeping 400,000 objects
 * on its UI thread, then `q`. Every module URL the child resolves is recorded by a resolve hook
 * (test/helpers/loaded-modules.ts, registered only in this child).
 */
const DASHBOARD_CHILD = `
import { PassThrough, Writable } from 'node:stream';
import { getHeapSpaceStatistics } from 'node:v8';
const [dist, db, out] = process.argv.slice(2);
const { runDashboard } = await import(dist + '/watch/run-modes.js');
let screen = '';
const stdout = Object.assign(new Writable({ write(c, e, done) { screen += c; done(); } }), { isTTY: true, columns: 120, rows: 40 });
const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode() { return this; }, ref() { return this; }, unref() { return this; } });
const done = runDashboard({ dbPath: db, outDir: out }, stdout, stdin);
for (let i = 0; i < 1500 && !/rows · sort/.test(screen); i++) await new Promise((r) => setTimeout(r, 20));
const kept = [];
for (let i = 0; i < 400000; i++) kept.push({ i, s: 'x' + i });
const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
stdin.write('q');
await done;
process.stdout.write(JSON.stringify({ drawn: /rows · sort/.test(screen), young, kept: kept.length }) + '\\n');
`;

function describe_dashboard(): void {
  let store: DemoStore;
  let result: { drawn: boolean; young: number; kept: number };
  let resolved: string[];
  beforeAll(async () => {
    store = await demoStore('oawt-mem-');
    const script = join(store.dir, 'dashboard-child.mjs');
    writeFileSync(script, DASHBOARD_CHILD);
    const child = spawnSync(process.execPath, ['--import', RECORD_RESOLVED, script, DIST, store.path, store.dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    result = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
    resolved = resolvedUrls(child.stderr);
  }, 90_000);
  afterAll(() => store?.remove());

  it("the dashboard's UI thread loads ink without es-toolkit's compat barrel (415 modules for ink's one `throttle`)", () => {
    expect(result.drawn).toBe(true);
    // The hook saw the dashboard's modules (ink's own files among them)…
    expect(resolved.some((u) => u.endsWith('/ink/build/components/App.js'))).toBe(true);
    // …and of es-toolkit only throttle's own module and what it imports (load-ink.ts). Fails when
    // ink's use of es-toolkit changes: load-ink.ts then falls back to ink as published.
    const esToolkit = resolved.filter((u) => u.includes('/es-toolkit/'));
    expect(esToolkit.filter((u) => u.endsWith('/es-toolkit/dist/compat/index.mjs'))).toEqual([]);
    expect(esToolkit.length).toBeGreaterThan(0);
    expect(esToolkit.length).toBeLessThanOrEqual(6);
  });

  it("the UI thread's young generation stays small after the data thread starts (a Worker's start puts V8's growth factor back)", () => {
    expect(result.kept).toBe(400_000);
    if (!honoursSmallYoungGrowth(process.versions.v8)) return;
    // Before: 32 MB (the growth factor was 2 again once the data thread ran).
    expect(result.young).toBeLessThanOrEqual(4);
  });
}
