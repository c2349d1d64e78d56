/** µs since the epoch -> ISO 8601 UTC with microseconds, e.g. 2026-11-23T07:26:45.123456Z. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = Math.floor(us - ms * 1000);
  const base = new Date(ms).toISOString(); // ...ss.mmmZ
  return `${base.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** µs since the epoch -> `2026-11-30 12:00 UTC`: when something happened, for a one-line message. */
export function minuteUtc(us: number): string {
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
