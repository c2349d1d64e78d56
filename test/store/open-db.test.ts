import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb } from '../../src/store/open-db.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { StoreError } from '../../src/store/store-error.js';
import { beginSession } from '../../src/store/session-writer.js';
import { resolveDbPath } from '../../src/settings.js';
import { makeFlow } from '../helpers/make-flow.js';
import type { Classification } from '../../src/classify/classify.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oa-store-'));
const cls: Classification = { activity: 'registry', ollama: true, reason: 'test' };
const end = { interfaces: [], packets: 3, startedAt: 1, endedAt: 2, drops: null, lossEstimate: null, skipped: {}, warnings: [], stoppedAt: null };

describe('openDb', () => {
  it('creates a private folder (0700) and private files (0600), in WAL mode, migrated', () => {
    const path = join(tmp(), 'nested', 'audit.db');
    const db = openDb(path);
    db.prepare('SELECT 1').get();
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}-wal`)).toBe(true);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    // Reopening migrates nothing again and keeps data.
    const again = openDb(path);
    expect(again.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    again.close();
  });

  it('migrates a version-1 database forward, keeping its data', () => {
    const path = join(tmp(), 'v1.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO sessions (kind, source, interfaces, recorded_at) VALUES ('import', 'old.pcap', '[]', 1)`).run();
    raw.close();
    const db = openDb(path);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare('SELECT source FROM sessions').all()).toEqual([{ source: 'old.pcap' }]);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'evidence_files'`).get()).toEqual({ name: 'evidence_files' });
    db.close();
  });

  it('a reader of an older store migrates it first', () => {
    const path = join(tmp(), 'old-reader.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]);
    raw.pragma('user_version = 1');
    raw.close();
    const db = openDb(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect((db.prepare('PRAGMA table_info(http)').all() as { name: string }[]).map((c) => c.name)).toContain('response_length');
    db.close();
  });

  it('refuses a database from a newer version with a clear message', () => {
    const path = join(tmp(), 'new.db');
    const raw = new Database(path);
    raw.pragma('user_version = 999');
    raw.close();
    expect(() => openDb(path)).toThrow(/schema version 999, newer than/);
  });

  it('names a corrupt file as such', () => {
    const path = join(tmp(), 'junk.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    expect(() => openDb(path)).toThrow(StoreError);
    expect(() => openDb(path)).toThrow(/corrupt or not an ollama-audit database/);
  });

  it('readers do not create a database', () => {
    const path = join(tmp(), 'missing.db');
    expect(() => openDb(path, { readonly: true })).toThrow(/no database at/);
    expect(existsSync(path)).toBe(false);
  });

  it('reports a database locked by another writer', async () => {
    const path = join(tmp(), 'locked.db');
    openDb(path).close();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      // The writer thread opens the store while the caller already decodes: the lock shows at commit at the latest.
      const w = await beginSession(path, { kind: 'import', source: 'x', format: null }, { busyTimeoutMs: 50 });
      w.flow(makeFlow({ id: 1 }), cls);
      await expect(w.commit(end)).rejects.toThrow(/is locked by another process/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('default path follows --db, then OLLAMA_AUDIT_DB, then XDG_DATA_HOME', () => {
    expect(resolveDbPath('/x/y.db', {})).toBe('/x/y.db');
    expect(resolveDbPath(undefined, { OLLAMA_AUDIT_DB: '/e.db', XDG_DATA_HOME: '/d' })).toBe('/e.db');
    expect(resolveDbPath(undefined, { XDG_DATA_HOME: '/d' })).toBe('/d/ollama-audit/audit.db');
    expect(resolveDbPath(undefined, {})).toMatch(/\.local\/share\/ollama-audit\/audit\.db$/);
  });
});

describe('session writer', () => {
  it('hashes the bytes it is handed, in the shared window buffers and outside them, and opens no file for it', async () => {
    const path = join(tmp(), 'h.db');
    openDb(path).close();
    const w = await beginSession(path, { kind: 'import', source: '/no/such/file.pcap', format: null }, { hash: true });
    const [a, b] = w.windowBuffers!.buffers;
    a.fill(7, 0, 1000);
    w.fileBytes(a.subarray(0, 1000), 0);
    const tail = Buffer.from('not in a window buffer');
    w.fileBytes(tail, 1000);
    w.windowBuffers!.beforeReuse(a); // returns once the writer thread hashed those 1000 bytes
    a.fill(9, 0, 1000); // so this can no longer change the hash
    b.fill(5, 100, 300);
    w.fileBytes(b.subarray(100, 300), 1000 + tail.length);
    await w.commit(end);
    const db = openDb(path, { readonly: true });
    const expected = createHash('sha256').update(Buffer.alloc(1000, 7)).update(tail).update(Buffer.alloc(200, 5)).digest('hex');
    expect(db.prepare('SELECT source_sha256 FROM sessions').get()).toEqual({ source_sha256: expected });
    db.close();
  });

  it('an aborted session leaves nothing; a committed one everything', async () => {
    const path = join(tmp(), 's.db');
    openDb(path).close();
    const first = await beginSession(path, { kind: 'import', source: 'a.pcap', format: 'pcap' });
    first.flow(makeFlow({ id: 1, process: { pid: 42, name: 'ollama', exe: '/usr/bin/ollama' } }), cls);
    await first.commit(end);
    const second = await beginSession(path, { kind: 'import', source: 'b.pcap', format: 'pcap' });
    second.flow(makeFlow({ id: 1 }), cls);
    second.flow(makeFlow({ id: 2 }), cls);
    await second.abort();
    const db = openDb(path, { readonly: true });
    expect(db.prepare('SELECT count(*) n FROM sessions').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) n FROM flows').get()).toEqual({ n: 1 });
    const p = db.prepare('SELECT p.pid, p.comm, p.exe, p.role, p.source FROM flows f JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq').get();
    expect(p).toEqual({ pid: 42, comm: 'ollama', exe: '/usr/bin/ollama', role: 'server', source: 'pcapng-comment' });
    db.close();
  });
});
