/**
 * Where an export stopped, so the next run (or the same run after new rows) never writes a row it
 * wrote before. Per session: the watermark (the largest last_seen written, µs) and, for the flows
 * written with a last_seen within SLACK_US of it, the last_seen each was written at. A row is
 * written again only when its last_seen moved (a live flow that grew). The slack catches a row a
 * live writer commits a little after a later one (a packet handled just after the second's flush):
 * its last_seen may fall just below the watermark. For ECS, the last verdict written per claim, so
 * only changes are written.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { checkOwnFile, replaceFile, safeOutputDir } from '../store/safe-files.js';
import type { Verdict } from '../claims/evaluate.js';

/** How far below the watermark rows are looked at again (µs). */
export const SLACK_US = 10_000_000;

export interface SessionMark {
  w: number;
  /** Flow id -> the last_seen it was written at, for rows within SLACK_US of w. */
  seen: Record<string, number>;
}

export interface Cursor {
  format: string;
  sessions: Record<string, SessionMark>;
  verdicts: Record<string, Verdict>;
}

export function newCursor(format: string): Cursor {
  return { format, sessions: {}, verdicts: {} };
}

function isCursor(v: unknown): v is Cursor {
  const c = v as Cursor;
  return typeof c === 'object' && c !== null && typeof c.format === 'string' && typeof c.sessions === 'object' && c.sessions !== null
    && typeof c.verdicts === 'object' && c.verdicts !== null
    && Object.values(c.sessions).every((m) => Number.isFinite(m?.w) && typeof m.seen === 'object' && m.seen !== null);
}

/** The cursor at `path`, or a new one when the file does not exist yet; a file that is not one is refused. */
export function loadCursor(path: string, format: string): Cursor {
  safeOutputDir(dirname(resolve(path))); // the folder it is replaced in follows the store's rules
  if (!checkOwnFile(path)) return newCursor(format);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    parsed = null;
  }
  if (!isCursor(parsed)) throw new UserError(`${path} is not an export cursor: pass a new path, or the file an earlier export --cursor wrote`);
  if (parsed.format !== format) throw new UserError(`${path} is the cursor of a --format ${parsed.format} export: pass that format, or another cursor file`);
  return parsed;
}

export function saveCursor(path: string, cursor: Cursor): void {
  replaceFile(path, `${JSON.stringify(cursor)}\n`);
}
