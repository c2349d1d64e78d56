import { resolve } from 'node:path';
import type { LiveCapture } from '../capture/live-capture.js';
import { chooseCapture, openPlatformCapture, type CaptureChoice } from '../capture/os/select.js';
import { attributionMethod, createPacketAttributor, createPlatformAttributor, lsofFallbackWarning } from '../attribution/os/select.js';
import type { Attributor } from '../attribution/attributor.js';
import { lossPercent } from '../flows/tcp-loss.js';
import { createIngest } from '../pipeline/ingest.js';
import { expiredEarlyRecord } from '../flows/flow-table.js';
import { openDb, type Db } from '../store/open-db.js';
import { bpftraceProgram, DEFAULTS, evidenceDirFor, resolveDbPath, type DaemonOptionValues, type EvidencePolicy } from '../settings.js';
import { beginLiveSession, type LiveProgress, type LiveRows, type StoreGap } from '../store/live-session.js';
import { startLiveStore, type LiveStore, type LiveStoreReply, type OpenSeqs } from '../store/live-store.js';
import { dnsRow, httpRow, processRow } from '../store/session-rows.js';
import { thisProcess } from '../store/live-writer.js';
import { createEvidenceWriter, type EvidenceWriter, type SegmentInfo } from '../store/evidence-writer.js';
import { explainStoreError, StoreError } from '../store/store-error.js';
import { createChangeSet, type ActivityCount, type BuiltRow, type ChangedFlows, type ProcessRowOf } from './live-batches.js';
import type { Flow } from '../flows/flow.js';
import { createStoreGaps, type StoreGaps, type StoredCounts } from './store-gaps.js';
import type { OpenEntry } from './held-flows.js';
import { TypedEvents } from './events.js';
import { cannotTry, startKernelAttribution, type KernelAttribution } from '../attribution/os/linux/kernel-attribution.js';
import { UserError } from '../errors.js';
import type { RetentionPolicy } from '../store/retention.js';

/** What to capture and where to store it: the daemon's options, one field each (settings.ts). */
export type LiveSettings = Omit<DaemonOptionValues, 'evidence' | 'duration'> & {
  evidence?: EvidencePolicy;
  /** stop() resolves within this many ms under any load (default DEFAULTS.stopDeadlineMs). */
  stopDeadlineMs?: number;
  /** Tests: every flow gets its Flow at its first packet (none is held in the flow table's rows), as with evidence on. */
  flowAtFirstPacket?: boolean;
  /** Tests: ms between writes (default 1000), e.g. none before stop() to find every flow unwritten then. */
  writeIntervalMs?: number;
  /** The OS whose capture and attribution to use (default process.platform); tests run the macOS path on Linux with it. */
  platform?: NodeJS.Platform;
  /**
   * A capture to run instead of opening the platform's: a file replayed (capture/replay-capture.ts,
   * `demo --watch`). Its packets name their processes as the file does (ptcpdump comments, pktap
   * blocks): no procfs or kernel-event attribution runs, and the session records method 'replay'.
   */
  capture?: LiveCapture;
};

export interface LiveStarted {
  sessionId: number;
  dbPath: string;
  /** Captured devices, comma-separated. */
  interfaces: string;
  filter: string | null;
  evidence: EvidencePolicy;
  evidenceDir: string;
}

/** One second's flush: how many rows of each kind changed and whether they reached the store. */
export interface LiveSecond {
  flows: number;
  dns: number;
  http: number;
  processes: number;
  stored: boolean;
  /** ms the store thread spent in this second's transactions (its upserts; the capture thread is not held up by them). */
  writeMs: number;
  /** ms the capture thread spent building and sending this second's rows. */
  buildMs: number;
}

/** The store thread's upkeep after a written second: the retention step, then a passive WAL checkpoint. */
export interface LiveMaintained {
  retainMs: number;
  checkpointMs: number;
  flowsDeleted: number;
}

export interface LiveStats {
  packets: number;
  /** Bytes on the wire of those packets. */
  bytes: number;
  /** null: the kernel gave no counter. */
  kernelDrops: number | null;
  /**
   * Packets the engine let go unprocessed so that its event loop turns (writes, signals, stop())
   * while a flood outruns it: counted with the kernel's drops in the session (sessions.drops, and
   * skipped['shed-overload']), a coverage problem like them.
   */
  shed: number;
  /** % of acknowledged TCP bytes never captured, null: no TCP acknowledged yet. */
  lossEstimate: number | null;
  flows: number;
  ollamaFlows: number;
  unattributed: number;
  /** Closed flows per activity (copies), Ollama's and others'. */
  flowsByActivity: Record<string, ActivityCount>;
  /** Flows the table closed before their time (full table, half-open timeout): a coverage problem. */
  expiredEarly: number;
  /** Bytes of evidence segments on disk; null: no evidence kept (--evidence none). */
  evidenceBytes: number | null;
}

