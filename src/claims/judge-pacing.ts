/**
 * How often a long-running reader (the daemon's --metrics, `export --follow`, `watch`) judges the
 * claims again. Judging reads the whole session, so on a store kept for 30 days it can take
 * seconds: the gap after a judging is at least the reader's minimum, and long enough that judging
 * takes at most `maxShare` of the reader's time.
 */
export interface JudgePace {
  /** The shortest gap between two judgings, ms. */
  minGapMs: number;
  /** The largest share of the time judging may take (0.05: 5 %). */
  maxShare: number;
}

/** The gap (ms) to wait after a judging that took `tookMs`. */
export function judgingGapMs(tookMs: number, pace: JudgePace): number {
  return Math.max(pace.minGapMs, tookMs / pace.maxShare);
}
