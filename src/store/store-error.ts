import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { minuteUtc } from './format-time.js';
import { UserFacingError } from '../errors.js';

/**
 * A store problem a user can act on. The CLI prints `message` as one line and exits 2.
 * Everything already committed to the database stays intact: writers only ever commit whole sessions.
 */
export class StoreError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** An import of bytes the store already holds: refused (nothing stored) unless the user says --again. */
export class DuplicateImportError extends StoreError {
  constructor(readonly earlierSession: number, readonly importedAt: number) {
    super(`already imported as session ${earlierSession} (${minuteUtc(importedAt)}): pass --again to import it again`);
    this.name = 'DuplicateImportError';
  }
}

/** Turns a SQLite/file-system error into one sentence saying what happened and what to do. */
export function explainStoreError(err: unknown, dbPath: string): StoreError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || /database is locked/.test(msg)) {
    return new StoreError(`database ${dbPath} is locked by another process: wait for it to finish or use another --db`);
  }
  if (isDiskFull(err, dbPath)) {
    // Said only of what writes a whole run in one transaction (an import, a session's start): a live
    // capture's full disk is handled where it writes (src/live/store-gaps.ts) and says what was stored.
    return new StoreError(`disk full while writing ${dbPath}: free some space and run again (nothing from this run was stored; earlier data is intact)`);
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || /not a database|malformed/.test(msg)) {
    return new StoreError(`database ${dbPath} is corrupt or not an ollama-audit database: move it aside or pass another --db`);
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_PERM') {
    return new StoreError(`cannot open ${dbPath} (${code}): check its permissions (the store is private to the user who made it) or pass another --db`);
  }
  if (code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR')) {
    return new StoreError(`I/O error on ${dbPath} (${code}): check the disk, then run again`);
  }
  return new StoreError(`database error on ${dbPath}: ${msg}`);
}

/** The write failed for want of space (SQLite reports ENOSPC on tmpfs or WAL growth as an I/O error, not SQLITE_FULL). */
export function isDiskFull(err: unknown, dbPath: string): boolean {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || /disk is full|database or disk is full/.test(e.message ?? String(err))) return true;
  return code.startsWith('SQLITE_IOERR') && nearlyFull(dbPath);
}

function nearlyFull(dbPath: string): boolean {
  try {
    const fs = statfsSync(dirname(dbPath));
    return fs.bavail * fs.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}