export interface LiveSummary extends LiveStats {
  sessionId: number;
  /**
   * Why the engine stopped on its own: a store error other than a full disk, or a required
   * attribution source (--attribution ebpf) that could not be had; else null.
   */
  error: StoreError | UserError | null;
  /** Flows stored and not, and the windows the store was full (src/live/store-gaps.ts). */
  stored: StoredCounts;
  /** The session was marked ended (false: the store was still full at the end). */
  ended: boolean;
  /**
   * Flows whose latest counters are not in the store because the stop deadline came first
   * (sessions.expired_early unwritten_at_stop, a coverage problem); 0 when everything was written.
   */
  unwrittenAtStop: number;
}

export interface LiveEvents {
  started: LiveStarted;
  second: LiveSecond;
  stats: LiveStats;
  maintained: LiveMaintained;
  /** One sentence a user should read (evidence stopped, store full, store writable again). */
  warning: string;
  stopped: LiveSummary;
}

const FLUSH_MS = 1000;
/**
 * The capture addon reads packets in one loop until the ring is empty: a flood faster than the
 * pipeline never lets it end, and with it no write, signal or stop() would run (measured: the
 * event loop held 3-4 s at a time). After this long in one pass, the rest of the pass is shed
 * (counted, not processed) so that the ring empties and the loop turns. Long enough that a pass
 * draining a backlog the engine will catch up with (after a write, at a fast download) is not cut;
 * with DEFAULTS.stopDeadlineMs it makes the 2 s from a signal to the end of stop().
 */
const MAX_PASS_MS = 500;
/**
 * Flow rows per transaction of a second's write, the time of building rows after which the event
 * loop turns, and the chunks on their way to the store thread at most: the queue between the
 * threads is bounded; when the store falls behind, the next second's changes wait in the change set.
 */
const FLUSH_CHUNK_ROWS = 500;
const WRITE_SLICE_MS = 100;
const MAX_CHUNKS_IN_FLIGHT = 3;
/** The heartbeat that tells a new pass from a long one: it runs only when the loop turns. */
const HEARTBEAT_MS = 20;
/**
 * Shares of the stop deadline: closing open flows (answered ones first) until 1/4 of it, writing
 * rows until 3/4 (in chunks, so the clock is read between them); the rest ends the session and
 * closes the store.
 */
const STOP_CLOSE_SHARE = 0.25;
const STOP_WRITE_SHARE = 0.75;
/** Flow rows per transaction when stopping: 5-10 ms of work here, so the deadline is kept. */
const STOP_CHUNK_ROWS = 250;

/**
 * The live engine: capture → pipeline (decode, flows, naming, classification) → procfs attribution
 * → store (one transaction per second: open flows upserted, closed flows, DNS and HTTP records,
 * processes, evidence index rows and the session's progress) → evidence segments. A kill -9 loses
 * at most a second. No signals, no printing, no exit codes: the commands subscribe to its events.
 * Throws a StoreError or LiveCaptureError when it cannot start.
 */
export function startLiveEngine(settings: LiveSettings): LiveEngine {
  return new LiveEngine(settings);
}

export class LiveEngine extends TypedEvents<LiveEvents> {
  readonly sessionId: number;
  private readonly dbPath: string;
  private readonly db: Db;
  private readonly capture: LiveCapture;
  /** The store thread: a second's upserts, the retention step and WAL checkpoints (src/store/live-store.ts). */
  private readonly store: LiveStore;
  private readonly attributor: Attributor;
  private readonly kernel: KernelAttribution;
  private readonly evidence: EvidenceWriter | null;
  private readonly changes: ReturnType<typeof createChangeSet>;
  private readonly ingest: ReturnType<typeof createIngest>;
  private readonly timer: NodeJS.Timeout;
  /** --retain / --max-db on the store, a step after each second's write (the store thread's); null: neither given (verify's captures). */
  private readonly retention: RetentionPolicy | null;
  /** The open flows the last retention step asked for beyond its age bound (a size bound): sent with the next one. */
  private openBound: number | null = null;
  /** Numbers the seconds' writes (the store thread skips the rest of one a chunk of which failed). */
  private writeSeq = 0;
  private evidenceStopped = false;
  private captureStartUs = Date.now() * 1000;
  private gaps: StoreGaps;
  private evidenceCarried: { segments: SegmentInfo[]; deleted: string[] } = { segments: [], deleted: [] };
  private stopped: Promise<LiveSummary> | null = null;
  private readonly stopDeadlineMs: number;
  private readonly heartbeat: NodeJS.Timeout;
  /** The loop turned (heartbeat) since the last packet: the next one starts a pass. */
  private turned = true;
  private passStart = 0;
  private sinceCheck = 0;
  private shedding = false;
  private shed = 0;
  /** A second's write in progress, chunk by chunk (writeChunk); null when none. */
  private writing: Writing | null = null;

