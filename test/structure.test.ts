/**
 * The layout the architecture promises (docs/ARCHITECTURE.md, issue #10's "done when"), checked
 * rather than remembered: the CLI stays thin, SQLite is reached only from src/store/, and nothing
 * outside the CLI reaches up into it.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { filesUnder } from './helpers/files-under.js';

const REPO = join(import.meta.dirname, '..');
const sources = filesUnder(join(REPO, 'src')).filter((f) => f.endsWith('.ts') || f.endsWith('.tsx'));
const rel = (f: string) => relative(REPO, f);
const lineCount = (f: string) => readFileSync(f, 'utf8').replace(/\n$/, '').split('\n').length;

it('no file under src/commands/ is over 150 lines', () => {
  expect(sources.length).toBeGreaterThan(50);
  const long = sources.filter((f) => rel(f).startsWith('src/commands/') && lineCount(f) > 150).map((f) => `${rel(f)}: ${lineCount(f)}`);
  expect(long).toEqual([]);
});

it('better-sqlite3 is imported only under src/store/', () => {
  const users = sources.filter((f) => /from 'better-sqlite3'|require\('better-sqlite3'\)|import\('better-sqlite3'\)/.test(readFileSync(f, 'utf8'))).map(rel);
  expect(users.length).toBeGreaterThan(0);
  expect(users.filter((f) => !f.startsWith('src/store/'))).toEqual([]);
});

it('nothing outside src/commands/ imports from it', () => {
  const up = sources.filter((f) => !rel(f).startsWith('src/commands/'))
    .filter((f) => /from '(\.\.\/)+commands\/|import\('(\.\.\/)+commands\//.test(readFileSync(f, 'utf8'))).map(rel);
  expect(up).toEqual([]);
});
