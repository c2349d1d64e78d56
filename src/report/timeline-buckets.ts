/**
 * Bytes per activity per time bucket, for the report's timeline. The store keeps per flow only
 * its first and last packet time and its byte counts, so a flow's bytes are spread evenly over
 * its lifetime: exact for short flows, smoothed for long ones.
 */
import type { Timeline } from './report-types.js';
import { isoMicros } from '../store/format-time.js';

const MS = 1000;
const S = 1_000_000;
/** Bucket sizes people read easily, in µs. */
const STEPS = [
  1 * MS, 2 * MS, 5 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS, 500 * MS,
  1 * S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S, 60 * S, 120 * S, 300 * S, 600 * S, 900 * S, 1800 * S,
  3600 * S, 7200 * S, 3 * 3600 * S, 6 * 3600 * S, 12 * 3600 * S, 86400 * S, 7 * 86400 * S,
];
export const MAX_BUCKETS = 200;

export interface TimelineFlow {
  first_seen: number;
  last_seen: number;
  bytes: number;
  activity: string;
}

/** `api:/api/pull` -> `api`: the timeline's legend stays short. */
export function activityGroup(activity: string): string {
  const colon = activity.indexOf(':');
  return colon < 0 ? activity : activity.slice(0, colon);
}

/** The smallest nice step that fits the window in MAX_BUCKETS (so, with 1-2-5 steps, 80 or more). */
export function pickBucket(spanUs: number): number {
  for (const step of STEPS) if (Math.floor(spanUs / step) + 1 <= MAX_BUCKETS) return step;
  return Math.ceil((spanUs + 1) / MAX_BUCKETS);
}

/** Flows may be any iterable (a store's rows read one at a time): only the buckets are kept. */
export function buildTimeline(flows: Iterable<TimelineFlow>, window: { start: number; end: number } | null): Timeline {
  const note = "a flow's bytes (both directions, IP level) are spread evenly over its lifetime";
  const none: Timeline = { start: null, start_us: null, bucket_s: 0, buckets: 0, activities: [], bytes: {}, note };
  if (window === null) return none;
  const step = pickBucket(window.end - window.start);
  const start = Math.floor(window.start / step) * step;
  const n = Math.floor((window.end - start) / step) + 1;
  const bytes: Record<string, number[]> = {};
  let seen = 0;
  for (const f of flows) {
    const key = activityGroup(f.activity);
    spread(bytes[key] ??= new Array<number>(n).fill(0), f, start, step);
    seen++;
  }
  if (seen === 0) return none;
  for (const row of Object.values(bytes)) for (let i = 0; i < n; i++) row[i] = Math.round(row[i]);
  const activities = Object.keys(bytes).sort((a, b) => total(bytes[b]) - total(bytes[a]) || a.localeCompare(b));
  return { start: isoMicros(start), start_us: start, bucket_s: step / S, buckets: n, activities, bytes, note };
}

/** Adds f's bytes to the buckets its lifetime overlaps, in proportion to the overlap. */
function spread(row: number[], f: TimelineFlow, start: number, step: number): void {
  const first = clampIndex(Math.floor((f.first_seen - start) / step), row.length);
  const last = clampIndex(Math.floor((f.last_seen - start) / step), row.length);
  const life = f.last_seen - f.first_seen;
  if (first === last || life <= 0) {
    row[first] += f.bytes;
    return;
  }
  for (let i = first; i <= last; i++) {
    const from = Math.max(f.first_seen, start + i * step);
    const to = Math.min(f.last_seen, start + (i + 1) * step);
    row[i] += (f.bytes * Math.max(0, to - from)) / life;
  }
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

function total(row: number[]): number {
  let t = 0;
  for (const v of row) t += v;
  return t;
}