  constructor(settings: LiveSettings) {
    super();
    this.dbPath = resolveDbPath(settings.db);
    const unavailable = settings.attribution === 'ebpf' ? cannotTry(bpftraceProgram()) : null;
    if (unavailable) throw new UserError(`--attribution ebpf: ${unavailable}`);
    const db = openDb(this.dbPath);
    let capture: LiveCapture;
    const choice = chooseCapture(settings.platform);
    try {
      capture = settings.capture ?? openPlatformCapture({ interfaces: settings.interface?.length ? settings.interface : [...DEFAULTS.interfaces], filter: settings.filter, bufferBytes: settings.captureBuffer, snaplen: settings.snaplen }, choice, settings.platform);
    } catch (err) {
      db.close();
      throw err;
    }
    // Kernel socket events start in the background (bpftrace compiles for about a second): the
    // capture does not wait; procfs answers alone until they are on. They help procfs only: an OS
    // whose packets name their processes (macOS pktap), or a replayed file, starts none.
    const procfs = settings.capture === undefined && attributionMethod(settings.platform, choice) === 'procfs';
    this.kernel = startKernelAttribution({
      mode: !procfs ? 'procfs' : settings.attribution === 'ebpf' || settings.attribution === 'procfs' ? settings.attribution : DEFAULTS.attribution,
      bpftrace: bpftraceProgram(), tracefsDir: DEFAULTS.tracefsDir,
      attachTimeoutMs: DEFAULTS.kernelAttach.timeoutMs, noticeAfterMs: DEFAULTS.kernelAttach.noticeMs,
      onWarning: (text) => this.emit('warning', text),
      onRequiredFailed: (why) => { this.stopped ??= Promise.resolve().then(() => this.finish(new UserError(why))); },
    });
    const started = this.open(db, capture, settings, this.kernel, choice);
    this.db = db;
    this.capture = capture;
    this.sessionId = started.sessionId;
    this.attributor = started.attributor;
    this.evidence = started.evidence;
    this.stopDeadlineMs = settings.stopDeadlineMs ?? DEFAULTS.stopDeadlineMs;
    this.retention = settings.retain === undefined && settings.maxDb === undefined ? null
      : { retainUs: settings.retain === undefined ? undefined : settings.retain * 1e6, maxDbBytes: settings.maxDb };
    try {
      this.store = startLiveStore({ dbPath: this.dbPath, sessionId: this.sessionId, me: started.me, retention: this.retention }, (err) => {
        this.stopped ??= Promise.resolve().then(() => this.finish(explainStoreError(err, this.dbPath)));
      });
    } catch (err) {
      // No thread: nothing is left running (an open capture keeps the process alive).
      started.attributor.close();
      started.evidence?.close();
      void this.kernel.stop();
      void capture.stop();
      db.close();
      throw err;
    }
    this.changes = createChangeSet(this.attributor, settings.keepCmdline === true, () => ({
      find: (slot, id) => this.ingest.findHeld(slot, id), flowOf: (slot) => this.ingest.heldFlow(slot), packets: (slot) => this.ingest.heldPackets(slot),
    }));
    const evidence = this.evidence;
    // Without evidence (written per packet, by Flow), a flow of bare SYNs or one way only is held in
    // the flow table's rows until it is answered or closes (a flood's flows: see held-flows.ts).
    const holdFlows = evidence === null && settings.flowAtFirstPacket !== true;
    this.ingest = createIngest(this.changes.sinks, {
      onOpen: (f) => this.attributor.attributeFlow(f, (flow) => this.ownerFound(flow)),
      onPacket: (f, dir, p, d) => {
        this.changes.touched(f);
        if (evidence !== null && !this.evidenceStopped) evidence.write(f, dir, p, d);
      },
      ...(holdFlows ? {
        onHeld: (slot: number, first: boolean) => this.heldPacket(slot, first),
        onHeldFlow: (f: Flow) => {
          this.changes.gotFlow(f);
          this.gaps.gotFlow(f);
        },
      } : {}),
    }, { maxFlows: settings.maxFlows, boundHeapAtFlows: DEFAULTS.liveBoundHeapAtFlows, rejected: DEFAULTS.liveRejected });
    // Several devices: a forwarded packet crosses more than one (`any` is checked by its cooked link type).
    if (capture.interfaces.length > 1) this.ingest.severalInterfaces();

    this.timer = setInterval(() => this.second(), settings.writeIntervalMs ?? FLUSH_MS);
    this.heartbeat = setInterval(() => {
      this.turned = true;
      this.shedding = false;
    }, HEARTBEAT_MS);
    this.captureStartUs = Date.now() * 1000;
    this.gaps = createStoreGaps(this.captureStartUs, (f) => this.changes.rowKey(f));
    const ingestPacket = this.ingest.packet;
    capture.start((p) => {
      if (this.shedding) {
        this.shed++;
        return;
      }
      if (this.turned) {
        this.turned = false;
        this.passStart = performance.now();
        this.sinceCheck = 0;
      } else if (++this.sinceCheck === 64) {
        this.sinceCheck = 0;
        if (performance.now() - this.passStart > MAX_PASS_MS) {
          this.shedding = true;
          this.shed++;
          return;
        }
      }
      ingestPacket(p);
    }, {
      onFailed: (err) => { this.stopped ??= Promise.resolve().then(() => this.finish(new UserError(err.message))); },
      onWarning: (text) => this.emit('warning', text),
    });
    const info: LiveStarted = {
      sessionId: this.sessionId, dbPath: this.dbPath, interfaces: interfaceNames(capture),
      filter: settings.filter ?? null, evidence: started.policy, evidenceDir: started.evidenceDir,
    };
    // After the caller has had the engine back and subscribed.
    process.nextTick(() => {
      this.emit('started', info);
      if (settings.capture === undefined && attributionMethod(settings.platform, choice) === 'lsof') this.emit('warning', lsofFallbackWarning(choice));
    });
  }

