/**
 * A claims file is input from a user (or from whoever could write the path): it must not hang the
 * auditor, eat its memory, or make claims evaluation unbounded. Each case runs the built CLI in a
 * child with a deadline, because the old failure modes were a blocked thread (a FIFO) and a
 * synchronous read that grew without bound (/dev/zero): an in-process test could not be stopped.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readClaimsFile } from '../../src/claims/claim-schema.js';
import { DEFAULTS } from '../../src/settings.js';

const CLAIMS_FILE_LIMITS = DEFAULTS.claimsFile;
import { tmp } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');

function cliClaims(claimsFile: string): { status: number | null; stderr: string; ms: number } {
  if (!existsSync(join(root, 'dist', 'commands', 'cli.js'))) throw new Error('dist/ missing: run npm run build (npm install does it)');
  const db = join(tmp('limits-db'), 'a.db');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', join(root, 'bin', 'ollama-audit.js'), 'claims', '--db', db, '--claims-file', claimsFile], {
    encoding: 'utf8', timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

function oneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe('claims files that would hang or exhaust the auditor', () => {
  it('a FIFO is refused at once, not waited on', () => {
    const fifo = join(tmp('fifo'), 'claims.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = cliClaims(fifo);
    oneLineError(r, /not a regular file/);
    expect(r.ms).toBeLessThan(15_000);
  });

  it('/dev/zero is refused (a device, not a file)', () => {
    oneLineError(cliClaims('/dev/zero'), /\/dev\/zero: the claims file is not a regular file/);
  });

  it('a file over the size limit is refused before it is parsed', () => {
    const big = join(tmp('big'), 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(CLAIMS_FILE_LIMITS.bytes)}\n[]\n`);
    oneLineError(cliClaims(big), /more than the 1048576 allowed/);
  });

  it('YAML aliases beyond the limit are refused (each expands to a copy of a large node)', () => {
    // 25 aliases of a 20,000-item list: under yaml's own default of 100, so only our limit stops it.
    const lines = [`big: &big [${Array(20_000).fill('x').join(',')}]`, 'copies:'];
    for (let i = 0; i < 25; i++) lines.push('  - *big');
    lines.push('claims: []');
    const f = join(tmp('laughs'), 'laughs.yaml');
    writeFileSync(f, lines.join('\n'));
    const r = cliClaims(f);
    oneLineError(r, /not valid YAML or JSON: .*alias/i);
    expect(r.ms).toBeLessThan(15_000);
  });
});

describe('claims files that ask for unbounded matching work', () => {
  const write = (name: string, data: unknown) => {
    const p = join(tmp('work'), name);
    writeFileSync(p, JSON.stringify(data));
    return p;
  };
  const rule = (id: string, match: unknown) => ({ id, title: 't', scope: 'host', match, expect: 'never' });

  it('too many claims', () => {
    const many = Array.from({ length: CLAIMS_FILE_LIMITS.claims + 1 }, (_, i) => rule(`c${i}`, { port: [1] }));
    expect(() => readClaimsFile(write('many.json', many))).toThrow(/201 claims, more than the 200 allowed/);
  });

  it('a list longer than the limit', () => {
    const ports = Array.from({ length: CLAIMS_FILE_LIMITS.listItems + 1 }, (_, i) => i + 1);
    expect(() => readClaimsFile(write('ports.json', [rule('p', { port: ports })]))).toThrow(/field "match.port": 257 entries/);
  });

  it('too many match entries across the file', () => {
    const hosts = Array.from({ length: 250 }, (_, i) => `h${i}.example`);
    const claims = Array.from({ length: 9 }, (_, i) => rule(`h${i}`, { hostname: hosts }));
    expect(() => readClaimsFile(write('hosts.json', claims))).toThrow(/2250 match entries in all, more than the 2000 allowed/);
  });

  it('"not" nested too deep', () => {
    let m: Record<string, unknown> = { port: [1] };
    for (let i = 0; i < 6; i++) m = { not: m };
    expect(() => readClaimsFile(write('deep.json', [rule('d', m)]))).toThrow(/nested more than 4 deep/);
  });

  it('a file within every limit still reads', () => {
    const ports = Array.from({ length: CLAIMS_FILE_LIMITS.listItems }, (_, i) => i + 1);
    expect(readClaimsFile(write('ok.json', [rule('ok', { port: ports, not: { not: { port: [2] } } })]))[0].match.port).toHaveLength(256);
  });
});
