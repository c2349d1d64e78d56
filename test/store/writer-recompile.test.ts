/**
 * The import's writer thread builds and inserts every flow row (src/store/flow-pack.ts,
 * writer-thread.ts); V8 compiles that code in the thread's own isolate, on top of the capture
 * thread's. Compiling it again because the compiled code met a value or a path it was not made
 * for (a deopt) was a measurable part of an import's extra work since ef8c83b (bench/RESULTS.md,
 * Import): the row loop three times (a status code stored into a field V8 had seen only null in),
 * the INSERT loop each time its remainder path first ran. A real import of a generated capture
 * under V8's own deopt trace; compiles are made on the thread that asks for them
 * (--no-concurrent-recompilation), so what is compiled, and when, does not depend on the load.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { dependencyDeopts, generatedImportTrace, traceOf } from '../helpers/v8-trace.js';

const dir = mkdtempSync(join(tmpdir(), 'oa-writer-recompile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One import of a generated 100,000-packet capture under V8's trace (made once, read by each test). */
const tracedImport = generatedImportTrace(100_000, 5_000);

// Read from bin/ollama-audit.js's dist/, under V8 11's trace format and compile decisions.
describeNeeding(['dist', 'v8-11'], 'an import compiles the code that hands flows to its writer thread once', () => {
  it('a 100,000-packet import: the row loop and the packing are never thrown away, the INSERT loop not for a path it had not run', () => {
    const lines = tracedImport();
    // The flow INSERT loop, the row loop it calls and the row builder: each compiled at most once
    // (none when V8 inlines it into its caller, which depends on when the writer thread's turns
    // made which of them hot: a loaded machine gave 0 compiles of the row loop once) and never
    // thrown away.
    for (const fn of ['insertFlows', 'unpackFlowRows', 'flowRowInto']) {
      const t = traceOf(lines, fn);
      expect(t.compiles, fn).toBeLessThanOrEqual(1);
      expect(t.deopts, fn).toEqual([]);
    }
    expect(['insertFlows', 'unpackFlowRows', 'flowRowInto'].some((fn) => traceOf(lines, fn).compiles === 1)).toBe(true);
    // The capture thread's side: packing each closed flow for the writer (flow-pack.ts), compiled
    // once (its strings list of a new batch was another array kind to V8: two deopts an import).
    const pack = traceOf(lines, 'packFlow');
    expect(pack.compiles).toBe(1);
    expect(pack.deopts).toEqual([]);
    const insert = traceOf(lines, 'insertAll');
    expect(insert.compiles).toBeGreaterThan(0);
    // What is left: row lists of two array kinds (built here, and deserialized from messages).
    expect(insert.deopts.filter((reason) => reason !== 'wrong map')).toEqual([]);
  }, 60_000);
});

