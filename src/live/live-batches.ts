import type { Attributor, ProcessInfo } from '../attribution/attributor.js';
import { redactArgv } from '../attribution/cmdline-redact.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import type { Flow } from '../flows/flow.js';
import { lossOf } from '../flows/tcp-loss.js';
import type { IngestSinks } from '../pipeline/ingest.js';
import { processNumbering } from '../store/process-numbers.js';
import { flowRow, type ProcessRecord, type Row } from '../store/session-rows.js';
import { createHeldFlows, HeldKey, type HeldFlows, type HeldSource, type OpenEntry } from './held-flows.js';

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

/** A process row not yet in the store. */
export interface ProcessRowOf { seq: number; rec: ProcessRecord }

/**
 * A flow row as built for the store, and what `wrote` keeps of it once the store has it: the
 * counters, TCP loss and owners it was built with (the flow moves on while the row is on its way).
 */
export interface BuiltRow {
  flow: Flow;
  cls: Classification;
  packets: number;
  acked: number;
  missed: number;
  process: ProcessInfo | null;
  peer: ProcessInfo | null;
}

/** Flows changed since the last take, not yet made into rows (a stop writes them in deadline-bounded chunks). */
export interface ChangedFlows {
  /** Flows that closed, classified as they closed. */
  closed: { flow: Flow; cls: Classification }[];
  /** Open flows that saw packets (or an owner) since the last take: Flows, then held flows by key (see flowsOf). */
  open: OpenEntry[];
  dns: DnsRecord[];
  http: HttpRecord[];
}

/**
 * What changed since the last flush, collected from the pipeline's sinks and hooks: flows that
 * saw packets (`touched`), flows that closed, DNS and HTTP records, processes met for the first
 * time. `takeChanged` hands it over, `rowsOf` makes rows of it chunk by chunk (progress and evidence are the engine's).
 * It also remembers, per flow, the packet count and classification of the row last written
 * (`wrote`): a flow that closes with that very row stored is not written again (under a flood,
 * every one-packet flow would be written twice: when new, and when its half-open timeout closes
 * it), and a stop tells a flow whose latest counters are not in the store from one only closing (`isStored`).
 */
