import { InvalidArgumentError } from 'commander';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3, t: 1e12, tb: 1e12, tib: 1024 ** 4 };
const DURATION_UNITS: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "2GiB", "500MB", "1048576" -> bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError('expected a size such as 500MB or 2GiB');
  return Math.floor(Number(m[1]) * unit);
}

/** "10m", "7d", "90s", "1h30m", or a bare number of seconds -> seconds. */
export function parseDuration(text: string): number {
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Number(text);
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gi)];
  const joined = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || joined.replace(/\s/g, '') !== text.trim().replace(/\s/g, '')) {
    throw new InvalidArgumentError('expected a duration such as 90s, 10m, 12h or 7d');
  }
  return parts.reduce((s, p) => s + Number(p[1]) * DURATION_UNITS[p[2].toLowerCase()], 0);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const SINCE_HELP = 'expected an RFC 3339 time such as 2026-11-30T12:00:00Z, or a duration back from now such as 90m or 7d';

/** RFC 3339 date-time -> µs since the epoch, or null when the text is not one (a 30 February included). */
function rfc3339Micros(text: string): number | null {
  const m = RFC3339.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  const t = new Date(ms);
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return null;
  const offsetMin = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (Number(m[10] ?? 0) > 23 || Number(m[11] ?? 0) > 59) return null;
  return (ms - offsetMin * 60_000) * 1000 + Number((m[7] ?? '').padEnd(6, '0').slice(0, 6));
}

/**
 * `--since`: an RFC 3339 time ("2026-11-30T12:00:00Z", "2026-11-30T13:00:00.5+01:00") or a
 * duration back from now ("90m", "7d") -> µs since the epoch.
 */
export function parseSince(text: string, nowMs = Date.now()): number {
  const at = rfc3339Micros(text);
  if (at !== null) return at;
  try {
    return Math.round((nowMs - parseDuration(text) * 1000) * 1000);
  } catch {
    throw new InvalidArgumentError(SINCE_HELP);
  }
}