  /** Session, attribution and evidence writer; on failure the capture and database are closed (an open capture keeps the process alive). */
  private open(db: Db, capture: LiveCapture, settings: LiveSettings, kernel: KernelAttribution, choice: CaptureChoice) {
    const policy = settings.evidence ?? DEFAULTS.evidence;
    // Absolute: segment paths are stored, and readers run from other working directories.
    const evidenceDir = resolve(settings.evidenceDir ?? evidenceDirFor(this.dbPath));
    try {
      const me = thisProcess();
      const { sessionId } = beginLiveSession(db, { kind: 'live', source: interfaceNames(capture), format: 'live', filter: settings.filter ?? null }, me);
      const attributor = settings.capture !== undefined ? createPacketAttributor() : createPlatformAttributor({
        extraNames: settings.process, extraPids: settings.pid, kernelEvents: kernel.index ?? undefined, onWarning: (text) => this.emit('warning', text),
      }, settings.platform, choice);
      const evidence = policy === 'none' ? null : createEvidenceWriter({
        dir: evidenceDir, policy, session: String(sessionId), apiPorts: settings.apiPort ?? [DEFAULTS.apiPort],
        maxTotalBytes: settings.maxEvidence, retainUs: settings.retain === undefined ? undefined : settings.retain * 1e6,
        onDiskFull: () => {
          this.evidenceStopped = true;
          this.emit('warning', `the disk holding ${evidenceDir} is full: evidence recording stopped, flow records continue (free space, then restart the daemon to record evidence again)`);
        },
        onError: (err: Error) => this.emit('warning', `evidence recording stopped after a write error: ${err.message}`),
      });
      return { sessionId, me, attributor, evidence, policy, evidenceDir };
    } catch (err) {
      void kernel.stop();
      void capture.stop();
      db.close();
      if (err instanceof StoreError || (err as { code?: unknown }).code === undefined) throw err;
      throw explainStoreError(err, this.dbPath);
    }
  }

  /**
   * Stops capturing, writes what fits before the stop deadline (settings.stopDeadlineMs), ends the
   * session. Resolves with the summary (also sent as `stopped`), unwrittenAtStop counting what did not fit.
   */
  stop(): Promise<LiveSummary> {
    this.stopped ??= Promise.resolve().then(() => this.finish(null));
    return this.stopped;
  }

  /**
   * A packet counted in a held flow's rows. At its first, attribution looks its socket up as for
   * any flow, on a stand-in Flow (the flow's own Flow if it gets one while the attributor still
   * keeps it); owners found while it is held are kept by id (held-flows.ts).
   */
  private heldPacket(slot: number, first: boolean): void {
    const id = this.ingest.idOf(slot);
    if (first) {
      const standIn = this.ingest.standIn(slot);
      this.attributor.attributeFlow(standIn, (flow) => this.ownerFound(flow));
      if (standIn.process !== null || standIn.peerProcess !== null) this.changes.heldAttributed(standIn);
    }
    this.changes.touchedHeld(slot, id);
  }

  /** Attribution found a flow's owners after its first packet (a rescan, a late kernel event). */
  private ownerFound(flow: Flow): void {
    if (!flow.closed && this.ingest.findHeld(flow.at, flow.id) === 'held') this.changes.heldAttributed(flow);
    else this.changes.resolved(flow, () => this.ingest.classify(flow));
  }

  private second(): void {
    try {
      this.ingest.tick(Date.now() * 1000);
      const stats = this.stats();
      this.flush(stats);
      this.emit('stats', stats);
    } catch (err) {
      this.stopped ??= Promise.resolve().then(() => this.finish(err));
    }
  }

