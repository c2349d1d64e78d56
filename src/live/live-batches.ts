import type { Attributor, ProcessInfo } from '../attribution/attributor.js';
import { redactArgv } from '../attribution/cmdline-redact.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import type { Flow } from '../flows/flow.js';
import { lossOf } from '../flows/tcp-loss.js';
import type { IngestSinks } from '../pipeline/ingest.js';
import type { LiveBatch } from '../store/live-session.js';
import { processNumbering } from '../store/process-numbers.js';
import type { ProcessRecord } from '../store/session-rows.js';

export interface ChangedRows {
  rows: Pick<LiveBatch, 'flows' | 'dns' | 'http' | 'processes'>;
  open: Flow[];
  closed: Flow[];
}

/** Totals over the flows that closed so far. */
export interface ClosedTotals {
  flows: number;
  ollama: number;
  tcpAcked: number;
  tcpMissed: number;
  /** Closed flows per activity, Ollama's and others' (a bounded vocabulary: classify.ts's activity names). */
  byActivity: Record<string, ActivityCount>;
}

export interface ActivityCount { ollama: number; other: number }

/**
 * What changed since the last flush, collected from the pipeline's sinks and hooks: flows that
 * saw packets (`touched`), flows that closed, DNS and HTTP records, processes met for the first
 * time. `take` hands it over as the rows of one LiveBatch (progress and evidence are the engine's).
 */
export function createChangeSet(attributor: Attributor, keepCmdline: boolean) {
  const dirty = new Set<Flow>();
  let closed: { flow: Flow; cls: Classification }[] = [];
  let dns: DnsRecord[] = [];
  let http: HttpRecord[] = [];
  let processes: LiveBatch['processes'] = [];
  const hashPending = new Set<ProcessInfo>();
  const totals: ClosedTotals = { flows: 0, ollama: 0, tcpAcked: 0, tcpMissed: 0, byActivity: {} };
  const numbering = processNumbering<ProcessInfo>((seq, rec) => processes.push({ seq, rec }));

  const sinks: IngestSinks = {
    flow(f, c) {
      dirty.delete(f);
      closed.push({ flow: f, cls: c });
      const l = lossOf(f);
      totals.tcpAcked += l.ackedOut + l.ackedIn;
      totals.tcpMissed += l.gapOut + l.gapIn;
    },
    dns: (r) => dns.push(r),
    http: (r) => http.push(r),
  };

  /** The processes row of a flow's process or peer: every process gets one row, numbered once. */
  function processSeq(info: ProcessInfo | null): number | null {
    if (info === null) return null;
    return numbering.seqOf(info, () => {
      if (info.exeSha256 === null) hashPending.add(info);
      return processRecord(info, keepCmdline);
    });
  }

  /**
   * The rows of everything changed since the last call; open flows classified as they are now.
   * `open` and `closed` list the flows of those rows (our own are left out).
   */
  function take(classifyOpen: (f: Flow) => Classification): ChangedRows {
    const flows: LiveBatch['flows'] = [];
    const open: Flow[] = [];
    const closedFlows: Flow[] = [];
    const add = (flow: Flow, cls: Classification, into: Flow[]) => {
      if (attributor.processOf(flow)?.self) return; // our own traffic (none expected: no network calls) is not audited
      flows.push({ flow, cls, processSeq: processSeq(attributor.processOf(flow)), peerProcessSeq: processSeq(attributor.peerOf(flow)) });
      into.push(flow);
    };
    for (const f of dirty) add(f, classifyOpen(f), open);
    for (const c of closed) {
      add(c.flow, c.cls, closedFlows);
      totals.flows++;
      if (c.cls.ollama) totals.ollama++;
      const perActivity = (totals.byActivity[c.cls.activity] ??= { ollama: 0, other: 0 });
      if (c.cls.ollama) perActivity.ollama++;
      else perActivity.other++;
    }
    // An executable hashed since its process was first written: write the hash now.
    for (const info of hashPending) {
      if (info.exeSha256 === null) continue;
      hashPending.delete(info);
      processes.push({ seq: numbering.known(info)!, rec: processRecord(info, keepCmdline) });
    }
    const rows = { flows, dns, http, processes };
    dirty.clear();
    closed = [];
    dns = [];
    http = [];
    processes = [];
    return { rows, open, closed: closedFlows };
  }

  /**
   * Rows that could not be written: open flows are written with the next batch (they are in the
   * flow table anyway), process rows too (one per process at most: flows point at them).
   */
  function putBack(taken: ChangedRows): void {
    for (const f of taken.open) dirty.add(f);
    processes = [...taken.rows.processes, ...processes];
  }

  return { sinks, touched: (f: Flow) => dirty.add(f), take, putBack, totals };
}

/** The row of one process; its command line redacted unless the user chose to keep it. */
function processRecord(p: ProcessInfo, keepCmdline: boolean): ProcessRecord {
  const argv = keepCmdline ? p.cmdline : redactArgv(p.cmdline, p.exe);
  if (p.source === 'pktap') {
    // A pktap process block gives pid, name, UUID (and maybe a path): the rest is unknown, not 0.
    return {
      pid: p.pid, startTime: null, ppid: null, comm: p.comm, exe: p.exe, exeSha256: null, cmdline: null, uid: null,
      role: p.role, ollamaTree: p.ollamaTree, source: 'pktap', exeUuid: p.exeUuid ?? null,
    };
  }
  if (p.source === 'kernel-event') {
    // The kernel named pid, thread name and user at send time; the process was gone before /proc was read.
    return {
      pid: p.pid, startTime: null, ppid: null, comm: p.comm, exe: null, exeSha256: null, cmdline: null, uid: p.uid,
      role: p.role, ollamaTree: p.ollamaTree, source: 'kernel-event',
    };
  }
  return {
    pid: p.pid, startTime: Math.round(p.startTime), ppid: p.ppid, comm: p.comm, exe: p.exe, exeSha256: p.exeSha256,
    cmdline: argv.join(' '), uid: p.uid, role: p.role, ollamaTree: p.ollamaTree, source: 'procfs',
  };
}
