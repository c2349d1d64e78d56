/**
 * The dashboard's UI thread's young generation (V8's new space), kept small. A Worker's can be
 * capped (the data thread's: resourceLimits), the main thread's only by node's command line, which
 * `watch` does not own. Left alone, V8 doubles it whenever much of it survives a scavenge, as while
 * ink, React and their ~500 modules load (es-toolkit/compat alone is 415), up to 16 MB, and it stays
 * that size: ~12 MB of the dashboard's resident memory (bench/RESULTS.md, "watch", 2026-12-01).
 */
import { setFlagsFromString } from 'node:v8';
import { DEFAULTS } from '../settings.js';

/**
 * Stops the young generation growing from here on (V8 reads the growth factor each time it would
 * grow it). Called before ink loads. Its cost: more, smaller scavenges on the UI thread (measured
 * with the render's CPU in bench/watch.mjs, which does the same).
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULTS.watch.uiYoungGrowth}`);
}
