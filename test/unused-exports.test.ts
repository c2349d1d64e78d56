/**
 * The tree keeps no dead exports: every name src/ exports is used somewhere in src/ besides its
 * declaration (in its own file counts: types of local functions are exported for readers).
 * The few used only by tests are listed with the reason they stay.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Test-facing entry points: what uses them, and why they are not dead. */
const USED_BY_TESTS: Record<string, string> = {
  analyzeCaptureFile: 'the whole pipeline into memory: the differential and robustness tests run captures through it',
  createPcapWriter: 'tests write classic pcap files with it (the daemon writes pcapng)',
  parseProcNetLine: 'the /proc/net line parser, tested line by line against real kernel lines',
  TCP_PSH: 'a TCP flag tests build packets with; decoding keeps the flag byte whole',
  isMulticastOrBroadcast: 'address test of its own, beside the other address helpers',
  matcherOf: 'the evidence exporter\'s flow matcher, tested alone',
  DuplicateFilter: 'the type of createDuplicateFilter()',
  Ingest: 'the type of createIngest()',
  dataVersion: 'the change feed (store/read/changes.ts) that watch and export --follow poll (issues #11, #12); tested now',
  flowWatermark: 'the change feed (store/read/changes.ts) that watch and export --follow poll (issues #11, #12); tested now',
  flowsChangedSince: 'the change feed (store/read/changes.ts) that watch and export --follow poll (issues #11, #12); tested now',
  settingsToArgs: 'the input of the service unit to be generated from the daemon\'s settings (issue #10); round-trip tested now',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : /\.(ts|js)$/.test(p) ? [p] : [];
  });
}

it('every export of src/ is used in src/ (or listed as a test entry point with its reason)', () => {
  const files = sourceFiles(SRC).map((p) => ({ rel: relative(SRC, p), text: readFileSync(p, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '') }));
  const unused: string[] = [];
  for (const f of files) {
    for (const m of f.text.matchAll(/^export (?:async )?(?:const|function|class|type|interface|enum) ([A-Za-z_$][\w$]*)/gm)) {
      const name = m[1];
      const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g');
      const uses = files.reduce((n, g) => n + (g.text.match(word)?.length ?? 0), 0);
      if (uses < 2 && !(name in USED_BY_TESTS)) unused.push(`${f.rel}: ${name}`);
    }
  }
  expect(unused).toEqual([]);
});
