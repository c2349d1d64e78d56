/**
 * OLLAMA_HOST and OLLAMA_ORIGINS of a running process, from /proc/<pid>/environ: the
 * environment it was started with (NUL-separated), which is what Ollama read at start-up.
 * Only root and the process's own user may read it; that case is reported, not guessed.
 */
import { readFileSync } from 'node:fs';

export interface OllamaEnv {
  readable: boolean;
  /** Why it could not be read ('permission denied', 'process gone', ...); null when readable. */
  unreadable_reason: string | null;
  /** null: not set. */
  ollama_host: string | null;
  ollama_origins: string | null;
}

export const WATCHED_VARS = ['OLLAMA_HOST', 'OLLAMA_ORIGINS'] as const;

/** The named variables of a NUL-separated environment block; the first definition wins, as getenv(3) does. */
export function parseEnviron(text: string, names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (names.includes(name) && !out.has(name)) out.set(name, entry.slice(eq + 1));
  }
  return out;
}

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied (run as root or as the process owner)';
  if (code === 'ENOENT' || code === 'ESRCH') return 'process gone';
  return code ?? String(err);
}

export function readOllamaEnv(procRoot: string, pid: number): OllamaEnv {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/environ`, 'utf8');
  } catch (err) {
    return { readable: false, unreadable_reason: reasonOf(err), ollama_host: null, ollama_origins: null };
  }
  const vars = parseEnviron(text, WATCHED_VARS);
  return {
    readable: true, unreadable_reason: null,
    ollama_host: vars.get('OLLAMA_HOST') ?? null, ollama_origins: vars.get('OLLAMA_ORIGINS') ?? null,
  };
}
