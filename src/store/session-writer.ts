import { Worker } from 'node:worker_threads';
import type { Flow, FlowProcess } from '../flows/flow.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import { pktapProcessRole, processRole } from '../knowledge/processes.js';
import {
  dnsRow, flowRow, httpRow, processRow, sessionEndRow, FIND_IMPORT_BY_SHA256, FINISH_SESSION, INSERT_DNS, INSERT_FLOW, INSERT_HTTP,
  INSERT_PROCESS, INSERT_SESSION, type ProcessRecord, type Row, type SessionEnd, type SessionStart,
} from './session-rows.js';
import { DuplicateImportError, explainStoreError } from './store-error.js';
import { processNumbering } from './process-numbers.js';

export type { SessionEnd, SessionStart, ProcessRecord } from './session-rows.js';

/** Rows per message to the writer thread, and messages allowed in flight before the capture thread waits. */
const BATCH_ROWS = 2000;
const MAX_IN_FLIGHT = 32;


export interface SessionWriter {
  flow(f: Flow, c: Classification): void;
  dns(r: DnsRecord): void;
  http(r: HttpRecord): void;
  /**
   * The imported file (opts.hashFile) has been read up to byte `to`: the writer thread hashes
   * (SHA-256) its bytes up to there beside its inserts and stores the digest as the session's
   * source_sha256. It reads them again from its own descriptor, right after this thread did, so
   * from the page cache: hashing on the decoding thread cost it ~0.3 s per 156 MB, copying each
   * window to the thread ~0.2 s (page faults of fresh buffers); this costs it one message per
   * 4 MiB. Call with growing `to`, ending at the file's size.
   */
  fileReadTo(to: number): void;
  /**
   * Ends the session: resolves with its id once it is committed; rejects with a StoreError, or
   * with a DuplicateImportError (nothing stored) when `refuseDuplicate` and another session
   * already holds a file with the SHA-256 of opts.hashFile.
   */
  commit(end: SessionEnd, opts?: { refuseDuplicate?: boolean }): Promise<number>;
  /** Rolls the whole session back. Never rejects. */
  abort(): Promise<void>;
}

/**
 * Opens one session of the store for writing, in one transaction held by a writer thread:
 * either the whole session lands or nothing of it does, and earlier sessions are untouched.
 * Rows are built here and sent in batches; the thread inserts them while this one decodes.
 * The database must already exist and be migrated (openDb).
 *
 * Returns at once: the thread starts and opens the store (about 60 ms) while the caller already
 * decodes. A store that cannot be written (locked, read-only) makes the next batch, commit()
 * or at the latest the first batch after the thread answered throw the StoreError.
 */
