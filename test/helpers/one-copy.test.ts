/**
 * Test helpers exist once: tshark's fields are read only through test/helpers/tshark.ts
 * (tsharkFields / tsharkColumns) and seeded randomness comes only from
 * test/helpers/seeded-random.ts. A second copy drifts (a different aggregator, a dropped empty
 * row, another generator) and the oracle tests stop agreeing on what they check.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const TEST = resolve(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? testFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Files outside `owner` whose code matches `pattern`. */
function copiesOutside(owner: string, pattern: RegExp): string[] {
  return testFiles(TEST).map((p) => relative(TEST, p))
    .filter((rel) => rel !== owner && rel !== 'helpers/one-copy.test.ts')
    .filter((rel) => pattern.test(readFileSync(join(TEST, rel), 'utf8')));
}

it('tshark fields are read through test/helpers/tshark.ts only', () => {
  expect(copiesOutside('helpers/tshark.ts', /['"]-T['"],\s*['"]fields['"]/)).toEqual([]);
});

it('seeded pseudo-random numbers come from test/helpers/seeded-random.ts only', () => {
  // mulberry32's multiply, or xorshift's shifts (x ^= x << 13), written again elsewhere.
  expect(copiesOutside('helpers/seeded-random.ts', /Math\.imul\(|\^=\s*\w+\s*<<\s*13/)).toEqual([]);
});
