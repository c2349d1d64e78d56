import { resolve } from 'node:path';
import { openLiveCapture, type LiveCapture } from '../capture/live-capture.js';
import { createPlatformAttributor } from '../attribution/os/select.js';
import type { Attributor } from '../attribution/attributor.js';
import { lossOf, lossPercent } from '../flows/tcp-loss.js';
import { createIngest } from '../pipeline/ingest.js';
import { expiredEarlyRecord } from '../flows/flow-table.js';
import { openDb, type Db } from '../store/open-db.js';
import { bpftraceProgram, DEFAULTS, evidenceDirFor, resolveDbPath, type DaemonOptionValues } from '../settings.js';
import { beginLiveSession, type LiveBatch, type LiveSession, type StoreGap } from '../store/live-session.js';
import { createEvidenceWriter, type EvidenceWriter, type SegmentInfo } from '../store/evidence-writer.js';
import type { EvidencePolicy } from '../store/evidence-policy.js';
import { explainStoreError, isDiskFull, StoreError } from '../store/store-error.js';
import { createChangeSet, type ActivityCount, type ChangedRows } from './live-batches.js';
import { createStoreGaps, type StoreGaps, type StoredCounts } from './store-gaps.js';
import { TypedEvents } from './events.js';
import { cannotTry, startKernelAttribution, type KernelAttribution } from '../attribution/os/linux/kernel-attribution.js';
import { UserError } from '../errors.js';
import { createRetention, type Retention } from '../store/retention.js';

/** What to capture and where to store it: the daemon's options, one field each (settings.ts). */
export type LiveSettings = Omit<DaemonOptionValues, 'evidence' | 'duration'> & { evidence?: EvidencePolicy };

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
}

export interface LiveStats {
  packets: number;
  /** Bytes on the wire of those packets. */
  bytes: number;
  /** null: the kernel gave no counter. */
  kernelDrops: number | null;
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
}

export interface LiveEvents {
  started: LiveStarted;
  second: LiveSecond;
  stats: LiveStats;
  /** One sentence a user should read (evidence stopped, store full, store writable again). */
  warning: string;
  stopped: LiveSummary;
}

