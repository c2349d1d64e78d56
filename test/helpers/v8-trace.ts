/**
 * V8's own record of what it compiled in one import: `node --trace-opt --trace-deopt` of
 * bin/ollama-audit.js (dist/), compiles made on the thread that asks for them
 * (--no-concurrent-recompilation), so what is compiled, and when, does not depend on the load.
 * For tests that assert a function is compiled once and never thrown away (Node 20's V8 11 format).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { generate } from '../../bench/generate-capture.mjs';

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

/**
 * The trace of one import of a capture bench/generate-capture.mjs makes (`packets`, `flows`), made at
 * the first call and kept for the test file's other tests; its folder goes when the file's tests end.
 * Call at a test file's top level.
 */
export function generatedImportTrace(packets: number, flows: number): () => string[] {
  const dir = mkdtempSync(join(tmpdir(), 'oa-v8-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let lines: string[] | undefined;
  return () => {
    if (lines !== undefined) return lines;
    const file = join(dir, 'gen.pcap');
    const w = createPcapWriter(file, { linktype: 1, snaplen: 262144 });
    generate(w, { packets, flows });
    w.close();
    const traced = tracedImport(file, join(dir, 'x.db'));
    rmSync(file);
    // The import itself ran: its summary is among V8's lines.
    expect(traced).toContain(`    "flows": ${flows},`);
    lines = traced;
    return lines;
  };
}
