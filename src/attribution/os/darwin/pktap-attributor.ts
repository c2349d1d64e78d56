/**
 * The macOS attributor: no socket table to read (macOS has no procfs; libproc/lsof would race like
 * any table). pktap puts each packet's process in the packet itself, and the pipeline copies it
 * onto the flow (pktap-packet.ts); this attributor only turns those names into ProcessInfo records
 * for the store and counts what stayed unattributed. lookup() answers null: there is no table.
 * A replayed capture file (`demo --watch`) is attributed the same way: its packets name their
 * processes by pktap blocks or by ptcpdump comments (stored as source 'pcapng-comment', as an import stores them).
 */
import type { AttributionStats, Attributor, ProcessInfo } from '../../attributor.js';
import type { Flow, FlowProcess } from '../../../flows/flow.js';
import { pktapProcessRole, processRole } from '../../../knowledge/processes.js';

export interface PktapAttributorOptions {
  /** The auditor's own pid (default process.pid), marked `self`. */
  selfPid?: number;
}

export function createPktapAttributor(opts: PktapAttributorOptions = {}): Attributor {
  const selfPid = opts.selfPid ?? process.pid;
  const records = new Map<string, ProcessInfo>();
  const flows = new Set<Flow>();
  let lookups = 0;

  function recordOf(p: FlowProcess | null): ProcessInfo | null {
    if (p === null) return null;
    const key = `${p.pid}\0${p.name}\0${p.exeUuid ?? ''}`;
    let rec = records.get(key);
    if (rec === undefined) {
      const pktap = p.source === 'pktap';
      const role = pktap ? pktapProcessRole(p.name, p.exe) : processRole(p.name);
      // pktap (or a ptcpdump comment as read) gives no start time, parent, command line or user: unknown, not guessed.
      // A replayed file's pids are another machine's: never this process.
      rec = {
        pid: p.pid, startTime: 0, ppid: 0, comm: p.name, exe: p.exe, cmdline: [], uid: -1, exeSha256: null,
        role, ollamaTree: role !== null, self: pktap && p.pid === selfPid, source: pktap ? 'pktap' : 'pcapng-comment', exeUuid: p.exeUuid ?? null,
      };
      records.set(key, rec);
    }
    return rec;
  }

  function stats(): AttributionStats {
    let unattributed = 0;
    for (const f of flows) if (f.process === null) unattributed++;
    return {
      lookups, hits: lookups - unattributed, misses: unattributed, resolvedLater: 0, unattributed, rescans: 0,
      scanMsTotal: 0, fullScanMs: 0, pidsScanned: 0, unreadablePids: 0, unownedSockets: 0, pending: 0,
    };
  }

  return {
    lookup: () => null,
    attributeFlow(flow) {
      // Called at a flow's first packet, before the pipeline reads that packet's tag: the answer is read later.
      lookups++;
      flows.add(flow);
    },
    processOf: (f) => recordOf(f.process),
    peerOf: (f) => recordOf(f.peerProcess),
    processes: () => records.values(),
    stats,
    sessionRecord: () => ({ method: 'pktap' }),
    close: () => flows.clear(),
  };
}
