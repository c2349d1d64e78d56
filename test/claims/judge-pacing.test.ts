/**
 * Readers that run for months (--metrics, export --follow, watch) judge the claims again after new flows,
 * but a 30-day store can take seconds to judge: the gap grows so that judging stays a small share
 * of their time.
 */
import { describe, expect, it } from 'vitest';
import { judgingGapMs } from '../../src/claims/judge-pacing.js';
import { DEFAULTS } from '../../src/settings.js';

describe('claims judging pace', () => {
  it('a quick judging waits the reader\'s minimum gap', () => {
    expect(judgingGapMs(40, DEFAULTS.judgePace.metrics)).toBe(5000);
    expect(judgingGapMs(40, DEFAULTS.judgePace.exportFollow)).toBe(10_000);
  });

  it('a slow judging (a big store) waits until judging is at most 5 % of the time', () => {
    // 3 s to judge: the next one no sooner than 60 s later, i.e. 3 s of every 63 s at most
    for (const pace of [DEFAULTS.judgePace.metrics, DEFAULTS.judgePace.exportFollow]) {
      const gap = judgingGapMs(3000, pace);
      expect(gap).toBe(60_000);
      expect(3000 / (3000 + gap)).toBeLessThanOrEqual(pace.maxShare);
    }
  });

  it('watch\'s data thread gives judging at most 10 % of its time', () => {
    const pace = { minGapMs: DEFAULTS.watch.claimsEveryMs, maxShare: DEFAULTS.watch.claimsMaxShare };
    expect(judgingGapMs(100, pace)).toBe(5000);
    expect(judgingGapMs(1734, pace)).toBe(17_340); // a 50,000-flow session's evaluation (bench/RESULTS.md)
  });
});
