/**
 * What the dashboard holds in memory before it shows anything (issue #11: ≤ 150 MB at 50,000 flows;
 * bench/RESULTS.md "watch", 2026-12-01): the modules each of its two threads loads, and the UI
 * thread's young generation. Read from the compiled dist/ that bin/ollama-audit.js runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { honoursSmallYoungGrowth, keepYoungGenerationSmall } from '../../src/watch/ui-heap.js';

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
});
