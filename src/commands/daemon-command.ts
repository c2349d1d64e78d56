import { resolve } from 'node:path';
import { openLiveCapture, type LiveCapture } from '../capture/live-capture.js';
import { createProcfsAttributor } from '../attribution/procfs-attributor.js';
import type { Attributor, ProcessInfo } from '../attribution/attributor.js';
import { redactArgv } from '../attribution/cmdline-redact.js';
import type { Flow } from '../flows/flow.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import { lossOf, lossPercent } from '../flows/tcp-loss.js';
import { expiredEarlyRecord } from '../flows/flow-table.js';
import { createIngest } from '../pipeline/ingest.js';
import { openDb } from '../store/open-db.js';
import { evidenceDirFor, resolveDbPath } from '../store/db-path.js';
import { beginLiveSession, type LiveBatch, type LiveSession } from '../store/live-session.js';
import { createEvidenceWriter, type EvidenceWriter } from '../store/evidence-writer.js';
import type { EvidencePolicy } from '../store/evidence-policy.js';
import { explainStoreError, StoreError } from '../store/store-error.js';
import type { ProcessRecord } from '../store/session-rows.js';
import { formatPercent } from '../text/format-values.js';
import { EXIT_OK } from './user-error.js';

export interface DaemonOptions {
  db?: string;
  interface?: string[];
  filter?: string;
  evidence?: EvidencePolicy;
  evidenceDir?: string;
  maxEvidence?: number;
  retain?: number;
  process?: string[];
  pid?: number[];
  apiPort?: number[];
  /**
   * Store processes' command lines verbatim (a privacy choice: arguments can hold prompts).
   * Otherwise they are stored redacted (src/attribution/cmdline-redact.ts).
   */
  keepCmdline?: boolean;
  /** Stop after this many seconds (otherwise at SIGINT/SIGTERM). */
  duration?: number;
  /** Open flows at most (--max-flows); default 500000. */
  maxFlows?: number;
  /** Stop when this settles (verify --exercise). */
  until?: Promise<unknown>;
  /** Tests: resolves when the capture is running. */
  onReady?: (info: { sessionId: number }) => void;
}

const FLUSH_MS = 1000;
/**
 * A stop (SIGTERM, --duration) ends within 2 s under any load: closing and writing the open flows
 * gets this long; what does not fit stays unwritten and is counted (sessions.expired_early
 * unwritten_at_stop, a coverage problem). The rest of the 2 s ends the session and closes the store.
 */
const STOP_WRITE_MS = 1500;
/** Flow rows per transaction when stopping, so the deadline is checked between them. */
const STOP_CHUNK_ROWS = 2000;

/**
 * `daemon`: live capture into the store until SIGINT/SIGTERM (or --duration). Every second one
 * transaction writes what changed: open flows (upserted), closed flows, DNS and HTTP records,
 * processes, evidence index rows and the session's progress. A kill -9 loses at most that second.
 */
