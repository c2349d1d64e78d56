/**
 * The dashboard's first frame does not wait for the first claims evaluation (issue #11: ~2 s at
 * 50,000 flows): it shows the flows with the claims strip saying "judging…", and the verdicts
 * follow in a frame of their own once the first frame
 * is drawn (one frame interval later: the first render, the first full sort and the first
 * evaluation at the same moment were the dashboard's memory peak). `watch --once` and the lines print verdicts, so their
 * source (loopSource without the option, as run-modes.ts makes it) still judges before its first
 * frame. The store is a real import of the demo capture (a pull; it never reached api.ollama.ai).
 */
import { createElement as h } from 'react';
import { renderToString } from 'ink';
import { expect, it } from 'vitest';
import { loopSource } from '../../src/watch/data/loop-source.js';
import type { Frame, FrameQuery } from '../../src/watch/data/frame.js';
import { Screen } from '../../src/watch/ui/screen.js';
import { initialUiState } from '../../src/watch/state/ui-state.js';
import { demoStore } from './demo-store.js';

const QUERY: FrameQuery = {
  view: 'flows', detail: null, paused: false,
  flows: { all: true, closed: true, filter: '', sort: 'total', reverse: false, frozen: false, offset: 0, height: 30 },
};
const CLAIM = 'wild-update-check-api-ollama-ai';
const drawn = (f: Frame) => renderToString(h(Screen, { frame: f, ui: initialUiState(true), columns: 120, rows: 40, noColor: true, notice: null }), { columns: 120 });

async function framesOf(claimsAfterFirstFrame: boolean | undefined): Promise<{ first: Frame[]; soon: number; later: Frame[] }> {
  const store = await demoStore('oawc-first-');
  const src = loopSource({ dbPath: store.path, outDir: store.dir, clock: () => 1_000, claimsEveryMs: 5_000, frameMs: 500, claimsAfterFirstFrame });
  const frames: Frame[] = [];
  src.onFrame((f) => frames.push(f));
  try {
    src.query(QUERY);
    const first = [...frames];
    // The first frame is drawn and the first full sort done before the claims are judged: nothing
    // in the next turn of the event loop, the verdicts one frame interval (500 ms) later.
    await new Promise((r) => setImmediate(r));
    src.tick(); // a poll (every 250 ms in the dashboard) before the first evaluation is due does not judge
    const soon = frames.length - first.length;
    await new Promise((r) => setTimeout(r, 600));
    return { first, soon, later: frames.slice(first.length) };
  } finally {
    await src.close();
    store.remove();
  }
}

it('the dashboard draws the flows before the first claims evaluation, then the verdicts one frame interval later', async () => {
  const { first, soon, later } = await framesOf(true);
  expect(first).toHaveLength(1);
  expect(first[0].total).toBeGreaterThan(0);
  expect(first[0].claims).toEqual([]);
  expect(first[0].judging).toBe(true);
  expect(drawn(first[0])).toContain('claims: judging…');
  // Not while the UI draws its first frame (the memory peak), but one frame interval later, in a frame of its own.
  expect(soon).toBe(0);
  expect(later).toHaveLength(1);
  expect(later[0].judging).toBe(false);
  expect(later[0].claims.find((c) => c.id === CLAIM)?.verdict).toBe('holds');
  expect(drawn(later[0])).not.toContain('judging');
});

it('`watch --once` and the lines (no option) judge before their first frame', async () => {
  const { first, later } = await framesOf(undefined);
  expect(first).toHaveLength(1);
  expect(first[0].judging).toBe(false);
  expect(first[0].claims.find((c) => c.id === CLAIM)?.verdict).toBe('holds');
  expect(later).toHaveLength(0);
});