export function createChangeSet(attributor: Attributor, keepCmdline: boolean, heldSource?: () => HeldSource) {
  const dirty = new Set<Flow>();
  // Flows the table holds without a Flow (held-flows.ts): none without a source.
  const held: HeldFlows = createHeldFlows(attributor, heldSource ?? (() => NO_HELD));
  let closed: ChangedFlows['closed'] = [];
  /** The entries of `closed` by flow (a late owner updates its flow's entry in place). */
  let closedEntry = new Map<Flow, ChangedFlows['closed'][number]>();
  let dns: DnsRecord[] = [];
  let http: HttpRecord[] = [];
  let processes: ProcessRowOf[] = [];
  const hashPending = new Set<ProcessInfo>();
  const totals: ClosedTotals = { flows: 0, ollama: 0, tcpAcked: 0, tcpMissed: 0, byActivity: {} };
  const numbering = processNumbering<ProcessInfo>((seq, rec) => processes.push({ seq, rec }));
  /** Packets (both ways), classification and, while open, TCP loss counts of each flow's last written row. */
  const written = new WeakMap<Flow, Written>();
  /**
   * TCP bytes acknowledged and missed over the open flows, as their rows were last written: kept
   * up to date per written row, so the loss estimate each second costs the rows written, not a
   * walk over every open flow (500,000 under a flood).
   */
  const openLoss = { acked: 0, missed: 0 };

  /** Takes a flow's open contribution out of openLoss (it closed, or its row is no longer current). */
  function dropOpenLoss(w: Written | undefined): void {
    if (w === undefined) return;
    openLoss.acked -= w.acked;
    openLoss.missed -= w.missed;
    w.acked = 0;
    w.missed = 0;
  }

  const sinks: IngestSinks = {
    flow(f, c) {
      dirty.delete(f);
      dropOpenLoss(written.get(f));
      // A flow whose stored row is this very row (a flood's one-packet flow, written when new, then
      // evicted or timed out) needs no closed row: not kept until the next write. Under a flood that
      // was 20,000 Flows a second held for a second or two, old enough to reach V8's old generation.
      // A late owner still gets it a row (resolved).
      if (!rowIsCurrent(f, c)) {
        const entry = { flow: f, cls: c };
        closed.push(entry);
        closedEntry.set(f, entry);
      }
      totals.flows++;
      if (c.ollama) totals.ollama++;
      const perActivity = (totals.byActivity[c.activity] ??= { ollama: 0, other: 0 });
      if (c.ollama) perActivity.ollama++;
      else perActivity.other++;
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

  /** Everything changed since the last call, not yet made into rows. */
  function takeChanged(): ChangedFlows {
    const changed: ChangedFlows = { closed, open: [...dirty] as OpenEntry[], dns, http };
    held.take(changed.open);
    dirty.clear();
    closed = [];
    closedEntry = new Map();
    dns = [];
    http = [];
    return changed;
  }

  /**
   * Rows of these flows (open ones classified as they are now) and of the processes met for the
   * first time since the last call: `rows` for the store, `flows` what each was built from.
   * `open` and `closed` list the flows of those rows (our own are left out).
   */
  function rowsOf(openFlows: Iterable<Flow>, closedFlows: Iterable<{ flow: Flow; cls: Classification }>, classifyOpen: (f: Flow) => Classification) {
    const flows: BuiltRow[] = [];
    const rows: Row[] = [];
    const open: Flow[] = [];
    const closedOut: Flow[] = [];
    const add = (flow: Flow, cls: Classification, into: Flow[]) => {
      const process = held.processOf(flow);
      if (process?.self) return; // our own traffic (none expected: no network calls) is not audited
      const peer = held.peerOf(flow);
      rows.push(flowRow(flow, cls, processSeq(process), processSeq(peer)));
      const l = flow.closed ? null : lossOf(flow);
      flows.push({
        flow, cls, packets: flow.packetsOut + flow.packetsIn, acked: l === null ? 0 : l.ackedOut + l.ackedIn, missed: l === null ? 0 : l.gapOut + l.gapIn,
        process, peer,
      });
      into.push(flow);
    };
    for (const f of openFlows) add(f, classifyOpen(f), open);
    for (const c of closedFlows) if (!rowIsCurrent(c.flow, c.cls)) add(c.flow, c.cls, closedOut);
    // An executable hashed since its process was first written: write the hash now.
    for (const info of hashPending) {
      if (info.exeSha256 === null) continue;
      hashPending.delete(info);
      processes.push({ seq: numbering.known(info)!, rec: processRecord(info, keepCmdline) });
    }
    const newProcesses = processes;
    processes = [];
    return { flows, rows, processes: newProcesses, open, closed: closedOut };
  }

  /**
   * Rows that could not be written: open flows are written with the next batch (they are in the
   * flow table anyway), process rows too (one per process at most: flows point at them).
   */
  function putBack(open: OpenEntry[], processRows: ProcessRowOf[]): void {
    for (const e of open) {
      if (e instanceof HeldKey || held.isTransient(e)) held.putBack(e);
      else if (!e.closed) dirty.add(e);
    }
    processes = [...processRows, ...processes];
  }

  /** These rows are in the store now (as they were built: their flows may have moved on since). */
  function wrote(rows: BuiltRow[]): void {
    for (const row of rows) {
      let b = row;
      if (held.isTransient(b.flow)) {
        // A held flow's row (no TCP acknowledged: nothing for openLoss), kept by id until it has a Flow.
        const now = held.wrote(b.flow, b.packets, b.cls, b.process, b.peer);
        if (now === null) continue;
        b = { ...b, flow: now };
      }
      dropOpenLoss(written.get(b.flow));
      // A flow that closed while its open row was on its way counts in the closed totals already.
      const acked = b.flow.closed ? 0 : b.acked;
      const missed = b.flow.closed ? 0 : b.missed;
      openLoss.acked += acked;
      openLoss.missed += missed;
      written.set(b.flow, { packets: b.packets, cls: b.cls, acked, missed, process: b.process, peer: b.peer });
    }
  }

  /** The store holds this flow's latest counters (and its owner: a flow resolved later is touched and forgotten). */
  function isStored(f: Flow): boolean {
    const packets = held.isTransient(f) ? held.writtenPackets(f) : written.get(f)?.packets;
    return packets === f.packetsOut + f.packetsIn;
  }

  /** A held flow got its Flow: what was kept of it by id (owners, last written row, changed) is now the Flow's. */
  function gotFlow(f: Flow): void {
    const { row, dirty: changed } = held.gotFlow(f);
    if (row !== null) written.set(f, { packets: row.packets, cls: row.cls, acked: 0, missed: 0, process: row.process, peer: row.peer });
    if (changed) dirty.add(f);
  }

  /** The store holds exactly this row: same counters, owners and classification. */
  function rowIsCurrent(f: Flow, cls: Classification): boolean {
    const w = written.get(f);
    return w !== undefined && w.process === held.processOf(f) && w.peer === held.peerOf(f)
      && w.packets === f.packetsOut + f.packetsIn && w.cls.activity === cls.activity
      && w.cls.ollama === cls.ollama && w.cls.reason === cls.reason;
  }

  /**
   * A flow that got its owner after its row was written: its row is not current (its counters still
   * are: a stop that cannot write it does not count it as unwritten). An open flow is dirty again. A closed one (a kernel socket event can come after the flow closed) goes to the
   * closed rows once, classified again (the owner decides whether it is Ollama's).
   */
  function resolved(f: Flow, classify: () => Classification): void {
    if (!f.closed) {
      dirty.add(f);
      return;
    }
    const pending = closedEntry.get(f);
    if (pending) pending.cls = classify();
    else {
      // Taken already: written, on its way to the store (its row names no owner), or lost in a gap.
      const entry = { flow: f, cls: classify() };
      closed.push(entry);
      closedEntry.set(f, entry);
    }
  }

  return {
    sinks, touched: (f: Flow) => dirty.add(f), resolved, takeChanged, rowsOf, putBack, wrote, isStored, gotFlow,
    /** A packet counted in held flow `id` at `slot` (no Flow). */
    touchedHeld: (slot: number, id: number) => held.touched(slot, id),
    /** Attribution named the owners of a held flow on its stand-in. */
    heldAttributed: (standIn: Flow) => held.attributed(standIn),
    /**
     * Changed open flows as they are now, each once (the later entry of a flow: a held flow may be
     * listed by key and, once it got its Flow, as that Flow); closed ones are left out.
     */
    entriesNow(open: OpenEntry[]): OpenEntry[] {
      const byId = new Map<number, OpenEntry>();
      for (const e of open) {
        const now = held.entryNow(e);
        if (now === null) continue;
        byId.delete(now.id);
        byId.set(now.id, now);
      }
      return [...byId.values()];
    },
    /** Entries as Flows to build rows from (held ones made now, as they stand); closed ones are left out. */
    flowsOf: (open: OpenEntry[]) => open.map(held.flowOf).filter((f): f is Flow => f !== null),
    /** The store holds this entry's latest counters (isStored, for a held flow's key too). */
    entryStored: (e: OpenEntry) => (e instanceof HeldKey ? held.keyStored(e) : isStored(e)),
    rowKey: (f: Flow) => held.rowKey(f),
    needsRow: (f: Flow, cls: Classification) => !rowIsCurrent(f, cls), totals, openLoss,
  };
}

interface Written {
  packets: number;
  cls: Classification;
  acked: number;
  missed: number;
  /** The owners the row names (a flow that got its owner after its row was written needs a new row). */
  process: ProcessInfo | null;
  peer: ProcessInfo | null;
}

/** The row of one process; its command line redacted unless the user chose to keep it. */
function processRecord(p: ProcessInfo, keepCmdline: boolean): ProcessRecord {
  const argv = keepCmdline ? p.cmdline : redactArgv(p.cmdline, p.exe);
  if (p.source === 'pktap' || p.source === 'pcapng-comment') {
    // A pktap process block (or a replayed file's ptcpdump comment) gives pid, name, UUID (and maybe a path): the rest is unknown, not 0.
    return {
      pid: p.pid, startTime: null, ppid: null, comm: p.comm, exe: p.exe, exeSha256: null, cmdline: null, uid: null,
      role: p.role, ollamaTree: p.ollamaTree, source: p.source, exeUuid: p.exeUuid ?? null,
    };
  }
  if (p.source === 'kernel-event' || p.source === 'lsof') {
    // The kernel named pid, thread name and user at send time; the process was gone before /proc was read.
    // lsof (macOS without pktap) names pid, command and user (-1: not given): the rest is unknown too.
    return {
      pid: p.pid, startTime: null, ppid: null, comm: p.comm, exe: null, exeSha256: null, cmdline: null, uid: p.uid < 0 ? null : p.uid,
      role: p.role, ollamaTree: p.ollamaTree, source: p.source,
    };
  }
  return {
    pid: p.pid, startTime: Math.round(p.startTime), ppid: p.ppid, comm: p.comm, exe: p.exe, exeSha256: p.exeSha256,
    cmdline: argv.join(' '), uid: p.uid, role: p.role, ollamaTree: p.ollamaTree, source: 'procfs',
  };
}

/** No held flows: the source of a change set whose pipeline holds none (tests). */
const NO_HELD: HeldSource = {
  find: () => null,
  packets: () => 0,
  flowOf: () => {
    throw new Error('no held flows');
  },
};
