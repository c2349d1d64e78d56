import { homedir } from 'node:os';
import { join } from 'node:path';

/** --db, else $OLLAMA_AUDIT_DB, else $XDG_DATA_HOME/ollama-audit/audit.db (XDG default ~/.local/share). */
export function resolveDbPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.OLLAMA_AUDIT_DB) return env.OLLAMA_AUDIT_DB;
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'ollama-audit', 'audit.db');
}
