import Database from 'better-sqlite3';
import { closeSync, existsSync, statSync } from 'node:fs';
import { checkOwnFile, createExclusive, safeOutputDir } from './safe-files.js';
import { dirname } from 'node:path';
import { isMainThread } from 'node:worker_threads';
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
  // A worker thread cannot set the umask: a reader there (watch's data thread) creates no file, and
  // a writer there (the live engine's store thread) opens a store the main thread has open already.
  const setMask = isMainThread;
  if (!isMainThread && !existsSync(path)) throw new StoreError(`no database at ${path}: a worker thread opens only a store made already`);
  const oldMask = setMask ? process.umask(0o077) : 0;
  let db: Db;
  try {
    if (!opts.readonly) prepareStoreFiles(path);
    db = new Database(path, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly });
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      // A new store frees deleted pages back to the file system (retention.ts runs
      // incremental_vacuum after deleting): only settable before the first table exists.
      if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL');
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
    if (setMask) process.umask(oldMask);
  }
  return db;
}

/**
 * A writer's store: its folder safe (safe-files.ts), the database, WAL and shared-memory files
 * absent or regular files of this user's, and a new database created by us (0600, never through
 * a link) before SQLite opens it by name.
 */
function prepareStoreFiles(path: string): void {
  safeOutputDir(dirname(path));
  for (const suffix of ['-wal', '-shm', '-journal']) checkOwnFile(path + suffix);
  if (!checkOwnFile(path)) closeSync(createExclusive(path, 0o600));
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