  /**
   * After a second whose rows are all stored: the store thread's retention step (--retain /
   * --max-db; not while the store is full, so every row but the open flows' is final) and a
   * passive WAL checkpoint. The step is told the open flows that began before its age bound (a
   * superset of those whose stored row is older): they stay.
   */
  private maintain(): void {
    if (this.stopped !== null || this.gaps.isFull()) return;
    const nowUs = Date.now() * 1000;
    let open: OpenSeqs | null = null;
    if (this.retention !== null) {
      const before = this.openBound ?? nowUs - (this.retention.retainUs ?? Infinity);
      const seqs: number[] = [];
      // No flow of this session began before it started: with the default 30-day window the
      // bound is far behind, and a flood's 500,000 open flows need no walk every second.
      if (before > this.captureStartUs) for (const f of this.ingest.openFlows()) if (f.firstSeen < before) seqs.push(f.id);
      open = { before, seqs };
    }
    void this.store.maintain(nowUs, open).then((r) => {
      if (r.op === 'failed') {
        if (!r.diskFull) this.storeFailed(r);
        return;
      }
      if (r.op !== 'maintained') return;
      // A size bound asked for every open flow: sent while steps go on deleting.
      this.openBound = r.needsOpenBefore ?? (r.flowsDeleted > 0 ? this.openBound : null);
      this.emit('maintained', { retainMs: r.retainMs, checkpointMs: r.checkpointMs, flowsDeleted: r.flowsDeleted });
    });
  }

  /** A store error other than a full disk stops the engine. */
  private storeFailed(r: { code: string; message: string }): void {
    this.writing = null;
    this.stopped ??= Promise.resolve().then(() => this.finish(explainStoreError(r, this.dbPath)));
  }

  private stats(): LiveStats {
    const totals = this.changes.totals;
    // Closed flows, and open ones as last written (live-batches.ts keeps that sum per written row).
    const acked = totals.tcpAcked + this.changes.openLoss.acked;
    const missed = totals.tcpMissed + this.changes.openLoss.missed;
    const early = expiredEarlyRecord(this.ingest.counts.expiredEarly);
    return {
      packets: this.ingest.counts.packets, bytes: this.ingest.counts.bytes, kernelDrops: this.capture.stats().total.kernelDrops, shed: this.shed,
      lossEstimate: lossPercent(acked, missed), flows: totals.flows, ollamaFlows: totals.ollama, unattributed: this.attributor.stats().unattributed,
      flowsByActivity: Object.fromEntries(Object.entries(totals.byActivity).map(([a, n]) => [a, { ...n }])),
      expiredEarly: Object.values(early).reduce((a, b) => a + b, 0),
      evidenceBytes: this.evidence === null ? null : this.evidence.segments().reduce((n, s) => n + s.bytes, 0),
    };
  }

  private progress(stats: LiveStats, unwrittenAtStop: number): LiveProgress {
    return {
      packets: stats.packets, startedAt: this.captureStartUs, drops: withShed(stats.kernelDrops, this.shed), lossEstimate: stats.lossEstimate,
      skipped: this.skipped(), gaps: this.gaps.toRecord(),
      expiredEarly: expiredEarlyRecord(this.ingest.counts.expiredEarly, unwrittenAtStop),
      attribution: { ...this.kernel.record(), ...this.attributor.sessionRecord?.() },
    };
  }

  /** Evidence rows since the last write, after the segment rows a failed write left (few: one per segment). */
  private evidenceRows(): LiveRows['evidence'] {
    const evidence = this.evidence;
    if (evidence === null) return null;
    const carried = this.evidenceCarried;
    this.evidenceCarried = { segments: [], deleted: [] };
    // Segment rows are upserts of cumulative counts: the latest of each file is enough (bounded by the files kept).
    const segments = new Map<string, SegmentInfo>();
    for (const seg of [...carried.segments, ...evidence.drainSegments()]) segments.set(seg.path, seg);
    return { segments: [...segments.values()], rows: evidence.drainIndex(), deleted: [...carried.deleted, ...evidence.drainDeleted()] };
  }

  /**
   * One second's write. On a full disk the engine goes on capturing: the rows of flows that closed
   * and of DNS/HTTP records are dropped and counted (store-gaps.ts), open flows, processes and
   * evidence segment rows wait for the next write; the index rows of evidence packets are dropped
   * (their window is in the gap). Any other store error stops the engine.
   */
  private flush(stats: LiveStats): void {
    // The last second's rows are still being written: this second's changes wait in the change set.
    if (this.writing !== null) return;
    this.writing = {
      seq: ++this.writeSeq, changed: this.changes.takeChanged(), progress: this.progress(stats, 0), evidence: this.evidenceRows(),
      closedDone: 0, openDone: 0, posted: 0, rows: 0, processes: 0, inFlight: [], buildMs: 0, writeMs: 0,
    };
    this.writeChunk();
  }

