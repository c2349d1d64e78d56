import type { Worker } from 'node:worker_threads';
import type { Flow, FlowProcess } from '../flows/flow.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import { pktapProcessRole, processRole } from '../knowledge/processes.js';
import {
  dnsRow, httpRow, processRow, sessionEndRow, FIND_IMPORT_BY_SHA256, FINISH_SESSION, INSERT_DNS, INSERT_FLOW, INSERT_HTTP,
  INSERT_PROCESS, INSERT_SESSION, type ProcessRecord, type Row, type SessionEnd, type SessionStart,
} from './session-rows.js';
import { DuplicateImportError, explainStoreError } from './store-error.js';
import { processNumbering } from './process-numbers.js';
import { CHUNK_SIZE, type WindowBuffers } from '../capture/file-window.js';
import { createFlowPacker, newFlowSlots, type FlowSlots, type PackedFlows } from './flow-pack.js';
import { startThread } from './start-thread.js';

export type { SessionEnd, SessionStart, ProcessRecord } from './session-rows.js';

/**
 * Two CHUNK_SIZE buffers over SharedArrayBuffers for the reader's window, and one busy flag each:
 * set here when a buffer's bytes go to the writer thread for hashing, cleared there once hashed.
 * The window waits on the flag before it reads into that buffer again.
 */
function sharedWindowBuffers() {
  const sabs = [new SharedArrayBuffer(CHUNK_SIZE), new SharedArrayBuffer(CHUNK_SIZE)] as const;
  const busySab = new SharedArrayBuffer(8);
  const busy = new Int32Array(busySab);
  const buffers = [Buffer.from(sabs[0]), Buffer.from(sabs[1])] as const;
  const indexOf = (b: Buffer) => (b.buffer === sabs[0] ? 0 : b.buffer === sabs[1] ? 1 : -1);
  const windowBuffers: WindowBuffers = {
    buffers,
    beforeReuse(buf) {
      const i = indexOf(buf);
      const started = Date.now();
      while (Atomics.load(busy, i) !== 0) {
        Atomics.wait(busy, i, 1, 100);
        if (Date.now() - started > 120_000) throw new Error('the store writer thread stopped hashing');
      }
    },
  };
  return { sabs, busySab, busy, indexOf, windowBuffers };
}

/** What the writer thread (writer-thread.ts) starts with. */
export interface WriterSettings {
  dbPath: string;
  busyTimeoutMs: number;
  /** One Int32: messages of rows on their way (backpressure). */
  pending: SharedArrayBuffer;
  /** The reader's two window buffers and their busy flags, when the import's bytes are hashed. */
  hashing: { buffers: readonly SharedArrayBuffer[]; busy: SharedArrayBuffer } | null;
  /** Shared memory for the packed flow batches on their way (flow-pack.ts). */
  flowSlots: FlowSlots;
  sql: { flow: string; dns: string; http: string; process: string; session: string; finish: string; findImport: string };
}

/** What the capture thread sends the writer thread. */
export type WriterMessage =
  | { op: 'begin'; session: Row }
  | { op: 'rows'; processes: Row[]; flows: PackedFlows; dns: Row[]; http: Row[] }
  | { op: 'hash'; bytes?: Uint8Array; buffer?: number; start?: number; end?: number; offset: number }
  | { op: 'commit'; end: Row; refuseDuplicate: boolean }
  | { op: 'abort' };

/** Rows per message to the writer thread, and messages allowed in flight before the capture thread waits. */
const BATCH_ROWS = 2000;
const MAX_IN_FLIGHT = 32;
/** How long this thread waits for the writer thread to read a batch or a window buffer before it gives up. */
const WAIT_MS = 120_000;
/**
 * Packed batches the writer thread may have left to read (flow-pack.ts). When all are, this thread
 * waits for one. It used to build that batch's rows itself instead (to share the end of a file,
 * when most flows close at once), which made V8 compile the row code (addresses, Community ID,
 * conn_state, history) a second time, in this thread's isolate, and threw this thread's compiled
 * flow-closing code away twice when that path first ran (bench/RESULTS.md, Import, tenth
 * session). 16 slots hold 32,000 flows: the end of the 1M-packet benchmark file closes ~30,000.
 */
const FLOW_SLOTS = 16;


