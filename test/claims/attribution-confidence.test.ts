/**
 * A live session whose attribution came from procfs alone, with short flows left unattributed:
 * confidence is lowered (issue #14), the verdicts are not. With kernel socket events on for the
 * whole session, or for an import, it is not. The end-to-end case (real daemons, procfs and ebpf
 * on the same short connections) is test/live/e2e/kernel-events.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { sessionCoverage } from '../../src/claims/coverage.js';
import { FlowFacts, type FlowKind } from '../../src/claims/flow-facts.js';
import { sessionFacts, type SessionRows } from '../../src/claims/session-facts.js';

const KIND: FlowKind = {
  proto: 6, responderPort: 443, activity: 'other', hostname: null, names: [], dnsQueries: [], direction: 'outbound', viaProxy: false,
  answered: true, connState: 'SF', history: 'ShADadFf', outcome: 'connected', owner: null, attributable: true,
  process: null, peerProcess: null, isApi: false,
};

function session(kind: string, attribution: object | null, flowMs: number[]): ReturnType<typeof sessionFacts> {
  const rows: SessionRows = {
    session: {
      id: 1, kind, source: 'eth0', format: kind, interfaces: JSON.stringify([{ index: 0, name: 'eth0', linktype: 1 }]),
      started_at: 1_700_000_000_000_000, ended_at: 1_700_000_060_000_000, packets: 100, drops: 0, loss_estimate: 0, gaps: null,
      expired_early: '{}', attribution: attribution === null ? null : JSON.stringify(attribution),
    },
    dns: [], http: [], processCount: kind === 'live' ? 0 : 1,
  };
  const flows = new FlowFacts(flowMs.length);
  flowMs.forEach((ms, i) => flows.push(
    { id: i + 1, seq: i, firstSeen: 1_700_000_001_000_000, lastSeen: 1_700_000_001_000_000 + ms * 1000, bytes: 500, initiatorAddr: '10.0.0.2', responderAddr: '203.0.113.7', farPort: 443 },
    'k', () => KIND,
  ));
  return sessionFacts(rows, flows);
}

const PROCFS = { method: 'procfs', mode: 'procfs', kernel_events_since_us: null, why_not: null, kernel_events_lost: 0, kernel_event_gaps: [] };
const KERNEL = { method: 'kernel-events+procfs', mode: 'ebpf', kernel_events_since_us: 1_699_999_999_000_000, why_not: null, kernel_events_lost: 0, kernel_event_gaps: [] };

describe('attribution confidence', () => {
  it('is lowered for a procfs-only live session with short unattributed flows, and says why', () => {
    const cov = sessionCoverage(session('live', PROCFS, [3, 4, 2500]));
    expect(cov.short_unattributed).toBe(2);
    expect(cov.attribution_confidence).toBe('lowered');
    expect(cov.confidence_note).toMatch(/^attribution came from procfs alone, and 2 flows shorter than 1 s stayed unattributed/);
    // A confidence note, not a coverage problem: verdicts are judged as before.
    expect(cov.problems).toEqual([]);
  });

  it('stays normal with kernel events on throughout, without short unattributed flows, and for imports', () => {
    expect(sessionCoverage(session('live', KERNEL, [3, 4])).attribution_confidence).toBe('normal');
    expect(sessionCoverage(session('live', PROCFS, [2500])).attribution_confidence).toBe('normal');
    expect(sessionCoverage(session('file', null, [3])).attribution_confidence).toBe('normal');
  });

  it('is lowered for short flows that began before kernel events came up or in a gap, or when events were lost', () => {
    // The flows begin at 1_700_000_001_000_000 µs.
    const gap = { ...KERNEL, kernel_event_gaps: [{ start_us: 1_700_000_000_500_000, end_us: 1_700_000_002_000_000 }] };
    expect(sessionCoverage(session('live', gap, [3])).confidence_note).toMatch(/^kernel socket events were off for part of the session, and 1 flow/);
    const openGap = { ...KERNEL, kernel_event_gaps: [{ start_us: 1_700_000_000_500_000, end_us: null }] };
    expect(sessionCoverage(session('live', openGap, [3])).attribution_confidence).toBe('lowered');
    const late = { ...KERNEL, kernel_events_since_us: 1_700_000_001_500_000 };
    expect(sessionCoverage(session('live', late, [3, 4])).confidence_note).toMatch(/^kernel socket events were off for part of the session, and 2 flows/);
    // A gap elsewhere in the session does not touch flows that kernel events watched.
    const elsewhere = { ...KERNEL, kernel_event_gaps: [{ start_us: 1_700_000_030_000_000, end_us: 1_700_000_031_000_000 }] };
    expect(sessionCoverage(session('live', elsewhere, [3])).attribution_confidence).toBe('normal');
    expect(sessionCoverage(session('live', { ...KERNEL, kernel_events_lost: 7 }, [3])).confidence_note).toMatch(/^kernel socket events lost 7 events/);
    expect(sessionCoverage(session('live', null, [3])).attribution_confidence).toBe('lowered');
  });
});