  /**
   * A second's write, in transactions of FLUSH_CHUNK_ROWS flows (the first with the records,
   * evidence rows and progress), their rows built here chunk by chunk and written by the store
   * thread, MAX_CHUNKS_IN_FLIGHT at most on their way; the event loop turns every WRITE_SLICE_MS
   * of building (packets, signals and stop() are not held up by a large second).
   */
  private writeChunk(): void {
    const w = this.writing;
    if (w === null) return;
    const sliceStart = performance.now();
    while (this.writing === w && this.stopped === null && w.inFlight.length < MAX_CHUNKS_IN_FLIGHT && hasMore(w)) {
      this.postChunk(w);
      if (performance.now() - sliceStart >= WRITE_SLICE_MS) {
        setImmediate(() => this.writeChunk());
        return;
      }
    }
  }

  /** Builds the next chunk's rows and sends them to the store thread. */
  private postChunk(w: Writing): void {
    const t0 = performance.now();
    const { changed } = w;
    const first = w.posted === 0;
    const closed = changed.closed.slice(w.closedDone, w.closedDone + FLUSH_CHUNK_ROWS);
    const entries = changed.open.slice(w.openDone, w.openDone + FLUSH_CHUNK_ROWS - closed.length);
    w.closedDone += closed.length;
    w.openDone += entries.length;
    // Held flows' rows are built from Flows made now, chunk by chunk (not for a whole second at once).
    const open = this.changes.flowsOf(entries);
    w.posted++;
    const r = this.changes.rowsOf(open, closed, (f) => this.ingest.classify(f));
    const chunk: Chunk = { first, open, closed, built: r.flows, processes: r.processes };
    const rows: LiveRows = {
      flows: r.rows, processes: r.processes.map((p) => processRow(p.seq, p.rec)),
      dns: first ? changed.dns.map(dnsRow) : [], http: first ? changed.http.map(httpRow) : [],
      evidence: first ? w.evidence : null, progress: w.progress,
    };
    chunk.answered = this.store.flush(w.seq, rows).then((reply) => this.chunkAnswered(w, chunk, reply));
    w.inFlight.push(chunk);
    w.buildMs += performance.now() - t0;
  }

  /** The store thread's answer to a chunk: next chunks, the second done, or a full disk. */
  private chunkAnswered(w: Writing, chunk: Chunk, reply: LiveStoreReply): void {
    if (this.writing !== w) return; // the rest of a second a chunk of which failed
    w.inFlight.shift();
    const nowUs = Date.now() * 1000;
    if (reply.op === 'done') {
      w.writeMs += reply.ms;
      w.rows += chunk.built.length;
      w.processes += chunk.processes.length;
      this.changes.wrote(chunk.built);
      const closedGap = this.gaps.wrote(chunk.built.map((b) => b.flow), nowUs);
      if (closedGap) this.emit('warning', `writing to ${this.dbPath} again: ${gapText(closedGap)} (recorded in the session)`);
      if (hasMore(w) || w.inFlight.length > 0) {
        this.writeChunk();
        return;
      }
      this.writing = null;
      this.gaps.writesSettled();
      const { changed } = w;
      this.emit('second', { flows: w.rows, dns: changed.dns.length, http: changed.http.length, processes: w.processes, stored: true, writeMs: w.writeMs, buildMs: w.buildMs });
      this.maintain();
      return;
    }
    if (reply.op === 'failed' && !reply.diskFull) return this.storeFailed(reply);
    // A full disk drops what is left of the second's write: this chunk, those after it (the store
    // thread skips them) and those not built. Open flows and process rows wait for the next write,
    // closed flows and records are counted in the gap.
    this.writing = null;
    this.gaps.writesSettled(); // the chunks still on their way are dropped: their answers are not read
    const { changed } = w;
    const lost = [chunk, ...w.inFlight];
    this.changes.putBack([...lost.flatMap((c) => c.open), ...changed.open.slice(w.openDone)], lost.flatMap((c) => c.processes));
    if (chunk.first && w.evidence) this.evidenceCarried = { segments: w.evidence.segments, deleted: w.evidence.deleted };
    const closedLeft = [...lost.flatMap((c) => c.closed), ...changed.closed.slice(w.closedDone)]
      .filter((c) => this.changes.needsRow(c.flow, c.cls)).map((c) => c.flow);
    const opened = this.gaps.failed(closedLeft, chunk.first ? changed.dns.length + changed.http.length : 0, nowUs);
    if (opened) this.emit('warning', `disk full while writing ${this.dbPath}: capture goes on, counting; flows that close and DNS/HTTP records are not stored until there is room (free space: writing resumes within a second)`);
    this.emit('second', {
      flows: w.rows + chunk.built.length, dns: changed.dns.length, http: changed.http.length, processes: w.processes + chunk.processes.length,
      stored: false, writeMs: w.writeMs, buildMs: w.buildMs,
    });
  }