export interface SessionWriter {
  flow(f: Flow, c: Classification): void;
  dns(r: DnsRecord): void;
  http(r: HttpRecord): void;
  /**
   * The imported file's reader hands on its bytes (ReadOptions.onBytes, every byte once, in order):
   * the writer thread hashes them (SHA-256) beside its inserts and stores the digest as the
   * session's source_sha256. Bytes in `windowBuffers` (the reader's window, shared with that
   * thread) are hashed where they are; any others (a record longer than a window, the tail the
   * reader skipped) are copied once. Only with opts.hash.
   */
  fileBytes(bytes: Buffer, offset: number): void;
  /** The reader's window buffers (ReadOptions.windowBuffers), shared with the writer thread; null without opts.hash. */
  readonly windowBuffers: WindowBuffers | null;
  /**
   * Ends the session: resolves with its id once it is committed; rejects with a StoreError, or
   * with a DuplicateImportError (nothing stored) when `refuseDuplicate` and another session
   * already holds a file with the SHA-256 of the bytes given to fileBytes.
   */
  commit(end: SessionEnd, opts?: { refuseDuplicate?: boolean }): Promise<number>;
  /** Rolls the whole session back. Never rejects. */
  abort(): Promise<void>;
}

/**
 * Opens one session of the store for writing, in one transaction held by a writer thread:
 * either the whole session lands or nothing of it does, and earlier sessions are untouched.
 * Rows are built here (flows packed as numbers, their rows built there: flow-pack.ts) and sent
 * in batches; the thread inserts them while this one decodes.
 * The database must already exist and be migrated (openDb).
 *
 * Returns at once: the thread starts and opens the store (about 60 ms) while the caller already
 * decodes. A store that cannot be written (locked, read-only) makes the next batch, commit()
 * or at the latest the first batch after the thread answered throw the StoreError.
 */
export async function beginSession(
  dbPath: string, start: SessionStart, opts: { busyTimeoutMs?: number; hash?: boolean } = {},
): Promise<SessionWriter> {
  const pending = new SharedArrayBuffer(4);
  const inFlight = new Int32Array(pending);
  const hashing = opts.hash === true ? sharedWindowBuffers() : null;
  const settings: WriterSettings = {
    dbPath, busyTimeoutMs: opts.busyTimeoutMs ?? 5000, pending, hashing: hashing && { buffers: hashing.sabs, busy: hashing.busySab },
    flowSlots: newFlowSlots(FLOW_SLOTS, BATCH_ROWS),
    sql: {
      flow: INSERT_FLOW, dns: INSERT_DNS, http: INSERT_HTTP, process: INSERT_PROCESS, session: INSERT_SESSION,
      finish: FINISH_SESSION, findImport: FIND_IMPORT_BY_SHA256,
    },
  };
  const worker: Worker = startThread(import.meta.url, './writer-thread', { workerData: settings });
  const send = (m: WriterMessage, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
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
  const storeError = () => explainStoreError(failure!, dbPath);

  send({ op: 'begin', session: [start.kind, start.source, start.format, start.filter ?? null, Date.now() * 1000] });

  let batch = { dns: [] as Row[], http: [] as Row[], processes: [] as Row[] };
  const flows = createFlowPacker(settings.flowSlots);
  flows.start(WAIT_MS);
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
    send({ op: 'rows', ...batch, flows: flows.take() });
    batch = { dns: [], http: [], processes: [] };
    flows.start(WAIT_MS);
    rows = 0;
  }

  function fileBytes(bytes: Buffer, offset: number): void {
    if (hashing === null) throw new Error('fileBytes without opts.hash');
    const i = hashing.indexOf(bytes);
    if (i >= 0) {
      Atomics.store(hashing.busy, i, 1);
      send({ op: 'hash', buffer: i, start: bytes.byteOffset, end: bytes.byteOffset + bytes.length, offset });
    } else {
      const copy = new Uint8Array(bytes); // rare: not in the shared window, and the caller reuses it
      send({ op: 'hash', bytes: copy, offset }, [copy.buffer]);
    }
  }

  function add(list: Row[], row: Row): void {
    list.push(row);
    counted();
  }

  function counted(): void {
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

  /** Packs the flow for the writer thread, which builds its row (flow-pack.ts); its process rows first. */
  function flow(f: Flow, c: Classification): void {
    const effective = f.effectiveProcess && packetProcess({ ...f.effectiveProcess, exe: null, source: 'pktap' });
    const own = f.process && packetProcess(f.process);
    const peer = f.peerProcess && packetProcess(f.peerProcess);
    flows.add(f, c, own, peer, effective);
    counted();
  }

  let done = false;
  return {
    flow,
    dns: (r) => add(batch.dns, dnsRow(r)),
    http: (r) => add(batch.http, httpRow(r)),
    fileBytes,
    windowBuffers: hashing && hashing.windowBuffers,
    async commit(end, opts = {}) {
      done = true;
      if (failure === null) {
        post();
        send({ op: 'commit', end: sessionEndRow(end), refuseDuplicate: opts.refuseDuplicate === true });
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
        send({ op: 'abort' });
        await next();
      }
      await worker.terminate();
    },
  };
}