export async function runDaemon(opts: DaemonOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  const dbPath = resolveDbPath(opts.db);
  const db = openDb(dbPath);
  let capture: LiveCapture;
  try {
    capture = openLiveCapture({ interfaces: opts.interface?.length ? opts.interface : ['any'], filter: opts.filter });
  } catch (err) {
    db.close();
    throw err;
  }
  const ifaceNames = capture.interfaces.map((i) => i.name ?? String(i.index)).join(',');
  const policy = opts.evidence ?? 'head';
  // Absolute: segment paths are stored, and readers run from other working directories.
  const evidenceDir = resolve(opts.evidenceDir ?? evidenceDirFor(dbPath));
  let evidenceStopped = false;
  let session: LiveSession;
  let attributor: Attributor;
  let evidence: EvidenceWriter | null;
  try {
    session = beginLiveSession(db, { kind: 'live', source: ifaceNames, format: 'live', filter: opts.filter ?? null });
    attributor = createProcfsAttributor({ extraNames: opts.process, extraPids: opts.pid });
    evidence = policy === 'none' ? null : createEvidenceWriter({
      dir: evidenceDir, policy, session: String(session.sessionId), apiPorts: opts.apiPort ?? [11434],
      maxTotalBytes: opts.maxEvidence, retainUs: opts.retain === undefined ? undefined : opts.retain * 1e6,
      onDiskFull: () => {
        evidenceStopped = true;
        log(`ollama-audit: the disk holding ${evidenceDir} is full: evidence recording stopped, flow records continue (free space, then restart the daemon to record evidence again)`);
      },
      onError: (err: Error) => log(`ollama-audit: evidence recording stopped after a write error: ${err.message}`),
    });
  } catch (err) {
    // An open capture keeps the event loop alive: close it, or the process would hang instead of exiting 2.
    capture.stop();
    db.close();
    if (err instanceof StoreError || (err as { code?: unknown }).code === undefined) throw err;
    throw explainStoreError(err, dbPath);
  }

  // Everything changed since the last flush.
  const dirty = new Set<Flow>();
  let closed: { flow: Flow; cls: Classification }[] = [];
  let dnsRecs: DnsRecord[] = [];
  let httpRecs: HttpRecord[] = [];
  const processSeqs = new Map<ProcessInfo, number>();
  const hashPending = new Set<ProcessInfo>();
  let newProcesses: { seq: number; rec: ProcessRecord }[] = [];
  const totals = { flows: 0, ollama: 0, tcpAcked: 0, tcpMissed: 0 };

  const ingest = createIngest(
    {
      flow(f, c) {
        dirty.delete(f);
        closed.push({ flow: f, cls: c });
        const l = lossOf(f);
        totals.tcpAcked += l.ackedOut + l.ackedIn;
        totals.tcpMissed += l.gapOut + l.gapIn;
      },
      dns: (r) => dnsRecs.push(r),
      http: (r) => httpRecs.push(r),
    },
    {
      onOpen: (f) => attributor.attributeFlow(f, (flow) => dirty.add(flow)),
      onPacket(f, dir, p, d) {
        dirty.add(f);
        if (evidence !== null && !evidenceStopped) evidence.write(f, dir, p, d);
      },
    },
    { maxFlows: opts.maxFlows },
  );

  // Several devices: a forwarded packet crosses more than one (`any` is checked by its cooked link type).
  if (capture.interfaces.length > 1) ingest.severalInterfaces();

  /** The processes row of a flow's process or peer: every process gets one row, numbered once. */
  function processSeq(info: ProcessInfo | null): number | null {
    if (info === null) return null;
    let seq = processSeqs.get(info);
    if (seq === undefined) {
      seq = processSeqs.size + 1;
      processSeqs.set(info, seq);
      newProcesses.push({ seq, rec: processRecord(info, opts.keepCmdline === true) });
      if (info.exeSha256 === null) hashPending.add(info);
    }
    return seq;
  }

  function batch(): LiveBatch {
    const flows: LiveBatch['flows'] = [];
    const add = (flow: Flow, cls: Classification) => {
      if (attributor.processOf(flow)?.self) return; // our own traffic (none expected: no network calls) is not audited
      flows.push({ flow, cls, processSeq: processSeq(attributor.processOf(flow)), peerProcessSeq: processSeq(attributor.peerOf(flow)) });
    };
    // Closed flows first: when stopping, a deadline may cut the list (finish() closed answered flows first).
    for (const c of closed) {
      add(c.flow, c.cls);
      totals.flows++;
      if (c.cls.ollama) totals.ollama++;
    }
    for (const f of dirty) add(f, ingest.classify(f));
    // An executable hashed since its process was first written: write the hash now.
    for (const info of hashPending) {
      if (info.exeSha256 === null) continue;
      hashPending.delete(info);
      newProcesses.push({ seq: processSeqs.get(info)!, rec: processRecord(info, opts.keepCmdline === true) });
    }
    let acked = totals.tcpAcked;
    let missed = totals.tcpMissed;
    for (const f of ingest.openFlows()) {
      const l = lossOf(f);
      acked += l.ackedOut + l.ackedIn;
      missed += l.gapOut + l.gapIn;
    }
    const stats = capture.stats();
    const b: LiveBatch = {
      flows, dns: dnsRecs, http: httpRecs, processes: newProcesses,
      evidence: evidence ? { segments: evidence.drainSegments(), rows: evidence.drainIndex(), deleted: evidence.drainDeleted() } : null,
      progress: {
        packets: ingest.counts.packets, startedAt: captureStartUs,
        drops: stats.total.kernelDrops, lossEstimate: lossPercent(acked, missed), skipped: nonZero(ingest.counts.skips),
        expiredEarly: expiredEarlyRecord(ingest.counts.expiredEarly),
      },
    };
    dirty.clear();
    closed = [];
    dnsRecs = [];
    httpRecs = [];
    newProcesses = [];
    return b;
  }

  let captureStartUs = Date.now() * 1000;
  let storeFullSaid = false;
  let carried: LiveBatch | null = null;
  function flush(): void {
    const b = merge(carried, batch());
    try {
      session.flush(b);
      carried = null;
    } catch (err) {
      const e = explainStoreError(err, dbPath);
      if (!/disk full/.test(e.message)) throw e;
      // Keep the rows and try again next second: flow records outlive a full disk once space returns.
      carried = b;
      if (!storeFullSaid) log(`ollama-audit: ${e.message.replace(' and run again', '')}; capture continues and rows are kept in memory until it can write again`);
      storeFullSaid = true;
    }
  }

  /**
   * The last flush, in transactions of STOP_CHUNK_ROWS flow rows until `late()` (closed flows first,
   * then open ones that saw packets since the last flush; the others are stored as they are).
   * Returns the flows whose last state was not written (the deadline, or a full disk).
   */
  function flushBy(late: () => boolean): number {
    const b = merge(carried, batch());
    carried = null;
    const rows = b.flows;
    let i = 0;
    try {
      do {
        const chunk = rows.slice(i, i + STOP_CHUNK_ROWS);
        session.flush(i === 0 ? { ...b, flows: chunk } : { ...b, flows: chunk, dns: [], http: [], processes: [], evidence: null });
        i += chunk.length;
      } while (i < rows.length && !late());
    } catch (err) {
      const e = explainStoreError(err, dbPath);
      if (!/disk full/.test(e.message)) throw e;
      log(`ollama-audit: ${e.message}`);
    }
    return rows.length - i;
  }

  return new Promise<number>((resolve, reject) => {
    let stopping = false;
    const timer = setInterval(() => {
      try {
        ingest.tick(Date.now() * 1000);
        flush();
      } catch (err) {
        stop(err);
      }
    }, FLUSH_MS);
    const durationTimer = opts.duration !== undefined ? setTimeout(() => stop(), opts.duration * 1000) : null;
    opts.until?.then(() => stop(), () => stop());
    const onSignal = () => stop();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    function stop(failure?: unknown): void {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      if (durationTimer) clearTimeout(durationTimer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      try {
        const writeBy = Date.now() + STOP_WRITE_MS;
        const late = () => Date.now() >= writeBy;
        capture.stop();
        ingest.finish(late);
        evidence?.close();
        const unwritten = flushBy(late);
        const stats = capture.stats();
        session.end({
          // The window watched, not the first and last packet: an idle capture still covers its time.
          interfaces: capture.interfaces, packets: ingest.counts.packets, startedAt: captureStartUs,
          endedAt: Date.now() * 1000, drops: stats.total.kernelDrops,
          lossEstimate: lossPercent(totals.tcpAcked, totals.tcpMissed), skipped: nonZero(ingest.counts.skips), warnings: [],
          stoppedAt: null, expiredEarly: expiredEarlyRecord(ingest.counts.expiredEarly, unwritten),
        });
        if (unwritten > 0) log(`ollama-audit: stopping within 2 s left ${unwritten} flows unwritten (counted in the session's coverage)`);
        attributor.close();
        db.close();
        const a = attributor.stats();
        log(`ollama-audit: stopped: ${ingest.counts.packets} packets, ${totals.flows} flows (${totals.ollama} Ollama, ${a.unattributed} unattributed), kernel drops ${stats.total.kernelDrops ?? 'unknown'}, estimated loss ${fmtLoss(lossPercent(totals.tcpAcked, totals.tcpMissed))}`);
      } catch (err) {
        failure = failure ?? err;
      }
      if (failure) reject(failure instanceof StoreError ? failure : explainStoreError(failure, dbPath));
      else resolve(EXIT_OK);
    }

    captureStartUs = Date.now() * 1000;
    capture.start(ingest.packet);
    log(`ollama-audit: capturing on ${ifaceNames}${opts.filter ? ` (filter: ${opts.filter})` : ''} into ${dbPath}, session ${session.sessionId}; evidence: ${policy === 'none' ? 'none' : `${policy} in ${evidenceDir}`}; stop with Ctrl-C or SIGTERM`);
    opts.onReady?.({ sessionId: session.sessionId });
  });
}

/** The row of one process; its command line redacted unless the user chose to keep it. */
function processRecord(p: ProcessInfo, keepCmdline: boolean): ProcessRecord {
  const argv = keepCmdline ? p.cmdline : redactArgv(p.cmdline, p.exe);
  return {
    pid: p.pid, startTime: Math.round(p.startTime), ppid: p.ppid, comm: p.comm, exe: p.exe, exeSha256: p.exeSha256,
    cmdline: argv.join(' '), uid: p.uid, role: p.role, ollamaTree: p.ollamaTree, source: 'procfs',
  };
}

function merge(a: LiveBatch | null, b: LiveBatch): LiveBatch {
  if (a === null) return b;
  const evidence = a.evidence && b.evidence
    ? { segments: [...a.evidence.segments, ...b.evidence.segments], rows: [...a.evidence.rows, ...b.evidence.rows], deleted: [...a.evidence.deleted, ...b.evidence.deleted] }
    : a.evidence ?? b.evidence;
  return {
    flows: [...a.flows, ...b.flows], dns: [...a.dns, ...b.dns], http: [...a.http, ...b.http],
    processes: [...a.processes, ...b.processes], evidence, progress: b.progress,
  };
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

function fmtLoss(v: number | null): string {
  return v === null ? 'unknown' : formatPercent(v);
}
