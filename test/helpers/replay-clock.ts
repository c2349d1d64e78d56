/**
 * A replay clock (capture/replay-capture.ts) that jumps to each packet's time, a few ms of real
 * time apart: a replay through the live engine runs in well under a second, and the engine's
 * writes (every writeIntervalMs of real time) fall between packets.
 */
import type { ReplayClock } from '../../src/capture/replay-capture.js';

export function virtualClock(startMs: number): ReplayClock {
  let now = startMs;
  return {
    now: () => now,
    setTimer: (fn, ms) => setTimeout(() => {
      now += ms;
      fn();
    }, 2),
    clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
  };
}
