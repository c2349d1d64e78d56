/**
 * A flow whose owner is found after its row was written (a kernel socket event that came late,
 * src/attribution/procfs-attributor.ts): the change set writes its row again, once, classified
 * again, and a stop that cannot write it does not count it as unwritten (its counters are stored).
 * The live case that found it: test/live/stop-deadline.test.ts under --attribution auto.
 */
import { describe, expect, it } from 'vitest';
import type { Attributor } from '../../src/attribution/attributor.js';
import type { Classification } from '../../src/classify/classify.js';
import { createChangeSet } from '../../src/live/live-batches.js';
import { makeFlow } from '../helpers/make-flow.js';

const attributor = { processOf: () => null, peerOf: () => null } as unknown as Attributor;
const other: Classification = { activity: 'other', ollama: false, reason: 'no owner' };
const ollamas: Classification = { activity: 'other', ollama: true, reason: 'the Ollama tree' };

describe('a flow named after its row was written', () => {
  it('closed: written again once with the new classification, still counted as stored', () => {
    const c = createChangeSet(attributor, false);
    const f = makeFlow({ closed: true });
    c.sinks.flow(f, other);
    const first = c.takeChanged();
    c.wrote(c.rowsOf(c.flowsOf(first.open), first.closed, () => other).flows);
    expect(c.isStored(f)).toBe(true);
    c.resolved(f, () => ollamas);
    c.resolved(f, () => ollamas); // a second event for the other end: still one row
    const again = c.takeChanged();
    expect(again.open).toEqual([]);
    expect(again.closed.map((x) => [x.flow, x.cls])).toEqual([[f, ollamas]]);
    expect(c.isStored(f)).toBe(true);
    expect(c.needsRow(f, ollamas)).toBe(true);
  });

  it('closed but not yet taken: its pending row takes the new classification, no second row', () => {
    const c = createChangeSet(attributor, false);
    const f = makeFlow({ closed: true });
    c.sinks.flow(f, other);
    c.resolved(f, () => ollamas);
    const taken = c.takeChanged();
    expect(taken.closed.map((x) => [x.flow, x.cls])).toEqual([[f, ollamas]]);
    expect(taken.open).toEqual([]);
  });

  it('open: dirty again, its counters still count as stored', () => {
    const c = createChangeSet(attributor, false);
    const f = makeFlow({ closed: false });
    c.touched(f);
    const first = c.takeChanged();
    c.wrote(c.rowsOf(c.flowsOf(first.open), first.closed, () => other).flows);
    c.resolved(f, () => ollamas);
    expect(c.takeChanged().open).toEqual([f]);
    expect(c.isStored(f)).toBe(true);
  });
});
