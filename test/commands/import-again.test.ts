/**
 * Importing the same bytes twice: refused (exit 2, one line naming the earlier session, nothing
 * stored) unless --again. The stored SHA-256 is checked against node's crypto over the whole file
 * and against `sha256sum`, never against our own reader.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { copyFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { itNeeding } from '../helpers/needs.js';
import { fixture } from '../differential/fixture-files.js';
import { readCaptureFile } from '../../src/capture/read-file.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oass-again-'));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Copies of a capture's records behind one header: a valid pcap over three 4 MiB windows. */
function bigCapture(): string {
  const big = join(tmp(), 'big.pcap');
  const one = readFileSync(fixture('pull-any-sll2.pcap'));
  const body = one.subarray(24);
  const parts = [one.subarray(0, 24)];
  for (let i = 0; i < Math.ceil((9 * 1024 * 1024) / body.length); i++) parts.push(body);
  writeFileSync(big, Buffer.concat(parts));
  return big;
}

/** Rows per table, to show a refused import stored nothing. */
function counts(dbPath: string): Record<string, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    return Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT count(*) n FROM "${t}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

function storedHashes(dbPath: string): { id: number; source_sha256: string | null }[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT id, source_sha256 FROM sessions ORDER BY id').all() as { id: number; source_sha256: string | null }[];
  } finally {
    db.close();
  }
}

