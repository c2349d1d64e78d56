/**
 * native/cap-patch/patch-cap.mjs on the sources it meets (native-notes/cap.md "The ring's blocks"):
 * cap 0.2.1 as published (a fresh clone's `npm install`), and a source that already carries level
 * 1's edits (a machine installed before level 2: main's node_modules/cap). Both must end with every
 * edit exactly once, the same text, and the marker at the current level; a second run changes
 * nothing. The script runs as npm runs it, on a copy of the package laid out as node_modules/cap
 * (no build/: it patches the source and leaves the build to `npm rebuild cap`, as it does when cap
 * did not build). The sources: the installed binding.cc (patched by this tree's install), taken back
 * to level 1 and to the published text by undoing the edits, each of whose `from` is the text
 * cap 0.2.1 or the earlier level has.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';

const REPO = join(import.meta.dirname, '../..');
const SCRIPT = join(REPO, 'native/cap-patch/patch-cap.mjs');
const { EDITS } = (await import(SCRIPT)) as { EDITS: { what: string; level: number; done: string; from: string; to: string }[] };
const LEVEL = Math.max(...EDITS.map((e) => e.level));

/** The text with the edits above `level` undone, last first (their `to` back to their `from`). */
function atLevel(text: string, level: number): string {
  let out = text;
  for (const e of [...EDITS].reverse()) {
    if (e.level <= level) continue;
    const at = out.indexOf(e.to);
    if (at < 0) throw new Error(`the installed binding.cc lacks the "${e.what}" edit as this script makes it (patched by another version of the script?): reinstall cap (npm install), then npm run build:native`);
    out = out.slice(0, at) + e.from + out.slice(at + e.to.length);
  }
  return out;
}

const count = (text: string, part: string) => text.split(part).length - 1;

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Runs the script on a package copy holding `source` as cap's binding.cc; returns the source after, and what it printed. */
function runOn(source: string, version = '0.2.1'): { after: string; printed: string; again: string; printedAgain: string } {
  const root = mkdtempSync(join(tmpdir(), 'oar3-cap-patch-'));
  dirs.push(root);
  mkdirSync(join(root, 'native/cap-patch'), { recursive: true });
  cpSync(SCRIPT, join(root, 'native/cap-patch/patch-cap.mjs'));
  mkdirSync(join(root, 'node_modules/cap/src'), { recursive: true });
  writeFileSync(join(root, 'node_modules/cap/package.json'), JSON.stringify({ name: 'cap', version, main: 'lib/Cap' }));
  const file = join(root, 'node_modules/cap/src/binding.cc');
  writeFileSync(file, source);
  const run = () => spawnSync(process.execPath, [join(root, 'native/cap-patch/patch-cap.mjs')], { encoding: 'utf8' });
  const first = run();
  expect(first.status, first.stderr).toBe(0);
  const after = readFileSync(file, 'utf8');
  const second = run();
  expect(second.status, second.stderr).toBe(0);
  return { after, printed: first.stdout + first.stderr, again: readFileSync(file, 'utf8'), printedAgain: second.stdout + second.stderr };
}

describeNeeding(['cap'], 'the cap patch script', () => {
  const installed = readFileSync(join(dirname(createRequire(import.meta.url).resolve('cap/package.json')), 'src/binding.cc'), 'utf8');
  const published = atLevel(installed, 0);
  const level1 = atLevel(installed, 1);

  it('the sources the test starts from are what they claim: no mark of this patch in the published one, only level 1\'s in the other', () => {
    expect(published).not.toContain('ollama-audit');
    expect(published).toContain('pcap_set_snaplen(obj->pcap_handle, 65535)');
    expect(published).toContain('set_immediate_mode(obj->pcap_handle, 1);');
    expect(level1).toContain('/* ollama-audit snaplen patch 1 */');
    expect(level1).not.toContain('buffer timeout patch');
    expect(level1).toMatch(/"snaplenPatch"\)\.ToLocalChecked\(\),\s+Nan::New<Number>\(1\)/);
  });

  it('a level-1 source gets the new edits only, and ends as the published source patched: every edit once, marker at the current level; a second run changes nothing', () => {
    const fromPublished = runOn(published);
    const fromLevel1 = runOn(level1);
    expect(fromLevel1.after).toBe(fromPublished.after);
    for (const r of [fromPublished, fromLevel1]) {
      for (const e of EDITS) expect(count(r.after, e.done), e.what).toBe(1);
      expect(r.after).toMatch(new RegExp(`"snaplenPatch"\\)\\.ToLocalChecked\\(\\),\\s+Nan::New<Number>\\(${LEVEL}\\)`));
      expect(count(r.after, 'pcap_set_timeout(')).toBe(1);
      expect(r.after).toContain('set_immediate_mode != nullptr && buffer_timeout <= 0');
      expect(r.after).toContain('Nan::New<Number>((double)pkt_hdr->ts.tv_sec)');
      expect(r.again).toBe(r.after);
      // No build here (as when cap did not build): the script says nothing and leaves the build to npm rebuild cap.
      expect(r.printed).toBe('');
      expect(r.printedAgain).toBe('');
    }
  });

  it('a source whose text has moved, or another cap version, is left as it is with one line', () => {
    const moved = runOn(level1.replace('if (pcap_set_timeout(obj->pcap_handle, 1000) != 0)', 'if (pcap_set_timeout(obj->pcap_handle, 500) != 0)'));
    expect(moved.after).toContain('pcap_set_timeout(obj->pcap_handle, 500)');
    expect(moved.after).not.toContain('buffer timeout patch');
    expect(moved.printed.trim().split('\n')).toEqual([expect.stringMatching(/^ollama-audit: cap's binding.cc has no single "buffer timeout argument" spot: cap left as it is/)]);
    const other = runOn(published, '0.2.2');
    expect(other.after).toBe(published);
    expect(other.printed).toMatch(/^ollama-audit: cap 0\.2\.2 is not the 0\.2\.1 this patch is for/);
  });
});
