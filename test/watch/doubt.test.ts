/**
 * SILENT is green only when silence was watched: the frame carries why it may not be (coverage not
 * evaluated, a coverage problem, lowered attribution confidence, a daemon's store not written
 * lately), the screen shows it in the banner, and the lines and JSON say it. The coverage is the
 * demo store's real claims report, with one field changed per case.
 */
import { createElement as h } from 'react';
import { renderToString } from 'ink';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { claimsReport, type ClaimsReport } from '../../src/claims/evaluate.js';
import { openDb } from '../../src/store/open-db.js';
import { WatchModel } from '../../src/watch/data/model.js';
import { Screen } from '../../src/watch/ui/screen.js';
import { frameQueryOf, initialUiState } from '../../src/watch/state/ui-state.js';
import { summaryJson, summaryLine } from '../../src/watch/summary-line.js';
import { demoStore, type DemoStore } from './demo-store.js';

let store: DemoStore;
let report: ClaimsReport;
beforeAll(async () => {
  store = await demoStore('oadb-');
  const db = openDb(store.path, { readonly: true });
  try {
    report = claimsReport(db);
  } finally {
    db.close();
  }
});
afterAll(() => store.remove());

const NOW = Date.UTC(2026, 10, 30, 20, 0, 0);
const ui = initialUiState(false);

/** A live model with no flows (so the banner is SILENT) and this coverage. */
function silentFrame(coverage: Partial<ClaimsReport['coverage']['sessions'][number]> | null, lastWriteAgoS: number | null = 1) {
  const m = new WatchModel();
  m.header = { session: 1, source: 'audit.db', lastWriteAgoS, live: true };
  if (coverage) m.setClaims({ ...report, coverage: { ...report.coverage, sessions: [{ ...report.coverage.sessions[0]!, ...coverage }] } });
  return m.frame(frameQueryOf(ui, 20), NOW);
}

it('a watched, clean, recently written session: SILENT with no doubt (green)', () => {
  const f = silentFrame({ problems: [], confidence_note: null });
  expect(f.banner.kind).toBe('silent');
  expect(f.doubt).toBeNull();
  expect(summaryLine(f)).not.toContain('unverified');
});

it('each reason for doubt is said in the frame, the banner, the line and the JSON', () => {
  const cases: [Parameters<typeof silentFrame>, RegExp][] = [
    [[null], /^coverage not evaluated yet$/],
    [[{ problems: ['kernel drops 12 % (over 1 %)'], confidence_note: null }], /^kernel drops 12 %/],
    [[{ problems: [], confidence_note: 'procfs alone, and 3 flows shorter than 1 s stayed unattributed' }], /^attribution confidence lowered: procfs alone/],
    [[{ problems: [], confidence_note: null }, 12], /^the daemon has not written for 12 s/],
  ];
  for (const [args, why] of cases) {
    const f = silentFrame(...args);
    expect(f.banner.kind).toBe('silent');
    expect(f.doubt).toMatch(why);
    expect(summaryLine(f)).toContain(`(unverified: ${f.doubt})`);
    expect(JSON.parse(summaryJson(f)).doubt).toBe(f.doubt);
    const screen = renderToString(h(Screen, { frame: f, ui, columns: 200, rows: 40, noColor: true, notice: null }), { columns: 200 });
    expect(screen.split('\n').find((l) => l.startsWith('SILENT for'))).toContain(`unverified: ${f.doubt}`);
  }
});

it('lowered confidence is on the coverage view and the claims strip, not "coverage ok"', () => {
  const f = silentFrame({ problems: [], confidence_note: 'lsof lookups' });
  expect(f.coverage?.confidenceNote).toBe('lsof lookups');
  expect(f.claims.every((c) => c.coverage === 'confidence lowered')).toBe(true);
});

it('"expired early" counts the kinds coverage counts: not the half-open timeout, nor a REJ flow closed after 1 s under pressure', () => {
  const f = silentFrame({ problems: [], confidence_note: null, expired_early: { half_open_timeout: 40, rejected_closed_early: 500_000, evicted_half_open: 3, unwritten_at_stop: 2 } });
  expect(f.coverage?.expiredEarly).toBe(5);
});