  /** The chunks of a second's write on their way to the store answered (a stop waits for them: what they hold is stored or not). */
  private async writeSettled(): Promise<void> {
    while (this.writing !== null && this.writing.inFlight.length > 0) await this.writing.inFlight[0].answered;
  }

  /** The flows of a second's write that a stop came before: they go first into the stop's write. */
  private unfinishedWrite(): { open: OpenEntry[]; closed: ChangedFlows['closed'] } {
    const w = this.writing;
    this.writing = null;
    if (w === null) return { open: [], closed: [] };
    // A flow open when taken that closed since is in the change set's closed flows already.
    return { open: w.changed.open.slice(w.openDone), closed: w.changed.closed.slice(w.closedDone) };
  }

  /** Skip reasons with a count, and the packets shed to keep up. */
  private skipped(): Record<string, number> {
    return nonZero({ ...this.ingest.counts.skips, 'shed-overload': this.shed });
  }

  private async finish(failure: unknown): Promise<LiveSummary> {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    const t0 = performance.now();
    const after = (share: number) => () => performance.now() - t0 >= share * this.stopDeadlineMs;
    let ended = false;
    let unwritten = 0;
    try {
      // A capture run by another program (macOS tcpdump) hands on its last packets and counters as it exits.
      await this.capture.stop();
      this.ingest.finish(after(STOP_CLOSE_SHARE));
      this.evidence?.close();
      unwritten = await this.flushBy(after(STOP_WRITE_SHARE));
      ended = await this.end(unwritten);
    } catch (err) {
      failure ??= err;
    }
    try {
      this.attributor.close();
      void this.kernel.stop();
      await this.store.close();
      this.db.close();
    } catch (err) {
      failure ??= err;
    }
    const error = failure ? (failure instanceof StoreError || failure instanceof UserError ? failure : explainStoreError(failure, this.dbPath)) : null;
    const totals = this.changes.totals;
    const summary: LiveSummary = {
      ...this.stats(), lossEstimate: lossPercent(totals.tcpAcked, totals.tcpMissed), sessionId: this.sessionId, error,
      // Flows the deadline left open were never closed: they count as seen all the same.
      flows: totals.flows + this.ingest.unclosedAtStop(), stored: this.gaps.counts, ended, unwrittenAtStop: unwritten,
    };
    this.emit('stopped', summary);
    return summary;
  }

  /**
   * The last write, in transactions of STOP_CHUNK_ROWS flows until `late()`: first the flows whose
   * latest counters are not in the store (closed ones, then open ones that changed), then closed
   * flows whose row only lacks the final classification. Returns how many of the first kind were
   * not written (the deadline, or a full disk); flows left open and unchanged are stored already.
   * The chunks of the second being written when the stop came are answered first (a few at most).
   */
  private async flushBy(late: () => boolean): Promise<number> {
    await this.writeSettled();
    const unfinished = this.unfinishedWrite();
    const taken = this.changes.takeChanged();
    // A flow can be in both (left open by the unfinished write, touched since): once.
    const changed = { ...taken, open: this.changes.entriesNow([...unfinished.open, ...taken.open]), closed: [...unfinished.closed, ...taken.closed] };
    const isStored = (c: { flow: Flow }) => this.changes.isStored(c.flow);
    const counted = (e: OpenEntry) => this.changes.entryStored(e);
    // An open flow that saw packets since its row is stale; one that only got its owner since is not
    // (its counters are stored), nor is a closed flow only lacking its final classification or owner.
    const chunks = [
      ...chunked(changed.closed.filter((c) => !isStored(c)), (closed) => ({ open: [], closed, stale: closed.length })),
      ...chunked(changed.open.filter((f) => !counted(f)), (open) => ({ open, closed: [], stale: open.length })),
      ...chunked(changed.closed.filter(isStored), (closed) => ({ open: [], closed, stale: 0 })),
      ...chunked(changed.open.filter(counted), (open) => ({ open, closed: [], stale: 0 })),
    ];
    let unwritten = chunks.reduce((n, c) => n + c.stale, 0);
    const progress = this.progress(this.stats(), 0);
    const expired = this.ingest.counts.expiredEarly;
    const seq = ++this.writeSeq;
    for (let i = 0; i === 0 || i < chunks.length; i++) {
      if (i > 0 && late()) return unwritten;
      const chunk = chunks[i] ?? { open: [], closed: [], stale: 0 };
      const r = this.changes.rowsOf(this.changes.flowsOf(chunk.open), chunk.closed, (f) => this.ingest.classify(f));
      // Records and evidence rows go with the first chunk; progress with each: what is unwritten if this is the last.
      const rows: LiveRows = {
        flows: r.rows, processes: r.processes.map((p) => processRow(p.seq, p.rec)),
        dns: i === 0 ? changed.dns.map(dnsRow) : [], http: i === 0 ? changed.http.map(httpRow) : [],
        evidence: i === 0 ? this.evidenceRows() : null,
        progress: { ...progress, expiredEarly: expiredEarlyRecord(expired, unwritten - chunk.stale) },
      };
      const reply = await this.store.flush(seq, rows);
      if (reply.op === 'failed' && !reply.diskFull) throw explainStoreError(reply, this.dbPath);
      if (reply.op !== 'done') {
        // Closed flows not written go into the store gap (store-gaps.ts); open ones are counted here.
        const rest = chunks.slice(i);
        this.gaps.failed(rest.flatMap((c) => c.closed.map((x) => x.flow)), rows.dns.length + rows.http.length, Date.now() * 1000);
        return rest.reduce((n, c) => n + c.open.length, 0);
      }
      unwritten -= chunk.stale;
      this.changes.wrote(r.flows);
      this.gaps.wrote(r.flows.map((b) => b.flow), Date.now() * 1000);
    }
    return unwritten;
  }

