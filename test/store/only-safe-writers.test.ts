/**
 * Every output file and folder goes through src/store/safe-files.ts (issue #9 item 1: "no path in
 * the tree opens an output file without the safe helper"). This scans the sources for the Node
 * calls that create, truncate or chmod files and folders; only safe-files.ts may make them, and
 * SQLite may open a store by name only where openDb has checked its path first.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');
const WRITERS = /\b(writeFileSync|appendFileSync|createWriteStream|copyFileSync|mkdirSync|mkdtempSync|chmodSync|fchmodSync|chownSync|symlinkSync|linkSync|truncateSync|cpSync)\b|\bopenSync\([^)]*['"](w|a|wx|ax|w\+|a\+|r\+)['"]|\bO_CREAT\b|\bnew Database\(/g;
/** Where a writing call may stand, and why. */
const ALLOWED: Record<string, RegExp> = {
  'store/safe-files.ts': /./,
  // SQLite opens the store by name after prepareStoreFiles (safe-files rules) checked or created it.
  'store/open-db.ts': /new Database\(/,
  // The writer thread opens the path that openDb prepared in the main thread just before.
  'store/writer-thread.ts': /new Database\(/,
  // Temporary stores of demo/verify: mkdtemp makes a fresh 0700 folder with an unpredictable name.
  'commands/demo-command.ts': /mkdtempSync/,
  'commands/verify-command.ts': /mkdtempSync/,
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|js|mjs)$/.test(e.name) ? [join(dir, e.name)] : []);
}

describe('output files are made only through safe-files.ts', () => {
  it('no other source file creates, truncates or chmods a file or folder', () => {
    const offences: string[] = [];
    for (const file of sources(SRC)) {
      const rel = relative(SRC, file);
      const text = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*)/.test(l)).join('\n');
      for (const m of text.matchAll(WRITERS)) {
        const allowed = ALLOWED[rel];
        if (allowed === undefined || !allowed.test(m[0])) offences.push(`${rel}: ${m[0]}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('the scan finds what it looks for (it would catch a new writer)', () => {
    const sample = "fs.writeFileSync(p, x); fs.openSync(p, 'w'); new Database(p); fs.mkdirSync(d)";
    expect([...sample.matchAll(WRITERS)].map((m) => m[0])).toEqual(['writeFileSync', "openSync(p, 'w'", 'new Database(', 'mkdirSync']);
  });
});
