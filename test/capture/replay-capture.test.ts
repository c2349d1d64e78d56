/**
 * The replay capture (`demo --watch`): every packet of a real capture, in the file's order, at the
 * file's pace divided by the speed. Expected values come from tshark reading the same file
 * (frame.time_relative, lengths, interface, comment), not from our readers. The clock and timer are
 * injected: time moves only when the replay's timer fires, so the spacing is checked exactly.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openReplayCapture, type ReplayClock } from '../../src/capture/replay-capture.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkColumns } from '../helpers/tshark.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const DEMO = join(FIXTURES, 'demo', 'ollama-pull.pcapng');
const NANO_PCAP = join(FIXTURES, 'pull-eth-nano.pcap');
const START_MS = 1_800_000_000_000;

/** A clock that stands still until the earliest pending timer fires. */
function fakeClock(): ReplayClock & { runAll(): void; timersSet: number } {
  let now = START_MS;
  let pending: { fn: () => void; at: number } | null = null;
  const clock = {
    timersSet: 0,
    now: () => now,
    setTimer(fn: () => void, ms: number) {
      expect(pending).toBeNull(); // one timer at a time
      expect(ms).toBeGreaterThan(0); // never a busy loop
      pending = { fn, at: now + ms };
      clock.timersSet++;
      return pending;
    },
    clearTimer(h: unknown) { if (pending === h) pending = null; },
    runAll() {
      while (pending !== null) {
        const t: { fn: () => void; at: number } = pending;
        pending = null;
        now = t.at;
        t.fn();
      }
    },
  };
  return clock;
}

interface Seen { atMs: number; tsUs: number; caplen: number; origLen: number; iface: number; comment: boolean }

function replay(file: string, speed: number): { seen: Seen[]; ended: Promise<void>; stats: ReturnType<ReturnType<typeof openReplayCapture>['stats']>; timers: number } {
  const clock = fakeClock();
  const cap = openReplayCapture(file, { speed, clock });
  const seen: Seen[] = [];
  cap.start((p) => seen.push({ atMs: clock.now(), tsUs: p.ts, caplen: p.caplen, origLen: p.origLen, iface: p.iface, comment: p.comment !== null }));
  clock.runAll();
  return { seen, ended: cap.ended, stats: cap.stats(), timers: clock.timersSet };
}

describeNeeding(['tshark'], 'replay capture', () => {
  for (const [file, speed] of [[DEMO, 1], [DEMO, 50], [DEMO, 0.5], [NANO_PCAP, 7]] as const) {
    it(`${file.split('/').pop()} at ${speed}x: every packet in file order, spaced by tshark's frame.time_relative / ${speed}`, async () => {
      const truth = tsharkColumns(file, ['frame.time_relative', 'frame.cap_len', 'frame.len', 'frame.interface_id', 'frame.comment']);
      const { seen, ended, stats, timers } = replay(file, speed);
      expect(seen.length).toBe(truth.length);
      await ended;
      expect(stats.total.delivered).toBe(truth.length);
      let latestDue = -Infinity;
      let handedAtOnce = 0;
      truth.forEach(([rel, caplen, len, iface, comment], i) => {
        const offsetMs = (Number(rel) * 1000) / speed;
        // Stamped with the replayed time: the capture's spacing, scaled, from the moment replay started.
        expect(Math.abs(seen[i].tsUs - (START_MS * 1000 + offsetMs * 1000)), `packet ${i + 1} stamp`).toBeLessThan(1);
        // Handed on when due (to 1 µs: doubles of ms since the epoch); a packet stamped before the one before it (file order is kept) at once.
        if (START_MS + offsetMs < latestDue) handedAtOnce++;
        latestDue = Math.max(latestDue, START_MS + offsetMs);
        expect(Math.abs(seen[i].atMs - latestDue), `packet ${i + 1} handed at`).toBeLessThan(1e-3);
        expect([seen[i].caplen, seen[i].origLen, seen[i].iface, seen[i].comment], `packet ${i + 1}`).toEqual([Number(caplen), Number(len), Number(iface), comment !== '']);
      });
      // The whole replay lasts the capture's duration / speed.
      const durationMs = (Math.max(...truth.map(([rel]) => Number(rel))) * 1000) / speed;
      expect(Math.abs(seen[seen.length - 1].atMs - START_MS - durationMs)).toBeLessThan(1e-3);
      expect(timers).toBeGreaterThan(10);
      if (file === DEMO) {
        // dumpcap's two interfaces are not in time order (fixtures/README.md): that case is exercised.
        expect(handedAtOnce).toBeGreaterThan(0);
        expect(seen.some((s) => s.comment)).toBe(true);
      } else {
        expect(stats.total.kernelDrops).toBeNull(); // classic pcap records no drops: unknown, not 0
      }
    });
  }
});

describe('replay capture: bad speed and stop', () => {
  it('refuses a speed that is not a positive finite number', () => {
    for (const speed of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => openReplayCapture(DEMO, { speed })).toThrow(/positive finite/);
    }
  });

  it('stop() mid-replay hands on nothing more and ends', async () => {
    const clock = fakeClock();
    const cap = openReplayCapture(DEMO, { speed: 1, clock });
    let n = 0;
    cap.start(() => {
      if (++n === 3) cap.stop();
    });
    clock.runAll();
    await cap.ended;
    expect(n).toBe(3);
    expect(cap.stats().total.delivered).toBe(3);
  });
});
