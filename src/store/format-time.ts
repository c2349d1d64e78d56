import { EARLIEST_SANE_US } from '../capture/time-bounds.js';

/**
 * Stored times shown to people. Imports skip packets with insane times (capture/time-bounds.ts),
 * but a store written by an older version may hold one (a capture with if_tsoffset = -2^62 s, a
 * timestamp of 0xFFFFFFFFFFFFFFFF): such a row shows as `invalid` instead of throwing
 * "RangeError: Invalid time value" out of every reader of the whole store.
 */

/** What text output shows for a stored time outside the showable range. */
export const INVALID_TIME = 'invalid';

/** Why a JSON time field is null although the row has a time (flows --json, sessions --json: `time_note`). */
export function invalidTimeNote(sessionId: number): string {
  return `invalid time: the store holds a time before 1990 or past year 9999 here (a capture with a broken clock, imported by `
    + `an older version); shown as null. \`ollama-audit sessions delete ${sessionId}\` removes that import`;
}

/** Year 10000: ISO 8601's four-digit years end here (Date would write +010000-...). */
const END_OF_ISO_YEARS_US = 253_402_300_800_000_000;

/** True when `us` (µs since the epoch) is a time a person can be shown: 1990 up to year 9999. */
export function isShowableUs(us: number): boolean {
  return us >= EARLIEST_SANE_US && us < END_OF_ISO_YEARS_US;
}

/** µs since the epoch -> ISO 8601 UTC with microseconds, e.g. 2026-11-23T07:26:45.123456Z; `invalid` when not showable. */
export function isoMicros(us: number): string {
  if (!isShowableUs(us)) return INVALID_TIME;
  const ms = Math.floor(us / 1000);
  const micros = Math.floor(us - ms * 1000);
  const base = new Date(ms).toISOString(); // ...ss.mmmZ
  return `${base.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** As isoMicros, but null for a time that is not showable (JSON: the field is null and a note says why). */
export function isoMicrosOrNull(us: number): string | null {
  return isShowableUs(us) ? isoMicros(us) : null;
}

/** µs since the epoch -> ISO 8601 UTC with milliseconds (chart labels); `invalid` when not showable. */
export function isoMillis(us: number): string {
  return isShowableUs(us) ? new Date(Math.floor(us / 1000)).toISOString() : INVALID_TIME;
}

/** µs since the epoch -> `2026-11-30 12:00 UTC`: when something happened, for a one-line message. */
export function minuteUtc(us: number): string {
  return isShowableUs(us) ? `${isoMillis(us).slice(0, 16).replace('T', ' ')} UTC` : 'an invalid time';
}
