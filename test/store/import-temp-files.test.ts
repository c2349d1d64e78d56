/**
 * An import writes its store and nothing else: its writer thread's multi-row INSERTs keep their
 * statement journals in memory (writer-thread.ts, `temp_store = MEMORY`). On a temporary file they
 * were 83 % of the write calls of the benchmark's import (bench/RESULTS.md, Import, tenth session).
 * A real import of a generated capture, its file opens seen by strace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { generate } from '../../bench/generate-capture.mjs';

const dir = mkdtempSync(join(tmpdir(), 'oa-import-temp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeNeeding(['dist', 'strace'], 'an import opens no temporary files', () => {
  it('a 100,000-packet import opens the capture, the store and its WAL: no SQLite temporary file (etilqs_*)', () => {
    const file = join(dir, 'gen.pcap');
    const w = createPcapWriter(file, { linktype: 1, snaplen: 262144 });
    generate(w, { packets: 100_000, flows: 5_000 });
    w.close();
    const log = join(dir, 'strace.txt');
    const db = join(dir, 'x.db');
    const r = spawnSync('strace', [
      '-f', '-qq', '-e', 'trace=openat,open,creat', '-o', log,
      process.execPath, join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js'), 'import', file, '--db', db, '--json',
    ], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"flows": 5000');
    const opened = readFileSync(log, 'utf8').split('\n').map((l) => /open(?:at)?\((?:[^,]+, )?"([^"]+)"/.exec(l)?.[1]).filter((p) => p !== undefined);
    // The trace saw the import's own files (so an empty list is not a pass by accident).
    expect(opened).toContain(file);
    expect(opened).toContain(`${db}-wal`);
    expect(opened.filter((p) => /etilqs_/.test(p))).toEqual([]);
  }, 120_000);
});