export async function beginSession(
  dbPath: string, start: SessionStart, opts: { busyTimeoutMs?: number; hashFile?: string } = {},
): Promise<SessionWriter> {
  const pending = new SharedArrayBuffer(4);
  const inFlight = new Int32Array(pending);
  const worker = new Worker(new URL('./writer-thread.js', import.meta.url), {
    workerData: {
      dbPath, busyTimeoutMs: opts.busyTimeoutMs ?? 5000, pending,
      sql: {
        flow: INSERT_FLOW, dns: INSERT_DNS, http: INSERT_HTTP, process: INSERT_PROCESS, session: INSERT_SESSION,
        finish: FINISH_SESSION, findImport: FIND_IMPORT_BY_SHA256,
      },
    },
  });
  let failure: { code: string; message: string } | null = null;
  let sessionId = 0;
  type Answer = { op: string; sessionId?: number; earlier?: { id: number; recorded_at: number } };
  const waiters: ((m: Answer) => void)[] = [];
  worker.on('message', (m: Answer & { code?: string; message?: string }) => {
    if (m.op === 'began') {
      sessionId = m.sessionId!;
      return;
    }
    if (m.op === 'error') failure = { code: m.code ?? '', message: m.message ?? '' };
    waiters.shift()?.(m);
  });
  worker.on('error', (err) => {
    failure = { code: (err as { code?: string }).code ?? '', message: err.message };
    waiters.shift()?.({ op: 'error' });
  });
  const next = () => new Promise<Answer>((resolve) => waiters.push(resolve));
  const storeError = () => explainStoreError(Object.assign(new Error(failure!.message), { code: failure!.code }), dbPath);

  worker.postMessage({ op: 'begin', session: [start.kind, start.source, start.format, start.filter ?? null, Date.now() * 1000] });

  let batch = { flows: [] as Row[], dns: [] as Row[], http: [] as Row[], processes: [] as Row[] };
  let rows = 0;
  const numbering = processNumbering<string>((seq, rec) => add(batch.processes, processRow(seq, rec)));

  function post(): void {
    if (failure !== null) throw storeError();
    if (rows === 0) return;
    // Backpressure: the capture thread never runs ahead of the writer by more than a few batches.
    const started = Date.now();
    while (Atomics.load(inFlight, 0) >= MAX_IN_FLIGHT) {
      Atomics.wait(inFlight, 0, Atomics.load(inFlight, 0), 100);
      if (Date.now() - started > 120_000) throw new Error('the store writer thread stopped answering');
    }
    Atomics.add(inFlight, 0, 1);
    worker.postMessage({ op: 'rows', ...batch });
    batch = { flows: [], dns: [], http: [], processes: [] };
    rows = 0;
  }

  function fileReadTo(to: number): void {
    if (opts.hashFile === undefined) throw new Error('fileReadTo without opts.hashFile');
    worker.postMessage({ op: 'hash', path: opts.hashFile, to });
  }

  function add(list: Row[], row: Row): void {
    list.push(row);
    if (++rows >= BATCH_ROWS) post();
  }

  /** The row of a process named by the packets themselves (ptcpdump comments, macOS pktap blocks). */
  function packetProcess(p: FlowProcess): number {
    if (p.source === 'pktap') {
      const role = pktapProcessRole(p.name, p.exe);
      return numbering.seqOf(`pktap\0${p.pid}\0${p.name}\0${p.exeUuid ?? ''}`, () => ({
        pid: p.pid, startTime: null, ppid: null, comm: p.name, exe: p.exe, exeSha256: null, cmdline: null, uid: null,
        role, ollamaTree: role !== null, source: 'pktap', exeUuid: p.exeUuid ?? null,
      }));
    }
    return numbering.seqOf(`${p.pid}\0${p.name}`, () => ({
      pid: p.pid, startTime: null, ppid: null, comm: p.name, exe: p.exe, exeSha256: null, cmdline: null, uid: null,
      role: processRole(p.name), ollamaTree: processRole(p.name) !== null, source: 'pcapng-comment',
    }));
  }

  function flowRowOf(f: Flow, c: Classification): Row {
    const effective = f.effectiveProcess && packetProcess({ ...f.effectiveProcess, exe: null, source: 'pktap' });
    return flowRow(f, c, f.process && packetProcess(f.process), f.peerProcess && packetProcess(f.peerProcess), effective);
  }

  let done = false;
  return {
    flow: (f, c) => add(batch.flows, flowRowOf(f, c)),
    dns: (r) => add(batch.dns, dnsRow(r)),
    http: (r) => add(batch.http, httpRow(r)),
    fileReadTo,
    async commit(end, opts = {}) {
      done = true;
      if (failure === null) {
        post();
        worker.postMessage({ op: 'commit', end: sessionEndRow(end), refuseDuplicate: opts.refuseDuplicate === true });
      }
      const m: Answer = failure ? { op: 'error' } : await next();
      await worker.terminate();
      if (m.op === 'duplicate') throw new DuplicateImportError(m.earlier!.id, m.earlier!.recorded_at);
      if (m.op !== 'committed') throw storeError();
      return sessionId;
    },
    async abort() {
      if (done) return;
      done = true;
      if (!failure) {
        worker.postMessage({ op: 'abort' });
        await next();
      }
      await worker.terminate();
    },
  };
}