  /** Ends the session; false when the store is (still) full, so the session stays open with the gaps recorded so far. */
  private async end(unwrittenAtStop: number): Promise<boolean> {
    if (this.gaps.isFull()) return false;
    const totals = this.changes.totals;
    const reply = await this.store.end({
      // The window watched, not the first and last packet: an idle capture still covers its time.
      interfaces: this.capture.interfaces, packets: this.ingest.counts.packets, startedAt: this.captureStartUs,
      endedAt: Date.now() * 1000, drops: withShed(this.capture.stats().total.kernelDrops, this.shed),
      lossEstimate: lossPercent(totals.tcpAcked, totals.tcpMissed), skipped: this.skipped(), warnings: [],
      stoppedAt: null, expiredEarly: expiredEarlyRecord(this.ingest.counts.expiredEarly, unwrittenAtStop),
    });
    if (reply.op === 'done') return true;
    if (reply.op === 'failed' && !reply.diskFull) throw explainStoreError(reply, this.dbPath);
    this.gaps.failed([], 0, Date.now() * 1000);
    return false;
  }
}

/** One gap in words: "the store was full from 12:00:01 to 12:00:09 UTC: 12 flows (and 3 records) not stored". */
export function gapText(g: StoreGap): string {
  const records = g.records_not_stored > 0 ? `, ${g.records_not_stored} DNS/HTTP records` : '';
  const incomplete = g.flows_incomplete > 0 ? `, ${g.flows_incomplete} flows stored without their last changes` : '';
  return `the store was full from ${clockUtc(g.start_us)} to ${clockUtc(g.end_us)}: ${g.flows_not_stored} flows not stored${incomplete}${records}`;
}

/** hh:mm:ss UTC of µs since the epoch. */
export function clockUtc(us: number): string {
  return `${new Date(us / 1000).toISOString().slice(11, 19)} UTC`;
}

/** The captured devices, comma-separated (the session's source). */
function interfaceNames(capture: LiveCapture): string {
  if (capture.source !== undefined) return capture.source;
  return capture.interfaces.map((i) => i.name ?? String(i.index)).join(',');
}

/** `list` cut into STOP_CHUNK_ROWS-long pieces, each made into a chunk by `make`. */
function chunked<T, C>(list: T[], make: (piece: T[]) => C): C[] {
  const out: C[] = [];
  for (let i = 0; i < list.length; i += STOP_CHUNK_ROWS) out.push(make(list.slice(i, i + STOP_CHUNK_ROWS)));
  return out;
}

/** The session's drops: the kernel's and the engine's own shedding (null: the kernel gave no counter and nothing was shed). */
function withShed(kernelDrops: number | null, shed: number): number | null {
  return kernelDrops === null ? (shed > 0 ? shed : null) : kernelDrops + shed;
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

/** A second's write in progress: its changes, how far they are built, the chunks on their way to the store thread. */
interface Writing {
  seq: number;
  changed: ChangedFlows;
  progress: LiveProgress;
  evidence: LiveRows['evidence'];
  /** Closed and open flows taken into chunks so far, chunks sent. */
  closedDone: number;
  openDone: number;
  posted: number;
  /** Flow and process rows stored so far. */
  rows: number;
  processes: number;
  /** Chunks sent and not answered, oldest first (the store thread answers in order). */
  inFlight: Chunk[];
  buildMs: number;
  writeMs: number;
}

/** One chunk of a second's write: what its rows were built from. */
interface Chunk {
  first: boolean;
  open: Flow[];
  closed: ChangedFlows['closed'];
  built: BuiltRow[];
  processes: ProcessRowOf[];
  answered?: Promise<void>;
}

/** Flows of the second's changes not yet taken into a chunk (a second without any still writes one: its progress). */
function hasMore(w: Writing): boolean {
  return w.posted === 0 || w.closedDone < w.changed.closed.length || w.openDone < w.changed.open.length;
}
