/**
 * Lines mode (`watch | cat`, `demo --watch --json`) and the end of an in-process source: the final
 * state is the last line, printed once. A replay at --speed 50 can end before the first line (CI
 * saw it under load): that first line is then the final state, not followed by a copy of itself.
 * When the end comes after the first line, the final state is read afresh and printed, even if
 * the signal path (`untilSignal`, which the end also settles) is settled at the same moment.
 * The store is a real import of the demo capture.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLines } from '../../src/watch/run-modes.js';
import { demoStore, type DemoStore } from './demo-store.js';

let store: DemoStore;
beforeAll(async () => { store = await demoStore('oarp-lines-end-'); });
afterAll(() => store.remove());

function collect(): { out: Writable; lines: () => { live: boolean; session_flows: number }[] } {
  const chunks: string[] = [];
  const out = new Writable({ write(c, _e, done) { chunks.push(String(c)); done(); } });
  return { out, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) };
}

const NEVER = new Promise<void>(() => undefined);

/** Until the first line is out (it comes at once; the next one a second later). */
async function firstLine(lines: () => unknown[]): Promise<void> {
  while (lines().length === 0) await new Promise((r) => setTimeout(r, 5));
}

describe('runLines and an in-process source that ends', () => {
  // With the signal path settled by the end (as watch-command's untilSignal) and without.
  for (const how of ['settled by the end', 'never settled'] as const) {
    it(`ended before the first line, signal path ${how}: one line, the final state`, async () => {
      const { out, lines } = collect();
      const ended = Promise.resolve();
      await runLines({ dbPath: store.path, outDir: store.dir, ended }, true, out, how === 'never settled' ? NEVER : ended.then(() => undefined));
      expect(lines()).toHaveLength(1);
      expect(lines()[0].live).toBe(false);
      expect(lines()[0].session_flows).toBeGreaterThan(0);
    });
  }

  it('ended after the first line: the first line, then the final state read afresh', async () => {
    const { out, lines } = collect();
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => { end = resolve; });
    const stopped = ended.then(() => undefined); // registered before runLines' own, as untilSignal's is
    const running = runLines({ dbPath: store.path, outDir: store.dir, ended }, true, out, stopped);
    await firstLine(lines);
    expect(lines()).toHaveLength(1);
    end();
    await running;
    expect(lines()).toHaveLength(2);
    expect(lines()[1].session_flows).toBe(lines()[0].session_flows);
  });

  it('a signal with no end: the lines stop without a final read', async () => {
    const { out, lines } = collect();
    let signal: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => { signal = resolve; });
    const running = runLines({ dbPath: store.path, outDir: store.dir, ended: NEVER }, true, out, stopped);
    await firstLine(lines);
    signal();
    await running;
    expect(lines()).toHaveLength(1);
  });
});