const FLUSH_MS = 1000;

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
  private readonly session: LiveSession;
  private readonly attributor: Attributor;
  private readonly kernel: KernelAttribution;
  private readonly evidence: EvidenceWriter | null;
  private readonly changes: ReturnType<typeof createChangeSet>;
  private readonly ingest: ReturnType<typeof createIngest>;
  private readonly timer: NodeJS.Timeout;
  /** --retain / --max-db on the store, a step after each second's write; null: neither given (verify's captures). */
  private readonly retention: Retention | null;
  private evidenceStopped = false;
  private captureStartUs = Date.now() * 1000;
  private gaps: StoreGaps;
  private evidenceCarried: { segments: SegmentInfo[]; deleted: string[] } = { segments: [], deleted: [] };
  private stopped: Promise<LiveSummary> | null = null;

  constructor(settings: LiveSettings) {
    super();
    this.dbPath = resolveDbPath(settings.db);
    const unavailable = settings.attribution === 'ebpf' ? cannotTry(bpftraceProgram()) : null;
    if (unavailable) throw new UserError(`--attribution ebpf: ${unavailable}`);
    const db = openDb(this.dbPath);
    let capture: LiveCapture;
    try {
      capture = openLiveCapture({ interfaces: settings.interface?.length ? settings.interface : [...DEFAULTS.interfaces], filter: settings.filter });
    } catch (err) {
      db.close();
      throw err;
    }
    // Kernel socket events start in the background (bpftrace compiles for about a second): the
    // capture does not wait; procfs answers alone until they are on.
    this.kernel = startKernelAttribution({
      mode: settings.attribution === 'ebpf' || settings.attribution === 'procfs' ? settings.attribution : DEFAULTS.attribution,
      bpftrace: bpftraceProgram(), tracefsDir: DEFAULTS.tracefsDir,
      attachTimeoutMs: settings.attribution === 'ebpf' ? DEFAULTS.kernelAttachTimeoutMs.ebpf : DEFAULTS.kernelAttachTimeoutMs.auto,
      onWarning: (text) => this.emit('warning', text),
      onRequiredFailed: (why) => { this.stopped ??= Promise.resolve().then(() => this.finish(new UserError(why))); },
    });
    const started = this.open(db, capture, settings, this.kernel);
    this.db = db;
    this.capture = capture;
    this.session = started.session;
    this.sessionId = started.session.sessionId;
    this.attributor = started.attributor;
    this.evidence = started.evidence;
    this.retention = settings.retain === undefined && settings.maxDb === undefined ? null
      : createRetention(db, { retainUs: settings.retain === undefined ? undefined : settings.retain * 1e6, maxDbBytes: settings.maxDb });
    this.changes = createChangeSet(this.attributor, settings.keepCmdline === true);
    const evidence = this.evidence;
    this.ingest = createIngest(this.changes.sinks, {
      onOpen: (f) => this.attributor.attributeFlow(f, (flow) => this.changes.touched(flow)),
      onPacket: (f, dir, p, d) => {
        this.changes.touched(f);
        if (evidence !== null && !this.evidenceStopped) evidence.write(f, dir, p, d);
      },
    }, { maxFlows: settings.maxFlows });
    // Several devices: a forwarded packet crosses more than one (`any` is checked by its cooked link type).
    if (capture.interfaces.length > 1) this.ingest.severalInterfaces();

    this.timer = setInterval(() => this.second(), FLUSH_MS);
    this.captureStartUs = Date.now() * 1000;
    this.gaps = createStoreGaps(this.captureStartUs);
    capture.start(this.ingest.packet);
    const info: LiveStarted = {
      sessionId: this.sessionId, dbPath: this.dbPath, interfaces: interfaceNames(capture),
      filter: settings.filter ?? null, evidence: started.policy, evidenceDir: started.evidenceDir,
    };
    // After the caller has had the engine back and subscribed.
    process.nextTick(() => this.emit('started', info));
  }

  /** Session, attribution and evidence writer; on failure the capture and database are closed (an open capture keeps the process alive). */
  private open(db: Db, capture: LiveCapture, settings: LiveSettings, kernel: KernelAttribution) {
    const policy = settings.evidence ?? DEFAULTS.evidence;
    // Absolute: segment paths are stored, and readers run from other working directories.
    const evidenceDir = resolve(settings.evidenceDir ?? evidenceDirFor(this.dbPath));
    try {
      const session = beginLiveSession(db, { kind: 'live', source: interfaceNames(capture), format: 'live', filter: settings.filter ?? null });
      const attributor = createPlatformAttributor({ extraNames: settings.process, extraPids: settings.pid, kernelEvents: kernel.index ?? undefined });
      const evidence = policy === 'none' ? null : createEvidenceWriter({
        dir: evidenceDir, policy, session: String(session.sessionId), apiPorts: settings.apiPort ?? [DEFAULTS.apiPort],
        maxTotalBytes: settings.maxEvidence, retainUs: settings.retain === undefined ? undefined : settings.retain * 1e6,
        onDiskFull: () => {
          this.evidenceStopped = true;
          this.emit('warning', `the disk holding ${evidenceDir} is full: evidence recording stopped, flow records continue (free space, then restart the daemon to record evidence again)`);
        },
        onError: (err: Error) => this.emit('warning', `evidence recording stopped after a write error: ${err.message}`),
      });
      return { session, attributor, evidence, policy, evidenceDir };
    } catch (err) {
      void kernel.stop();
      capture.stop();
      db.close();
      if (err instanceof StoreError || (err as { code?: unknown }).code === undefined) throw err;
      throw explainStoreError(err, this.dbPath);
    }
  }

  /** Stops capturing, writes the rest, ends the session. Resolves with the summary (also sent as `stopped`). */
  stop(): Promise<LiveSummary> {
    this.stopped ??= Promise.resolve().then(() => this.finish(null));
    return this.stopped;
  }

  private second(): void {
    try {
      this.ingest.tick(Date.now() * 1000);
      this.flush();
      this.retainStep();
      this.emit('stats', this.stats());
    } catch (err) {
      this.stopped ??= Promise.resolve().then(() => this.finish(err));
    }
  }

  /**
   * Deletes what --retain / --max-db say is due (a few small transactions); a full disk waits for
   * the next second. Only after a write that stored every open flow's row (not while the store is
   * full), so every row but the open flows' is final.
   */
  private retainStep(): void {
    if (this.retention === null || this.gaps.isFull()) return;
    const openBefore = (us: number) => {
      const seqs: number[] = [];
      for (const f of this.ingest.openFlows()) if (f.lastSeen < us) seqs.push(f.id);
      return seqs;
    };
    try {
      this.retention.step(Date.now() * 1000, { sessionId: this.sessionId, openBefore });
    } catch (err) {
      if (!isDiskFull(err, this.dbPath)) throw explainStoreError(err, this.dbPath);
    }
  }

  private stats(): LiveStats {
    const totals = this.changes.totals;
    let acked = totals.tcpAcked;
    let missed = totals.tcpMissed;
    for (const f of this.ingest.openFlows()) {
      const l = lossOf(f);
      acked += l.ackedOut + l.ackedIn;
      missed += l.gapOut + l.gapIn;
    }
    const early = expiredEarlyRecord(this.ingest.counts.expiredEarly);
    return {
      packets: this.ingest.counts.packets, bytes: this.ingest.counts.bytes, kernelDrops: this.capture.stats().total.kernelDrops,
      lossEstimate: lossPercent(acked, missed), flows: totals.flows, ollamaFlows: totals.ollama, unattributed: this.attributor.stats().unattributed,
      flowsByActivity: Object.fromEntries(Object.entries(totals.byActivity).map(([a, n]) => [a, { ...n }])),
      expiredEarly: Object.values(early).reduce((a, b) => a + b, 0),
      evidenceBytes: this.evidence === null ? null : this.evidence.segments().reduce((n, s) => n + s.bytes, 0),
    };
  }

  private batch(taken: ChangedRows): LiveBatch {
    const stats = this.stats();
    return {
      ...taken.rows,
      evidence: this.evidenceRows(),
      progress: {
        packets: stats.packets, startedAt: this.captureStartUs, drops: stats.kernelDrops, lossEstimate: stats.lossEstimate,
        skipped: nonZero(this.ingest.counts.skips), gaps: this.gaps.toRecord(),
        expiredEarly: expiredEarlyRecord(this.ingest.counts.expiredEarly),
        attribution: this.kernel.record(),
      },
    };
  }

  /** Evidence rows since the last write, after the segment rows a failed write left (few: one per segment). */
  private evidenceRows(): LiveBatch['evidence'] {
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
  private flush(): void {
    const taken = this.changes.take((f) => this.ingest.classify(f));
    const b = this.batch(taken);
    const second: LiveSecond = { flows: b.flows.length, dns: b.dns.length, http: b.http.length, processes: b.processes.length, stored: false };
    const nowUs = Date.now() * 1000;
    try {
      this.session.flush(b);
      second.stored = true;
      const closedGap = this.gaps.wrote(b.flows.map((f) => f.flow), nowUs);
      if (closedGap) this.emit('warning', `writing to ${this.dbPath} again: ${gapText(closedGap)} (recorded in the session)`);
    } catch (err) {
      if (!isDiskFull(err, this.dbPath)) throw explainStoreError(err, this.dbPath);
      this.changes.putBack(taken);
      if (b.evidence) this.evidenceCarried = { segments: b.evidence.segments, deleted: b.evidence.deleted };
      const opened = this.gaps.failed(taken.closed, b.dns.length + b.http.length, nowUs);
      if (opened) this.emit('warning', `disk full while writing ${this.dbPath}: capture goes on, counting; flows that close and DNS/HTTP records are not stored until there is room (free space: writing resumes within a second)`);
    }
    this.emit('second', second);
  }

  private finish(failure: unknown): LiveSummary {
    clearInterval(this.timer);
    let ended = false;
    try {
      this.capture.stop();
      this.ingest.finish();
      this.evidence?.close();
      this.flush();
      ended = this.end();
      this.attributor.close();
      void this.kernel.stop();
      this.db.close();
    } catch (err) {
      failure ??= err;
    }
    const error = failure ? (failure instanceof StoreError || failure instanceof UserError ? failure : explainStoreError(failure, this.dbPath)) : null;
    const totals = this.changes.totals;
    const summary: LiveSummary = {
      ...this.stats(), lossEstimate: lossPercent(totals.tcpAcked, totals.tcpMissed), sessionId: this.sessionId, error,
      stored: this.gaps.counts, ended,
    };
    this.emit('stopped', summary);
    return summary;
  }

  /** Ends the session; false when the store is (still) full, so the session stays open with the gaps recorded so far. */
  private end(): boolean {
    if (this.gaps.isFull()) return false;
    const totals = this.changes.totals;
    try {
      this.session.end({
        // The window watched, not the first and last packet: an idle capture still covers its time.
        interfaces: this.capture.interfaces, packets: this.ingest.counts.packets, startedAt: this.captureStartUs,
        endedAt: Date.now() * 1000, drops: this.capture.stats().total.kernelDrops,
        lossEstimate: lossPercent(totals.tcpAcked, totals.tcpMissed), skipped: nonZero(this.ingest.counts.skips), warnings: [],
        stoppedAt: null, expiredEarly: expiredEarlyRecord(this.ingest.counts.expiredEarly),
      });
      return true;
    } catch (err) {
      if (!isDiskFull(err, this.dbPath)) throw err;
      this.gaps.failed([], 0, Date.now() * 1000);
      return false;
    }
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
  return capture.interfaces.map((i) => i.name ?? String(i.index)).join(',');
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
