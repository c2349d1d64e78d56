/**
 * The dashboard's UI thread's young generation (V8's new space), kept small. A Worker's can be
 * capped (the data thread's: resourceLimits), the main thread's only by node's command line, which
 * `watch` does not own. Left alone, V8 doubles it whenever much of it survives a scavenge, as while
 * ink, React and their ~500 modules load (es-toolkit/compat alone is 415), up to 16 MB, and it stays
 * that size: ~12 MB of the dashboard's resident memory (bench/RESULTS.md, "watch", 2026-12-01).
 *
 * Where it works: V8's `--semi-space-growth-factor` below 2. Node 20's V8 (11.3) honours 1 (tested:
 * test/watch/dashboard-memory.test.ts). Newer V8 declares `DEFINE_MIN_VALUE_IMPLICATION(
 * semi_space_growth_factor, 2)` (flag-definitions.h: found in V8 13.x's, the Turboshaft-wasm era that
 * Node 24's 13.6 belongs to), and `v8.setFlagsFromString` ends by enforcing the implications, which
 * silently puts the factor back to 2: no effect, no message. A V8 without the flag at all would
 * print "Error: unrecognized flag" on the terminal. So the flag is set only on a V8 where it is known
 * to work (major ≤ 12: 11.3 measured; Node 22's 12.4 has the flag, whether it has the implication is
 * not known here, and either way setting it prints nothing and fails nothing); elsewhere the UI
 * thread keeps V8's young generation, which cost ~12 MB of VmHWM where measured (wmem: 148 MB with
 * the flag, 147–161 without it, bench/RESULTS.md) — the dashboard's memory target is then not claimed there.
 */
import { setFlagsFromString } from 'node:v8';
import { DEFAULTS } from '../settings.js';

/** The newest V8 major in which a growth factor below 2 is known to be honoured or harmless (see above). */
const NEWEST_V8_HONOURING_SMALL_GROWTH = 12;

/** True when V8 `v8Version` (process.versions.v8, e.g. "11.3.244.8-node.38") may be given a growth factor below 2. */
export function honoursSmallYoungGrowth(v8Version: string): boolean {
  const major = Number.parseInt(v8Version, 10);
  return Number.isInteger(major) && major <= NEWEST_V8_HONOURING_SMALL_GROWTH;
}

/**
 * Stops the young generation growing from here on (V8 reads the growth factor each time it would
 * grow it), where this V8 honours it: true when set, false when left to V8. Called before ink
 * loads, and again once the data thread runs: a Worker's start puts the factor back to V8's (Node
 * 20, measured: native-notes/ink.md). Its cost: more, smaller scavenges on the UI thread (measured with the render's CPU in
 * bench/watch.mjs, which does the same). Never prints, never throws: a failure leaves V8's default.
 */
export function keepYoungGenerationSmall(v8Version = process.versions.v8): boolean {
  if (!honoursSmallYoungGrowth(v8Version)) return false;
  try {
    setFlagsFromString(`--semi-space-growth-factor=${DEFAULTS.watch.uiYoungGrowth}`);
    return true;
  } catch {
    return false;
  }
}
