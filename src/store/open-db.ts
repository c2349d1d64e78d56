import Database from 'better-sqlite3';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { makePrivateDir } from './private-dir.js';
import { dirname } from 'node:path';
import { MIGRATIONS } from './schema.js';
import { explainStoreError, StoreError } from './store-error.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the store. Captures are private: a new folder is 0700 and the
 * database, WAL and shared-memory files 0600 (umask 077 while SQLite creates them).
 * readonly: for readers (flows, claims...), which must not create or migrate anything.
 */
export function openDb(path: string, opts: { readonly?: boolean; busyTimeoutMs?: number } = {}): Db {
  if (opts.readonly && !existsSync(path)) {
    throw new StoreError(`no database at ${path}: run \`ollama-audit import FILE\` (or the daemon) first, or pass --db`);
  }
  // A reader of a store written by an older version migrates it first, so readers can rely on
  // every column of the current schema.
  if (opts.readonly && needsMigration(path)) openDb(path, { busyTimeoutMs: opts.busyTimeoutMs }).close();
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new StoreError(`${path} is a folder, not a database: pass a file path to --db`);
  }
  const oldMask = process.umask(0o077);
  let db: Db;
  try {
    if (!opts.readonly) {
      const dir = dirname(path);
      if (!existsSync(dir)) makePrivateDir(dir);
    }
    const isNew = !existsSync(path);
    db = new Database(path, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly });
    if (isNew && !opts.readonly) chmodSync(path, 0o600);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, path);
    } else {
      checkVersion(db, path);
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw explainStoreError(err, path);
  } finally {
    process.umask(oldMask);
  }
  return db;
}

function migrate(db: Db, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw tooNew(path, version);
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

function needsMigration(path: string): boolean {
  let db: Db | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    return version > 0 && version < MIGRATIONS.length;
  } catch {
    return false; // openDb below reports what is wrong with the file
  } finally {
    db?.close();
  }
}

function checkVersion(db: Db, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw tooNew(path, version);
  if (version === 0) throw new StoreError(`${path} holds no ollama-audit data: run \`ollama-audit import FILE\` first, or pass another --db`);
}

function tooNew(path: string, version: number): StoreError {
  return new StoreError(`database ${path} has schema version ${version}, newer than this ollama-audit understands (${MIGRATIONS.length}): upgrade ollama-audit`);
}
