import { setFlagsFromString } from 'node:v8';

/**
 * Makes V8 collect garbage before its old generation grows by more than GROWTH_PERCENT over what
 * the last full collection kept, for the rest of the process. A flood fills the flow table with
 * flows that live long enough to reach the old generation and then die by the hundred thousand;
 * V8's own heuristics let a heap of that shape grow to 2-4 times what is live (measured: 1M
 * distinct SYNs imported with 500,000 open peaked at 1.66 GB, 800 MB with this). Switched on only
 * once the table is that large (createIngest's boundHeapAtFlows): below it the extra full
 * collections would cost an ordinary import time for nothing. `--heap-growing-percent` is read by
 * V8 at every collection, so setting it while running takes effect.
 */
const GROWTH_PERCENT = 20;

let bounded = false;

export function boundHeapGrowth(): void {
  if (bounded) return;
  bounded = true;
  setFlagsFromString(`--heap-growing-percent=${GROWTH_PERCENT}`);
}
