/**
 * V8's own record of what it compiled in one import: `node --trace-opt --trace-deopt` of
 * bin/ollama-audit.js (dist/), compiles made on the thread that asks for them
 * (--no-concurrent-recompilation), so what is compiled, and when, does not depend on the load.
 * For tests that assert a function is compiled once and never thrown away (Node 20's V8 11 format).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

/**
 * V8's lines about one function: its finished optimizing compiles (TurboFan's: Node 20's V8 has no
 * other optimizing tier on by default) and its deopts (with their reasons).
 */
export function traceOf(lines: string[], fn: string) {
  const about = lines.filter((l) => l.includes(`<JSFunction ${fn} `));
  return {
    compiles: about.filter((l) => l.startsWith('[completed compiling') && l.includes('(target TURBOFAN)')).length,
    deopts: about.filter((l) => l.startsWith('[bailout')).map((l) => /reason: ([^)]*)\)/.exec(l)?.[1] ?? l),
  };
}

/** Code of `fn` thrown away because something it was compiled on changed (no bailout line of its own). */
export function dependencyDeopts(lines: string[], fn: string): string[] {
  return lines.filter((l) => l.startsWith('[marking dependent code') && l.includes(`<SharedFunctionInfo ${fn}>`));
}

/** The lines of one traced import of `file` into a new store `db` (its JSON summary among them). */
export function tracedImport(file: string, db: string): string[] {
  const r = spawnSync(process.execPath, [
    '--no-concurrent-recompilation', '--trace-opt', '--trace-deopt',
    join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js'), 'import', file, '--db', db, '--json',
  ], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n');
}