describe('import of a file already in the store', () => {
  it('is refused with exit 2 naming the earlier session, stores nothing; --again makes a second session', async () => {
    const db = join(tmp(), 'a.db');
    const file = fixture('pull-any-sll2.pcap');
    const first = await runCli('import', file, '--db', db, '--json');
    expect(first.code).toBe(0);
    const [s1] = JSON.parse(first.stdout);
    const before = counts(db);
    expect(before.flows).toBe(s1.flows);

    const again = await runCli('import', file, '--db', db);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(new RegExp(`^ollama-audit: .*pull-any-sll2\\.pcap: already imported as session ${s1.session_id} \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\): pass --again to import it again\\n$`));
    expect(counts(db)).toEqual(before);

    const forced = await runCli('import', file, '--db', db, '--again', '--json');
    expect(forced.code).toBe(0);
    const [s2] = JSON.parse(forced.stdout);
    expect(s2.session_id).not.toBe(s1.session_id);
    expect(s2.flows).toBe(s1.flows);
    const after = counts(db);
    expect(after.sessions).toBe(before.sessions + 1);
    expect(after.flows).toBe(before.flows * 2);
    // Both sessions carry the file's hash, as node's crypto computes it over the whole file.
    expect(storedHashes(db)).toEqual([
      { id: s1.session_id, source_sha256: sha256(file) },
      { id: s2.session_id, source_sha256: sha256(file) },
    ]);
  });

  it('goes by content, not name: a copy of the demo capture under another name', async () => {
    const dir = tmp();
    const db = join(dir, 'b.db');
    const copy = join(dir, 'renamed-copy.pcapng');
    copyFileSync(fixture('demo/ollama-pull.pcapng'), copy);
    expect(sha256(copy)).toBe(sha256(fixture('demo/ollama-pull.pcapng')));
    const first = await runCli('import', copy, '--db', db, '--json');
    expect(first.code).toBe(0);
    const before = counts(db);
    // In one command: the copy is refused, the other file is still imported; exit 2 for the refusal.
    const r = await runCli('import', fixture('demo/ollama-pull.pcapng'), fixture('vlan-qinq.pcap'), '--db', db, '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ollama-pull\.pcapng: already imported as session 1 /);
    const imported = JSON.parse(r.stdout);
    expect(imported.map((s: { file: string }) => s.file)).toEqual([fixture('vlan-qinq.pcap')]);
    expect(counts(db).sessions).toBe(before.sessions + 1);
    expect(counts(db).flows).toBe(before.flows + imported[0].flows);
  });

  it('a changed file (cut short) is new content; its hash covers the bytes the reader stopped before', async () => {
    const dir = tmp();
    const db = join(dir, 'c.db');
    const cut = join(dir, 'cut.pcap');
    copyFileSync(fixture('pull-eth-nano.pcap'), cut);
    expect((await runCli('import', fixture('pull-eth-nano.pcap'), '--db', db)).code).toBe(0);
    truncateSync(cut, Math.floor(statSync(cut).size * 0.6) + 7); // ends inside a record: reading stops early
    const r = await runCli('import', cut, '--db', db, '--json');
    expect(r.code).toBe(0);
    const [s] = JSON.parse(r.stdout);
    expect(s.stopped_at).toBeLessThan(statSync(cut).size);
    expect(storedHashes(db).map((h) => h.source_sha256)).toEqual([sha256(fixture('pull-eth-nano.pcap')), sha256(cut)]);
  });

  it('two imports of one file at the same time (two processes): one lands, the other is refused', async () => {
    const db = join(tmp(), 'race.db');
    const file = fixture('api-keepalive.pcap');
    const bin = fileURLToPath(new URL('../../bin/ollama-audit.js', import.meta.url));
    expect((await runCli('import', fixture('vlan-qinq.pcap'), '--db', db)).code).toBe(0); // the store exists, migrated
    const run = () => new Promise<{ code: number | null; stderr: string }>((done) => {
      const p = spawn(process.execPath, [bin, 'import', file, '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => { stderr += String(d); });
      p.on('exit', (code) => done({ code, stderr }));
    });
    const results = await Promise.all([run(), run()]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 2]);
    expect(results.find((r) => r.code === 2)!.stderr).toMatch(/already imported as session \d+ /);
    expect(storedHashes(db).filter((h) => h.source_sha256 === sha256(file))).toHaveLength(1);
  }, 30_000);

  it('verify --pcap of a file already in --db judges the earlier session instead of importing it twice', async () => {
    const db = join(tmp(), 'v.db');
    const file = fixture('pull-eth-nano.pcap');
    const first = await runCli('verify', '--pcap', file, '--db', db, '--json');
    const before = counts(db);
    const second = await runCli('verify', '--pcap', file, '--db', db, '--json');
    expect(second.stderr).toContain(`${file}: already imported as session 1: judging that session`);
    expect(counts(db)).toEqual(before);
    expect(second.code).toBe(first.code);
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(second.stdout)];
    expect(b.coverage.sessions.map((s: { session_id: number }) => s.session_id)).toEqual([1]);
    expect(b.claims.map((c: { verdict: string }) => c.verdict)).toEqual(a.claims.map((c: { verdict: string }) => c.verdict));
  });

  it('demo --db twice keeps one copy of the bundled capture and says where it is', async () => {
    const db = join(tmp(), 'demo.db');
    expect((await runCli('demo', '--db', db)).code).toBe(0);
    const before = counts(db);
    const again = await runCli('demo', '--db', db);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`the bundled capture is already in ${db} as session 1: \`ollama-audit flows --db ${db} --session 1\``);
    expect(counts(db)).toEqual(before);
  });

  itNeeding(['sha256sum'], 'the reader hands on every byte once, in order: sha256sum agrees, for every fixture and a file of three 4 MiB windows', () => {
    const big = bigCapture();
    const files = [big, ...['api-keepalive.pcap', 'dns-fragments.pcap', 'demo/ollama-pull.pcapng', 'pull-any-sll2.pcap',
      'pull-dumpcap.pcapng', 'pull-eth-nano.pcap', 'vlan-qinq.pcap'].map(fixture)];
    for (const f of files) {
      const expected = execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];
      const h = createHash('sha256');
      let calls = 0;
      readCaptureFile(f, () => {}, { onBytes: (b) => { h.update(b); calls++; } });
      expect(h.digest('hex'), f).toBe(expected);
      // Fed from the reader's own reads, not re-read in small pieces: a first one of 64 KiB
      // (src/capture/file-window.ts FIRST_READ), then 4 MiB each.
      expect(calls, f).toBe(1 + Math.ceil(Math.max(0, statSync(f).size - 64 * 1024) / (4 * 1024 * 1024)));
    }
  });

  itNeeding(['sha256sum'], 'through two shared window buffers too: the same bytes and packets, each buffer waited for before it is read into again', () => {
    const f = bigCapture();
    const expected = execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];
    const plain = readCaptureFile(f, () => {});
    const buffers: readonly [Buffer, Buffer] = [Buffer.alloc(4 * 1024 * 1024), Buffer.alloc(4 * 1024 * 1024)];
    const handed: number[] = [];
    const waitedFor: number[] = [];
    const h = createHash('sha256');
    const read = readCaptureFile(f, () => {}, {
      windowBuffers: { buffers, beforeReuse: (b) => waitedFor.push(buffers.indexOf(b)) },
      onBytes: (b) => {
        h.update(b);
        handed.push(buffers.findIndex((x) => x.buffer === b.buffer && b.byteOffset >= x.byteOffset && b.byteOffset < x.byteOffset + x.length));
      },
    });
    expect(h.digest('hex')).toBe(expected);
    expect(read.packets).toBe(plain.packets);
    // Three 4 MiB windows after the first short read (file-window.ts FIRST_READ), read alternately
    // into the two buffers (none elsewhere), each after its wait.
    expect(handed).toEqual([1, 0, 1, 0]);
    expect(waitedFor).toEqual([1, 0, 1, 0]);
  });
});
