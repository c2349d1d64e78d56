/**
 * What `ollama-audit import` and `--version` load (issue #10: the import benchmark must not be
 * slower than ef8c83b; start-up had grown from 62 to 111 module loads). cli.ts registers every
 * command, but each command's own code is meant to load only when it runs: a registration that
 * takes a constant from a stage's module (an option's choices, a default) loads that module and
 * everything it imports for every command. Recorded from the real CLI (bin/ollama-audit.js and
 * dist/) by a resolve hook, main thread and the import's writer thread alike.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { ownStderr, RECORD_RESOLVED, resolvedUrls } from '../helpers/loaded-modules.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, 'dist');

/** The CLI run with the hook: its exit code, stdout, own stderr, and the dist/ modules it loaded (paths under dist/). */
function runRecorded(...args: string[]): { code: number | null; stdout: string; stderr: string; loaded: string[] } {
  const child = spawnSync(process.execPath, ['--import', RECORD_RESOLVED, join(ROOT, 'bin/ollama-audit.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const loaded = resolvedUrls(child.stderr).filter((u) => u.startsWith('file:')).map((u) => relative(DIST, fileURLToPath(u)))
    .filter((p) => !p.startsWith('..'));
  return { code: child.status, stdout: child.stdout, stderr: ownStderr(child.stderr), loaded };
}

/**
 * Modules no import uses, by stage (a path prefix under dist/), each with why: what they do happens
 * only in other commands.
 */
const NEVER_IN_AN_IMPORT: readonly [string, string][] = [
  ['live/', 'the live engine (daemon, live verify, watch)'],
  ['capture/live-', 'live capture and its errors'],
  ['capture/os/', "the platform's live capture, PATH look-ups"],
  ['capture/replay-capture.js', "demo --watch's replay"],
  ['attribution/os/linux/', 'procfs and kernel socket events (bpftrace): live attribution'],
  ['attribution/os/darwin/lsof', "macOS's live fallback"],
  ['attribution/os/darwin/pktap-attributor.js', "macOS's live attributor"],
  ['store/evidence-', 'evidence policy, segments, export (daemon, report)'],
  ['store/live-', "the live store's writer and thread"],
  ['store/retention.js', '--retain/--max-db'],
  ['store/read/', 'the read layer (flows, claims, report, export, watch)'],
  ['claims/', 'the claims engine'],
  ['knowledge/claims.js', 'the claims catalogue'],
  ['exposure/', 'exposure'],
  ['report/', 'report writer'],
  ['export/', 'export for log pipelines'],
  ['service/', 'service install/status'],
  ['watch/', 'the dashboard'],
  ['metrics/', 'daemon --metrics'],
  ['commands/daemon-command.js', 'daemon'],
  ['commands/verify-', 'verify'],
  ['commands/export-command.js', 'export'],
  ['commands/service-command.js', 'service'],
  ['commands/watch-command.js', 'watch'],
  ['commands/demo-command.js', 'demo'],
  ['commands/demo-watch.js', 'demo --watch'],
];

/** What each prefix matched in `loaded`, so a failure names the modules and the reason. */
function unwanted(loaded: string[], prefixes: readonly [string, string][]): string[] {
  return prefixes.flatMap(([prefix, why]) => loaded.filter((m) => m.startsWith(prefix)).map((m) => `${m} (${why})`));
}

describeNeeding(['dist'], 'modules loaded at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oab-startup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an import (pcap, and pcapng with ptcpdump comments) loads the reader, pipeline and store writer, and none of the other commands\' stages', () => {
    const run = runRecorded('import', join(ROOT, 'fixtures/api-models.pcap'), join(ROOT, 'fixtures/demo/ollama-pull.pcapng'), '--db', join(dir, 'a.db'), '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect((JSON.parse(run.stdout) as { session_id: number }[]).map((s) => s.session_id)).toEqual([1, 2]);
    // The hook saw the import's own modules, on both threads (the control: it records what loads).
    for (const m of ['commands/import-command.js', 'capture/pcap-reader.js', 'capture/pcapng-reader.js', 'pipeline/ingest.js',
      'attribution/packet-comment.js', 'classify/classify.js', 'store/session-writer.js', 'store/writer-thread.js', 'flows/community-id.js']) {
      expect(run.loaded, m).toContain(m);
    }
    expect(unwanted(run.loaded, NEVER_IN_AN_IMPORT)).toEqual([]);
  });

  it('--version loads the registrations and settings only: no stage that reads, decodes or stores anything', () => {
    const run = runRecorded('--version');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.loaded).toContain('commands/cli.js');
    expect(run.loaded).toContain('settings.js');
    const importOnly: [string, string][] = [
      ['commands/import-command.js', "import's code"], ['capture/read-file.js', 'capture files'], ['pipeline/', 'the pipeline'],
      ['decode/', 'decoding'], ['flows/', 'the flow table'], ['enrich/', 'naming'], ['classify/', 'classification'], ['store/', 'the store'],
    ];
    expect(unwanted(run.loaded, [...NEVER_IN_AN_IMPORT, ...importOnly])).toEqual([]);
  });
});
