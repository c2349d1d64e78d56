/**
 * What V8 compiles more than once in an import of the benchmark's own capture (bench/run.mjs:
 * 1,000,000 packets, 50,000 flows, 2,000 open at once; made here by bench/generate-capture.mjs,
 * 156 MB, in ~2 s): code thrown away at a path, a value or a growth first met after it was
 * compiled, in the flow table (src/flows/flow-table.ts), in the flow row code the writer thread
 * runs (src/flows/conn-state.ts, community-id.ts) and in reading DNS answers (src/decode/addr-parse.ts).
 * Read from V8's own trace of one real import (test/helpers/v8-trace.ts); the writer-recompile
 * test reads one of a 100,000-packet capture, where these do not show (fewer flows open, no UDP
 * flow closes before the end).
 */
import { expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { dependencyDeopts, generatedImportTrace, traceOf } from '../helpers/v8-trace.js';

/** One import of the benchmark's capture under V8's trace (made once, read by each test). */
const benchImport = generatedImportTrace(1_000_000, 50_000);

// Read from bin/ollama-audit.js's dist/, under V8 11's trace format and compile decisions.
describeNeeding(['dist', 'v8-11'], 'an import of the benchmark capture compiles the flow table and the flow rows once', () => {
  it('the table grows without its growth being thrown away, and new flows take their rows without a recompile', () => {
    const lines = benchImport();
    // grow(): its concat() of a new array threw its compiled code away at once ("out of bounds"):
    // compiled, thrown away, compiled on-stack for its loop, compiled again (3). Now on-stack once
    // for its loop, then once.
    const grow = traceOf(lines, 'grow');
    expect(grow.deopts).toEqual([]);
    expect(grow.compiles).toBeLessThanOrEqual(2);
    // takeLossRow: the loss pool's growth and a reused row each first met after it was compiled (3 compiles).
    const take = traceOf(lines, 'takeLossRow');
    expect(take.compiles).toBe(1);
    expect(take.deopts).toEqual([]);
    // trackBareSyn: a reused loss row's number came off the pool's Float64Array as a double ("not a Smi").
    const bareSyn = traceOf(lines, 'trackBareSyn');
    expect(bareSyn.compiles).toBe(1);
    expect(bareSyn.deopts).toEqual([]);
    // clearWords: the table's conn array was a constant to V8 until the first grow() replaced it.
    expect(traceOf(lines, 'clearWords').compiles).toBe(1);
    expect(dependencyDeopts(lines, 'clearWords')).toEqual([]);
  }, 120_000);

  it("a DNS answer's address is read without Node's Buffer.from(array), which was thrown away and compiled again", () => {
    // src/decode/addr-parse.ts, per DNS answer (the DNS cache's key): Buffer.from(t.split('.').map(Number))
    // deoptimized parseAddr and Node's fromArrayLike ("wrong map"), and fromArrayLike was compiled twice.
    const lines = benchImport();
    expect(traceOf(lines, 'parseAddr').deopts).toEqual([]);
    expect(traceOf(lines, 'fromArrayLike').deopts).toEqual([]);
    expect(traceOf(lines, 'fromArrayLike').compiles).toBeLessThanOrEqual(1);
  }, 120_000);

  it("the writer thread's row code is not thrown away at the first UDP flow's row (the capture's end)", () => {
    // UDP flows close only at the end of this capture (9.5 s of capture time, 60 s idle timeout):
    // conn_state's branch for a flow not TCP, and Community ID's compare for UDP ports, first ran
    // there, after V8 had compiled the row builder (then flowRowFrom, now flowRowInto) and communityIdV1
    // for TCP rows only.
    const lines = benchImport();
    // At most once each: V8 may inline one into another (depending on which the writer thread's
    // turns made hot first), never thrown away.
    for (const fn of ['insertFlows', 'flowRowInto', 'unpackFlowRows', 'communityIdV1']) {
      const t = traceOf(lines, fn);
      expect(t.compiles, fn).toBeLessThanOrEqual(1);
      expect(t.deopts, fn).toEqual([]);
    }
  }, 120_000);
});
