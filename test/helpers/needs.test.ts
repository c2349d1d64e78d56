/**
 * The run-or-skip rule itself: one helper (needs.ts) decides for every test file, and a file whose
 * programs are missing skips with a one-line reason, or fails under CI=true. The second part runs
 * vitest on the live verify suite (root, namespaces, ping, tshark...) with a PATH that holds only
 * `sh`, so the answer does not depend on what this machine has installed. Before the helper, that
 * suite ran as root without `ping` and crashed in its setup (`exec of "ping" failed`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const HERE = relative(REPO, import.meta.filename);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mjs|js)$/.test(name) ? [p] : [];
  });
}

describe('one run-or-skip rule', () => {
  it('no test file has its own CI rule, tool lookup or skip condition (test/helpers/needs.ts decides)', () => {
    const own = /process\.env\.CI\b|command -v|\b(describe|it|test)\.(skip|skipIf|runIf)\b/;
    const offenders = sources(join(REPO, 'test'))
      .map((f) => relative(REPO, f))
      .filter((f) => f !== 'test/helpers/needs.ts' && f !== HERE)
      .filter((f) => own.test(readFileSync(join(REPO, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

describe('a suite whose programs are missing', () => {
  const bin = mkdtempSync(join(tmpdir(), 'oa-needs-bin-'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  /** vitest on the verify suite with PATH = only sh; a clean environment apart from CI. */
  function runVerifySuite(ci: string | undefined) {
    const env: Record<string, string> = { PATH: bin, HOME: process.env.HOME ?? '/root' };
    if (ci !== undefined) env.CI = ci;
    return spawnSync(process.execPath, [join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', 'test/live/verify/verify.test.ts', '--reporter=verbose'],
      { cwd: REPO, env, encoding: 'utf8', timeout: 120_000 });
  }

  it('skips with a one-line reason naming them when CI is not exactly "true"', () => {
    for (const ci of [undefined, '1']) {
      const r = runVerifySuite(ci);
      const out = r.stdout + r.stderr;
      expect(r.status, out).toBe(0);
      expect(out).toMatch(/verify live in network namespaces \(skipped: [^\n]*ping is not installed[^\n]*\)/);
      expect(out).not.toMatch(/exec of|ENOENT/);
    }
  }, 240_000);

  it('fails, saying what is missing, under CI=true', () => {
    const r = runVerifySuite('true');
    const out = r.stdout + r.stderr;
    expect(r.status, out).not.toBe(0);
    expect(out).toMatch(/CI=true requires this test to run, but: [^\n]*ping is not installed/);
  }, 120_000);
});
