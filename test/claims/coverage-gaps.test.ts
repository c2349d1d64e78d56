/**
 * A live session whose store's disk was full (sessions.gaps, written by the live engine): coverage
 * names each window and no claim may hold over it, whatever the claim needs. The end-to-end case
 * (a real daemon on a full tmpfs) is test/live/store-full.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { blockers, sessionCoverage } from '../../src/claims/coverage.js';
import { sessionFacts, type SessionRows } from '../../src/claims/session-facts.js';

function liveSession(gaps: string | null): SessionRows {
  return {
    session: {
      id: 1, kind: 'live', source: 'eth0', format: 'live', interfaces: JSON.stringify([{ index: 0, name: 'eth0', linktype: 1 }]),
      started_at: 1_700_000_000_000_000, ended_at: 1_700_000_060_000_000, packets: 100, drops: 0, loss_estimate: 0, gaps, expired_early: '{}',
    },
    dns: [], http: [], processCount: 1,
  };
}

describe('coverage of a session with store gaps', () => {
  it('no gap: nothing blocks a claim that needs neither off-host visibility nor attribution', () => {
    const cov = sessionCoverage(sessionFacts(liveSession(null)));
    expect(cov.store_gaps).toEqual([]);
    expect(blockers(cov, { offHost: false, attribution: false })).toEqual([]);
  });

  it('a gap is a problem naming its window and losses, and blocks every claim', () => {
    const gap = { start_us: 1_700_000_010_000_000, end_us: 1_700_000_020_000_000, flows_not_stored: 150, flows_incomplete: 20, records_not_stored: 7 };
    const cov = sessionCoverage(sessionFacts(liveSession(JSON.stringify([gap]))));
    expect(cov.store_gaps).toEqual([gap]);
    const problem = "the store's disk was full from 2023-11-14T22:13:30.000000Z to 2023-11-14T22:13:40.000000Z: 170 flows and 7 DNS/HTTP records of that window were not stored";
    expect(cov.problems).toContain(problem);
    expect(blockers(cov, { offHost: false, attribution: false })).toEqual([problem]);
    expect(blockers(cov, { offHost: true, attribution: true })).toContain(problem);
  });
});