describeNeeding(['dist', 'v8-11'], 'an import compiles no more on its capture thread than its packets need', () => {
  it("Node's CommonJS lexer is not compiled: no CommonJS module the import loads is lexed for named exports", () => {
    // An ES module importing a CommonJS one makes Node lex its source (cjs-module-lexer's
    // parseSource); dns-packet's 45 KB made V8 compile the lexer three times an import, about a
    // tenth of the capture thread's instructions (bench/RESULTS.md, Import, ninth session).
    expect(traceOf(tracedImport(), 'parseSource').compiles).toBe(0);
  }, 60_000);

  it("the flow table's count of a known flow's packet is compiled once, and no new flow's count thrown away", () => {
    // Each path of it first taken after V8 had compiled it (a flow moved at a list's head, the
    // first data, the first FIN) threw the compiled code away: count1 was compiled 5 times an
    // import, createBare and nextTcpState twice. Lists with sentinels and tables for the TCP
    // state and history letters leave no such path (src/flows/flow-table.ts, conn-state.ts).
    const lines = tracedImport();
    const count1 = traceOf(lines, 'count1');
    expect(count1.compiles).toBe(1);
    expect(count1.deopts).toEqual([]);
    expect(traceOf(lines, 'createBare').deopts).toEqual([]);
    expect(traceOf(lines, 'nextTcpState').deopts).toEqual([]);
    // conn-state.ts trackTcpConn: its sender-state test first ran at the capture's first data or
    // ack, after V8 had compiled it (a deopt "Insufficient type feedback"); it runs for every packet now.
    const conn = traceOf(lines, 'trackTcpConn');
    expect(conn.compiles).toBe(1);
    expect(conn.deopts).toEqual([]);
    // Its nextEndpoints: the peer's RESET test first ran at the first FIN of an established side.
    expect(traceOf(lines, 'nextEndpoints').deopts).toEqual([]);
    // The ingest's packet(), with the flow table's count and the TCP loss tracking inlined: thrown
    // away once, at the capture's first packet of a known flow (a path no packet before it took);
    // no longer also at the first ack of data (src/flows/tcp-loss.ts noteAck): 3 compiles before.
    expect(traceOf(lines, 'packet').compiles).toBeLessThanOrEqual(2);
  }, 60_000);

  it("the flow table's code that hands a new flow its rows is compiled once", () => {
    // clearWords (a slot's conn row zeroed) was compiled twice an import: V8 took the table's
    // `conn` array, written once when its FlowWords was made, as a constant, and threw the code
    // built on that away at the first grow(). takeLossRow twice: its call to grow the loss pool
    // first ran (at 1,024 TCP flows open) after V8 had compiled it (src/flows/flow-table.ts).
    const lines = tracedImport();
    for (const fn of ['clearWords', 'takeLossRow']) {
      const t = traceOf(lines, fn);
      expect(t.compiles, fn).toBe(1);
      expect(t.deopts, fn).toEqual([]);
    }
    // Not "code dependencies" either (a deopt without a bailout line: "marking dependent code").
    expect(dependencyDeopts(lines, 'clearWords')).toEqual([]);
  }, 60_000);

  it("the pcap reader's loop is compiled once: not thrown away at the window's first refill", () => {
    // The window's first read was 4 MiB: its first refill came ~27,000 packets in, a path V8 had
    // compiled the loop (the per-packet pipeline inlined) without, and the loop was compiled
    // again. The first read is short now (src/capture/file-window.ts FIRST_READ). What is left is
    // one deopt after the loop, at the file's end (nothing compiled after it).
    const readPcap = traceOf(tracedImport(), 'readPcap');
    expect(readPcap.compiles).toBe(1);
    expect(readPcap.deopts.length).toBeLessThanOrEqual(1);
  }, 60_000);
});

describeNeeding(['dist'], 'the writer thread loads better-sqlite3 without lexing it', () => {
  it('only the capture thread translates better-sqlite3 as a CommonJS module for ES modules (NODE_DEBUG=esm)', () => {
    // An ES module importing a CommonJS one makes Node lex that module for its named exports,
    // and in a worker thread that means loading and compiling the lexer there too: the writer
    // thread's `import Database from 'better-sqlite3'` did, in every import (~10-20 ms of CPU,
    // bench/RESULTS.md, Import, tenth session). By require it is not lexed. Both threads' debug
    // lines go to stderr; the capture thread's open-db.ts still imports it (once).
    const fixture = join(import.meta.dirname, '..', '..', 'fixtures', 'api-models.pcap');
    const r = spawnSync(process.execPath, [
      join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js'), 'import', fixture, '--db', join(dir, 'esm.db'), '--json',
    ], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, NODE_DEBUG: 'esm' } });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const translated = r.stderr.split('\n').filter((l) => /Translating CJSModule \S*\/better-sqlite3\/lib\/index\.js$/.test(l));
    // The trace is there (the capture thread's line), and the writer thread added none.
    expect(translated.length).toBe(1);
  }, 60_000);
});
