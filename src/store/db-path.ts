import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** --db, else $OLLAMA_AUDIT_DB, else $XDG_DATA_HOME/ollama-audit/audit.db (XDG default ~/.local/share). */
export function resolveDbPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.OLLAMA_AUDIT_DB) return env.OLLAMA_AUDIT_DB;
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'ollama-audit', 'audit.db');
}

/**
 * Where a store's evidence segments go by default: a folder beside the database, named after it
 * (`audit.db` -> `audit.evidence/`, `x.sqlite` -> `x.sqlite.evidence/`), so two stores in one
 * folder never share segment names or prune each other's files. Absolute, because the store
 * records each segment's path and is read from other working directories.
 */
export function evidenceDirFor(dbPath: string): string {
  const db = resolve(dbPath);
  return join(dirname(db), `${basename(db).replace(/\.db$/i, '')}.evidence`);
}
