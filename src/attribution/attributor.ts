/**
 * Who owns a flow on this machine: the OS-neutral port. Linux answers through procfs
 * (procfs-attributor.ts); another OS adds its own createXxxAttributor behind the same shape,
 * the way bandwhich keeps one lookup interface per OS.
 */
import type { Flow } from '../flows/flow.js';
import type { Role } from '../knowledge/processes.js';
import type { AttributionRecord } from './os/linux/kernel-attribution.js';

export interface ProcessInfo {
  pid: number;
  /** µs since epoch. With pid it identifies a process across pid reuse. */
  startTime: number;
  ppid: number;
  comm: string;
  exe: string | null;
  cmdline: string[];
  uid: number;
  /** Filled asynchronously, once per executable file; null until known or when unreadable. */
  exeSha256: string | null;
  role: Role | null;
  /** role !== null, a descendant of an Ollama process, or picked by the user (--process/--pid). */
  ollamaTree: boolean;
  /** The auditor itself (selfPid): its own flows can be told apart and left out. */
  self: boolean;
  /**
   * Set by the macOS attributor: the record comes from a pktap process block, which gives no
   * start time, parent or user (startTime, ppid, uid are then 0/0/-1 and stored as unknown).
   * 'kernel-event': a socket event named the process (pid, thread name, user) but it was gone
   * before /proc could be read: start time, parent, executable and command line are unknown.
   * 'lsof': an lsof lookup (macOS without pktap) named pid, command and user; the rest is unknown.
   * 'pcapng-comment': a replayed file's ptcpdump comment named it (pid, executable), as pktap's.
   */
  source?: 'pktap' | 'kernel-event' | 'lsof' | 'pcapng-comment';
  /** Executable UUID (macOS pktap), else absent. */
  exeUuid?: string | null;
}

export interface AttributionStats {
  /** lookup() and attributeFlow() calls. */
  lookups: number;
  /** Answered from the cache at once. */
  hits: number;
  /** Not in the cache at once: queued for a rescan. */
  misses: number;
  /** Misses a rescan then resolved. */
  resolvedLater: number;
  /** Flows no process could be found for (a flow with only its peer known counts here too). */
  unattributed: number;
  rescans: number;
  /** Time spent in all scans (table reads, fd scans), initial full scan included. */
  scanMsTotal: number;
  /** Cost of the last full scan of every process's fds. */
  fullScanMs: number;
  /** Processes whose fd table was walked, summed over scans. */
  pidsScanned: number;
  /** Live processes whose /proc/<pid>/fd could not be read (other users, when unprivileged); not walked again. */
  unreadablePids: number;
  /** Sockets seen in /proc/net whose owner no readable process holds. */
  unownedSockets: number;
  /** Flows waiting for the next rescan. */
  pending: number;
  /** Ends answered by a kernel socket event (bpftrace), not by the socket tables. */
  fromKernelEvents?: number;
}

export interface Attributor {
  /**
   * Who owns the local end (localAddr/localPort) of a socket of IP protocol proto (6/17) whose
   * peer is remoteAddr/remotePort. Synchronous, from cache; null on a miss (a miss schedules a rescan).
   */
  lookup(proto: number, localAddr: Buffer, localPort: number, remoteAddr: Buffer, remotePort: number): ProcessInfo | null;
  /**
   * Attribute a flow now if the cache knows it, else queue it and fill flow.process and
   * flow.peerProcess (and call onResolved with the process, null when only the peer is known)
   * when a debounced rescan finds them. onResolved is called only for that later case.
   * Both ends are looked up in one pass: when the initiator is on this machine its socket's
   * owner is `process` and a local responder's is `peerProcess`; else the responder's is `process`.
   */
  attributeFlow(flow: Flow, onResolved?: (flow: Flow, p: ProcessInfo | null) => void): void;
  /** The full record behind a flow's process (flow.process holds only pid, name, exe). */
  processOf(flow: Flow): ProcessInfo | null;
  /** The full record behind flow.peerProcess. */
  peerOf(flow: Flow): ProcessInfo | null;
  /** Every process seen so far, one entry per pid + startTime. */
  processes(): Iterable<ProcessInfo>;
  stats(): AttributionStats;
  /**
   * What this attributor says in the session's attribution record over the kernel events' one
   * (macOS: its method; lsof lookups: why pktap was not used and the lookups' counts); absent: procfs.
   */
  sessionRecord?(): Partial<AttributionRecord>;
  close(): void;
}
