/**
 * Arrival timestamps for live packets. `cap` drops libpcap's kernel timestamp, so each packet is
 * stamped when its callback runs, from the monotonic clock (performance.now(): uv_hrtime,
 * CLOCK_MONOTONIC, a double, so nothing is allocated per packet, unlike hrtime.bigint()) anchored
 * once to the wall clock. Monotonic means a wall-clock step while capturing does not reorder
 * packets; `driftUs` tells how far the wall clock has moved away since the anchor.
 */
export interface WallAnchor {
  /** Wall time at the anchor, µs since the epoch. */
  wallUs: number;
  /** performance.now() at the same instant, ms. */
  monoMs: number;
}

/**
 * Date.now() has 1 ms steps: waiting for the next step and reading the monotonic clock right
 * after puts the anchor within a few µs of the wall clock instead of anywhere in that ms.
 * Costs at most 1 ms, once.
 */
export function anchorClock(): WallAnchor {
  const first = Date.now();
  let wall = Date.now();
  while (wall === first) wall = Date.now();
  return { wallUs: wall * 1000, monoMs: performance.now() };
}

/** Now, in µs since the epoch (integer), on the anchored monotonic clock. */
export function nowUs(a: WallAnchor): number {
  return Math.round(a.wallUs + (performance.now() - a.monoMs) * 1000);
}

/** Wall clock minus anchored clock, µs (positive: the wall clock is ahead, e.g. stepped forward). */
export function driftUs(a: WallAnchor): number {
  return Date.now() * 1000 - nowUs(a);
}
