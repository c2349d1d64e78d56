/**
 * Linux process attribution through procfs, at the first packet of a flow.
 *
 * Timer-driven tools (bandwhich, nethogs) rescan /proc every second or so and lose connections
 * shorter than that. Here the socket tables are cached and a miss triggers a debounced rescan
 * (at most one per rescanMinIntervalMs, every miss since the last one answered by it; a miss of
 * a flow a remote end began waits up to inboundRescanMs, or ten times the last rescan's time
 * when longer: see Pending.urgent and INBOUND_COST_FACTOR): the fds
 * of the likely owners (recent owners, new pids), the /proc/net tables, then /proc/<pid>/fd of
 * as few other processes as can own the sockets still wanted (same uid as the socket first),
 * stopping once all are found. A socket no process holds after a complete pass is remembered
 * as unowned, not searched again. Scans are synchronous: a few ms, bounded, no thread pool.
 */
import { statSync } from 'node:fs';
import type { Flow } from '../flows/flow.js';
import { isLoopback } from '../decode/addr.js';
import type { AttributionStats, Attributor, ProcessInfo } from './attributor.js';
import { createExeHasher } from './exe-hash.js';
import { interfaceAddrs } from './local-addrs.js';
import { socketInodesOf } from './procfs-fds.js';
import { PROC_NET_TABLES, parseProcNet, type SocketEntry } from './procfs-net.js';
import { createPidTable, inTree, refreshPidTable, restatPid, type TreePicks } from './procfs-pid-table.js';
import { nameMatches, readProcessDetails, roleOf } from './procfs-process.js';
import { readBootTime, readProcText } from './procfs-stat.js';
import { buildSocketIndex, findBound, findConnected, hasLocalAddr, type SocketIndex } from './socket-index.js';
import { addrKeyOf, newKey, socketKeyOf, SocketKeyTable } from './socket-key.js';
import { eventKey, type KernelEventIndex } from './os/linux/kernel-event-index.js';
import type { KernelSocketEvent } from './os/linux/kernel-events.js';

export interface ProcfsAttributorOptions {
  /** Default '/proc'. */
  procRoot?: string;
  /** --process NAME: processes with this comm / exe name / argv[0] (and their children) join the Ollama tree. */
  extraNames?: string[];
  /** --pid N: these processes (and their children) join the Ollama tree; their network namespaces are read too. */
  extraPids?: number[];
  /** Debounce: at most one rescan per this many ms (default 5). */
  rescanMinIntervalMs?: number;
  /** Debounce when only flows begun by a remote end are waiting (default 50; see Pending.urgent). */
  inboundRescanMs?: number;
  /** The auditor's own pid (default process.pid), marked `self`. */
  selfPid?: number;
  /**
   * Socket events from the kernel (bpftrace, os/linux/kernel-events.ts), asked first for each end:
   * they name the sender even when its socket was gone before the first packet was read. procfs
   * still fills in the process (executable, command line, start time, parent) while it lives.
   */
  kernelEvents?: KernelEventIndex;
}

/**
 * One end of a flow or lookup to try as the local end. Addresses 4 or 16 bytes, as the flow or
 * caller has them (every lookup keys them as numbers, socket-key.ts: nothing is copied or made per flow).
 */
interface End {
  local: Uint8Array;
  localPort: number;
  remote: Uint8Array;
  remotePort: number;
  /** Listener / unconnected UDP matches allowed. */
  bound: boolean;
  /** The caller says this end is ours (lookup()). */
  surelyLocal: boolean;
}

/**
 * A flow (initiator end first, responder end second) or one lookup() end, waiting for a rescan
 * or a late kernel event. A flow's ends are not kept: endsOf reads them from the flow when needed.
 */
interface Pending {
  proto: number;
  /** lookup()'s one end; null for a flow. */
  ends: End[] | null;
  flow: Flow | null;
  /**
   * A local process began it (or lookup() asked): its socket may live for a few ms, so the rescan
   * comes after rescanMinIntervalMs. A flow a remote end began missed only when no listener or
   * bound socket was in the cached tables (one there answers at once): a port nothing listens on (a
   * flood, a scan) or one bound since the last reading; such misses wait for inboundRescanMs (or
   * INBOUND_COST_FACTOR times the last rescan's duration), so a flood of them costs at most
   * 1000/inboundRescanMs rescans a second and ~1/10 of the thread, not 1000/rescanMinIntervalMs.
   */
  urgent: boolean;
  onResolved?: (flow: Flow, p: ProcessInfo | null) => void;
  /** Waiting for a late kernel event since this performance.now() ms; 0: not waiting. */
  since: number;
}

interface EndOwner {
  owner: ProcessInfo | null;
  local: boolean;
  found: boolean;
}

/** The owners of a flow's two ends, as Flow.process and Flow.peerProcess define them. */
interface FlowOwners {
  process: ProcessInfo | null;
  peer: ProcessInfo | null;
  /**
   * `process` is the responder's because the initiator was not found on this machine. With kernel
   * events on, the initiator may still be ours in another network namespace (a container): its
   * event, when it comes, makes it `process` and the responder its peer.
   */
  fromResponder: boolean;
}

const MAX_PENDING = 50_000;
/** socketsAt's answer when no socket matches (never changed). */
const NONE: readonly SocketEntry[] = [];

/** Flows left without a process that a late kernel event may still name: at most this many, for at most LATE_EVENT_WAIT_MS. */
const MAX_LATE_WAITERS = 20_000;
const LATE_EVENT_WAIT_MS = 30_000;
const ALL_PROTOS: ReadonlySet<number> = new Set([6, 17]);
const HOT_PIDS = 8;
/**
 * Misses of flows a remote end began (a flood's) rescan at most every this many times the last
 * rescan's duration (when longer than inboundRescanMs): at most ~1/10 of the thread goes to them.
 * A rescan's cost is mostly the kernel's: reading /proc/net/tcp and tcp6 walks the whole
 * connection hash table, whose size follows the machine's memory, not its sockets (measured:
 * 8-16 ms per file with one socket, in any namespace, on a 23 GB machine; 25 ms a rescan).
 */
const INBOUND_COST_FACTOR = 10;
const IFACE_REFRESH_MS = 1000;
/** A process that started this long after a socket event cannot be the event's sender (pid reuse); start times are in clock ticks. */
const START_TIME_SLACK_US = 1e6;

function netnsOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

function end(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, bound: boolean, surelyLocal: boolean): End {
  return { local, localPort, remote, remotePort, bound, surelyLocal };
}

/** Filled from a flow by endsOf; two, reused for every flow (resolving a flow never nests). */
const flowEnds: End[] = [end(new Uint8Array(4), 0, new Uint8Array(4), 0, false, false), end(new Uint8Array(4), 0, new Uint8Array(4), 0, true, false)];

/**
 * A pending's ends: lookup()'s own, or a flow's two (initiator first), filled into flowEnds.
 * A TCP initiator is a connecting socket, never a listener; a UDP one may be unconnected.
 */
function endsOf(p: Pending): End[] {
  if (p.ends) return p.ends;
  const f = p.flow!;
  const [ini, res] = flowEnds;
  ini.local = res.remote = f.initiatorAddr;
  ini.localPort = res.remotePort = f.initiatorPort;
  ini.remote = res.local = f.responderAddr;
  ini.remotePort = res.localPort = f.responderPort;
  ini.bound = f.proto === 17;
  return flowEnds;
}

function brief(info: ProcessInfo): NonNullable<Flow['process']> {
  return { pid: info.pid, name: info.comm, exe: info.exe };
}

function emptyStats(): AttributionStats {
  return {
    lookups: 0, hits: 0, misses: 0, resolvedLater: 0, unattributed: 0, rescans: 0, scanMsTotal: 0,
    fullScanMs: 0, pidsScanned: 0, unreadablePids: 0, unownedSockets: 0, pending: 0,
  };
}

export function createProcfsAttributor(opts: ProcfsAttributorOptions = {}): Attributor {
  const procRoot = opts.procRoot ?? '/proc';
  const selfPid = opts.selfPid ?? process.pid;
  const minInterval = opts.rescanMinIntervalMs ?? 5;
  const inboundInterval = Math.max(minInterval, opts.inboundRescanMs ?? 50);
  const picks: TreePicks = { names: opts.extraNames ?? [], pids: new Set(opts.extraPids ?? []) };
  const bootTime = readBootTime(procRoot);
  const selfNetns = netnsOf(`${procRoot}/self/ns/net`);
  const pidTable = createPidTable();
  const hasher = createExeHasher();
  const stats = emptyStats();

  let index: SocketIndex = buildSocketIndex([]);
  /** Per protocol, the tables of the last reading: the host's first, then other namespaces'. */
  const tablesByProto = new Map<number, SocketEntry[][]>();
  /** This host's interface addresses (addrKeyOf keys), re-read at most every IFACE_REFRESH_MS. */
  let ifaceAddrs = new SocketKeyTable<true>();
  const key = newKey();
  let ifaceReadAt = -Infinity;
  /** socket inode -> pid holding it; only inodes of the current tables. */
  const owner = new Map<number, number>();
  /** Inodes a complete fd pass found in no readable process. */
  const unowned = new Set<number>();
  const infos = new Map<string, ProcessInfo>();
  const latestByPid = new Map<number, ProcessInfo>();
  const flowInfo = new WeakMap<Flow, ProcessInfo>();
  const peerInfo = new WeakMap<Flow, ProcessInfo>();
  const hot: number[] = [];
  /** Pids whose fd table was unreadable (other users, when unprivileged): not walked again. */
  const denied = new Set<number>();
  let pending: Pending[] = [];
  let timer: { kind: 'immediate'; h: NodeJS.Immediate; at: number } | { kind: 'timeout'; h: NodeJS.Timeout; at: number } | null = null;
  let lastScanEnd = -Infinity;
  /** How long the last rescan took (ms): misses a remote end began wait at least INBOUND_COST_FACTOR times this. */
  let lastScanMs = 0;
  let closed = false;

  function isLocal(addr: Uint8Array): boolean {
    return isLoopback(addr) || hasLocalAddr(index, addr) || ifaceAddrs.has(addrKeyOf(key, addr));
  }

  function infoFor(pid: number): ProcessInfo | null {
    const e = pidTable.entries.get(pid) ?? restatPid(pidTable, procRoot, pid, bootTime, picks);
    const latest = latestByPid.get(pid);
    if (!e) return latest ?? null;
    // The same process as last time (every flow of a busy sender): no key string made.
    if (latest !== undefined && latest.startTime === e.startTime) return latest;
    const key = `${pid}:${e.startTime}`;
    const known = infos.get(key);
    if (known) return known;
    const d = readProcessDetails(procRoot, pid);
    const role = roleOf(e.comm, d.exe, d.cmdline);
    const info: ProcessInfo = {
      pid, startTime: e.startTime, ppid: e.ppid, comm: e.comm, exe: d.exe, cmdline: d.cmdline,
      uid: d.uid >= 0 ? d.uid : e.uid, exeSha256: null, role,
      ollamaTree: role !== null || nameMatches(picks.names, e.comm, d.exe, d.cmdline[0] ?? null) || inTree(pidTable, pid),
      self: pid === selfPid,
    };
    infos.set(key, info);
    latestByPid.set(pid, info);
    info.exeSha256 = hasher.request(procRoot, pid, (sha) => {
      info.exeSha256 = sha;
    });
    return info;
  }

  /** CLOCK_MONOTONIC µs → µs since the epoch (kernel events carry the former, process start times the latter). */
  const epochMinusMonotonicUs = Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);

  /** What a kernel event alone says of a process that exited before /proc could be read. */
  function eventOnlyInfo(e: KernelSocketEvent): ProcessInfo {
    const key = `${e.pid}:event:${e.comm}`;
    const known = infos.get(key);
    if (known) return known;
    const role = roleOf(e.comm, null, []);
    const info: ProcessInfo = {
      pid: e.pid, startTime: 0, ppid: 0, comm: e.comm, exe: null, cmdline: [], uid: e.uid, exeSha256: null, role,
      ollamaTree: role !== null || nameMatches(picks.names, e.comm, null, null), self: e.pid === selfPid, source: 'kernel-event',
    };
    infos.set(key, info);
    return info;
  }

  /** The sender a kernel socket event names for this end, or null when no event is known for it. */
  function kernelOwner(proto: number, end: End): ProcessInfo | null {
    const e = opts.kernelEvents?.find(proto, end.local, end.localPort, end.remote, end.remotePort);
    if (!e) return null;
    stats.fromKernelEvents = (stats.fromKernelEvents ?? 0) + 1;
    const info = infoFor(e.pid);
    const sentAtUs = e.monotonicUs + epochMinusMonotonicUs;
    return info && info.source !== 'kernel-event' && info.startTime <= sentAtUs + START_TIME_SLACK_US ? info : eventOnlyInfo(e);
  }

  /** The process holding a socket; null when none can be found; 'unknown' before the fd scan looked. */
  function ownerOf(e: SocketEntry): ProcessInfo | null | 'unknown' {
    const pid = owner.get(e.inode);
    if (pid !== undefined) return infoFor(pid);
    return unowned.has(e.inode) ? null : 'unknown';
  }

  /**
   * The sockets that can be this end's, best first: the connected one with this exact 4-tuple,
   * then (when allowed) a listener / unconnected UDP socket on the local address and port.
   * A wildcard listener only answers for an address we know is ours, else an outbound flow to
   * port 443 somewhere would be pinned on a local server listening on 443.
   */
  function socketsAt(proto: number, end: End, local: boolean): readonly SocketEntry[] {
    const c = findConnected(index, proto, end.local, end.localPort, end.remote, end.remotePort);
    const b = end.bound ? findBound(index, proto, end.local, end.localPort, !local) : null;
    if (c === null && b === null) return NONE; // a flood's every flow: no array made
    const out: SocketEntry[] = [];
    if (c) out.push(c);
    if (b) out.push(b);
    return out;
  }

  /**
   * Who holds this end's socket. Before a rescan ('final' false), a socket not yet scanned or a
   * local end missing from the cached tables is a miss. `local`: the end is on this machine (a
   * socket of it was found, or its address is ours); `found`: a socket of it was found.
   */
  function endOwner(proto: number, end: End, final: boolean): EndOwner | 'miss' {
    const sender = kernelOwner(proto, end);
    if (sender) return { owner: sender, local: true, found: true };
    const local = end.surelyLocal || isLocal(end.local);
    const sockets = socketsAt(proto, end, local);
    for (const e of sockets) {
      const o = ownerOf(e);
      if (o === 'unknown') {
        if (!final) return 'miss';
        continue;
      }
      if (o !== null) return { owner: o, local: true, found: true };
    }
    if (!final && local && sockets.length === 0) return 'miss';
    return { owner: null, local: local || sockets.length > 0, found: sockets.length > 0 };
  }

  /**
   * Both ends of a flow in one pass. On loopback (or a local server reached through one of our
   * addresses) both sockets of a connection are ours: `process` is then always the initiator's
   * owner, never the server's just because the client's socket was already gone, and the
   * server goes to `peer`. A remote initiator leaves `process` to the responder's owner.
   */
  function resolveFlow(p: Pending, final: boolean): FlowOwners | 'miss' {
    const ends = endsOf(p);
    const ini = endOwner(p.proto, ends[0], final);
    if (ini === 'miss') return 'miss';
    const res = endOwner(p.proto, ends[1], final);
    if (res === 'miss') return 'miss';
    // Nothing of either end in the cached tables: maybe a socket newer than them.
    if (!final && !ini.found && !res.found) return 'miss';
    return ini.local ? { process: ini.owner, peer: res.owner, fromResponder: false } : { process: res.owner, peer: null, fromResponder: true };
  }

  function wantedOf(p: Pending, wanted: Map<number, SocketEntry>): void {
    for (const end of endsOf(p)) {
      const c = findConnected(index, p.proto, end.local, end.localPort, end.remote, end.remotePort);
      const b = end.bound ? findBound(index, p.proto, end.local, end.localPort) : null;
      for (const e of [c, b]) if (e && !owner.has(e.inode) && !unowned.has(e.inode)) wanted.set(e.inode, e);
    }
  }

  /** Re-read the tables of these protocols (the others keep their last reading) and re-index. */
  function readTables(protos: ReadonlySet<number>): void {
    for (const proto of protos) tablesByProto.set(proto, []);
    const readDir = (dir: string): void => {
      for (const [file, proto] of PROC_NET_TABLES) {
        if (!protos.has(proto)) continue;
        const text = readProcText(`${dir}/${file}`);
        if (text !== null) tablesByProto.get(proto)!.push(parseProcNet(text, proto, undefined, false));
      }
    };
    readDir(`${procRoot}/net`);
    // Ollama in a container: its sockets live in another network namespace, listed only
    // in /proc/<pid>/net of a process inside it. Read each such namespace once.
    const seen = new Set<number>();
    if (selfNetns !== null) seen.add(selfNetns);
    for (const pid of pidTable.entries.keys()) {
      if (!inTree(pidTable, pid)) continue;
      const ns = netnsOf(`${procRoot}/${pid}/ns/net`);
      if (ns === null || seen.has(ns)) continue;
      seen.add(ns);
      readDir(`${procRoot}/${pid}/net`);
    }
    index = buildSocketIndex([...tablesByProto.values()].flat());
    for (const ino of owner.keys()) if (!index.byInode.has(ino)) owner.delete(ino);
    for (const ino of unowned) if (!index.byInode.has(ino)) unowned.delete(ino);
    const now = performance.now();
    if (now - ifaceReadAt >= IFACE_REFRESH_MS) {
      ifaceAddrs = new SocketKeyTable<true>();
      for (const hex of interfaceAddrs()) ifaceAddrs.set(addrKeyOf(key, Buffer.from(hex, 'hex')), true);
      ifaceReadAt = now;
    }
  }

  function touchHot(pid: number): void {
    const i = hot.indexOf(pid);
    if (i >= 0) hot.splice(i, 1);
    hot.unshift(pid);
    if (hot.length > HOT_PIDS) hot.pop();
  }

  /** Recent owners, new pids, processes of the sockets' uids, then everyone else. */
  function scanOrder(wanted: Map<number, SocketEntry>): number[] {
    const uids = new Set<number>();
    for (const e of wanted.values()) uids.add(e.uid);
    for (const pid of denied) if (!pidTable.entries.has(pid)) denied.delete(pid);
    const order = new Set<number>();
    for (const pid of hot) if (pidTable.entries.has(pid)) order.add(pid);
    for (const pid of pidTable.fresh) order.add(pid);
    for (const e of pidTable.entries.values()) if (uids.has(e.uid)) order.add(e.pid);
    for (const pid of pidTable.entries.keys()) order.add(pid);
    for (const pid of denied) order.delete(pid);
    return [...order];
  }

  /** Take note of the socket inodes one process holds; true when it held some not known before. */
  function record(pid: number, inodes: readonly number[], wanted: Map<number, SocketEntry>): void {
    let gained = false;
    for (const ino of inodes) {
      if (!index.byInode.has(ino)) continue; // unix, netlink, or newer than the tables
      const prev = owner.get(ino);
      // A socket shared across fork stays with the process seen first while that one lives.
      if (prev === undefined || (prev !== pid && !pidTable.entries.has(prev))) {
        owner.set(ino, pid);
        gained = true;
      }
      if (wanted.delete(ino)) touchHot(pid);
    }
    // New sockets under a known pid: make sure it is still the same process (pid reuse).
    if (gained && pidTable.entries.get(pid)?.gen !== pidTable.gen) restatPid(pidTable, procRoot, pid, bootTime, picks);
  }

  function walk(pid: number): number[] | null {
    const r = socketInodesOf(procRoot, pid);
    stats.pidsScanned++;
    if (r === 'denied') denied.add(pid);
    return typeof r === 'string' ? null : r;
  }

  /**
   * Walk fd tables until every wanted inode is found; a complete pass marks the rest unowned.
   * `early` holds what the likely owners held at the start of the rescan (see rescan).
   */
  function scanFds(wanted: Map<number, SocketEntry>, early: ReadonlyMap<number, number[]>): void {
    for (const [pid, inodes] of early) record(pid, inodes, wanted);
    let complete = true;
    for (const pid of scanOrder(wanted)) {
      if (wanted.size === 0) {
        complete = false;
        break;
      }
      if (early.has(pid)) continue; // its sockets were all there at the start already
      const inodes = walk(pid);
      if (inodes) record(pid, inodes, wanted);
    }
    if (complete) for (const ino of wanted.keys()) unowned.add(ino);
    stats.unreadablePids = denied.size;
    stats.unownedSockets = unowned.size;
  }

  function assign(flow: Flow, owners: FlowOwners): void {
    flow.process = owners.process && brief(owners.process);
    flow.peerProcess = owners.peer && brief(owners.peer);
    if (owners.process) flowInfo.set(flow, owners.process);
    if (owners.peer) peerInfo.set(flow, owners.peer);
  }

  function rescan(): void {
    timer = null;
    if (closed) return;
    const t0 = performance.now();
    refreshPidTable(pidTable, procRoot, bootTime, picks);
    // The likely owners' fds first, the tables after: a socket must then only outlive the
    // (slow) table read, not the table read and the fd walk. Every queued socket existed
    // before this point, so what these processes hold now is all they can contribute.
    const early = new Map<number, number[]>();
    for (const pid of new Set([...hot, ...pidTable.fresh])) {
      const inodes = pidTable.entries.has(pid) ? walk(pid) : null;
      if (inodes) early.set(pid, inodes);
    }
    readTables(new Set(pending.map((p) => p.proto)));
    const wanted = new Map<number, SocketEntry>();
    for (const p of pending) wantedOf(p, wanted);
    if (wanted.size > 0) scanFds(wanted, early);
    const batch = pending;
    pending = [];
    for (const p of batch) settle(p);
    lastScanEnd = performance.now();
    lastScanMs = lastScanEnd - t0;
    stats.rescans++;
    stats.scanMsTotal += lastScanMs;
  }

  function settle(p: Pending): void {
    if (!p.flow) return;
    const r = resolveFlow(p, true);
    if (r === 'miss' || (r.process === null && r.peer === null)) {
      stats.unattributed++;
      awaitLateEvent(p);
      return;
    }
    counted(p, r, 'resolvedLater');
    assign(p.flow, r);
    p.onResolved?.(p.flow, r.process);
  }

  /** Counts a flow's outcome; one still without its initiator's owner may get it from a late kernel event. */
  function counted(p: Pending, r: FlowOwners, found: 'hits' | 'resolvedLater'): void {
    if (r.process === null) stats.unattributed++;
    else stats[found]++;
    if (r.process === null || r.fromResponder) awaitLateEvent(p);
  }

  /**
   * With kernel events on, a flow still without a process (or with only its responder's, when the
   * initiator may be ours in another namespace) waits a while for its event: bpftrace runs behind
   * under load, and the flow's first packet can be read before the event that names its sender.
   * Keyed by both ends' sockets (either may be the one an event names).
   */
  const lateWaiters = new SocketKeyTable<Pending>();
  // Arrival order, to expire the oldest first in constant time (a Map iterated from its start walks
  // every entry deleted since its last rehash: measured 34 µs a call with 20,000 held). A waiter
  // no longer lateWaiters' for either end (resolved, or its keys taken by a newer flow) is passed over.
  const lateOrder: Pending[] = [];
  let lateHead = 0;
  function awaitLateEvent(p: Pending): void {
    if (!opts.kernelEvents || !p.flow) return;
    p.since = performance.now();
    for (const end of endsOf(p)) lateWaiters.set(socketKeyOf(key, p.proto, end.local, end.localPort, end.remote, end.remotePort), p);
    lateOrder.push(p);
    expireLateWaiters(p.since);
  }

  /** Removes p's keys that are still its own. */
  function stopWaiting(p: Pending): void {
    for (const end of endsOf(p)) lateWaiters.delete(socketKeyOf(key, p.proto, end.local, end.localPort, end.remote, end.remotePort), p);
    p.since = 0;
  }

  function expireLateWaiters(now: number): void {
    while (lateHead < lateOrder.length) {
      const p = lateOrder[lateHead]!;
      if (p.since !== 0 && lateWaiters.size <= MAX_LATE_WAITERS && now - p.since <= LATE_EVENT_WAIT_MS) break;
      if (p.since !== 0) stopWaiting(p);
      lateOrder[lateHead++] = undefined as unknown as Pending; // let it be collected
    }
    // Drop what the head has passed, and resolved waiters when they outnumber the live ones (they
    // stay behind a waiter still young, holding their flows): the array stays within a few times the table.
    if (lateHead > 1024 && lateHead * 2 > lateOrder.length) {
      lateOrder.splice(0, lateHead);
      lateHead = 0;
    } else if (lateOrder.length - lateHead > 4 * MAX_LATE_WAITERS) {
      const live = lateOrder.slice(lateHead).filter((w) => w.since !== 0);
      lateOrder.length = 0;
      lateOrder.push(...live);
      lateHead = 0;
    }
  }

  function lateEvent(e: KernelSocketEvent): void {
    const w = lateWaiters.get(eventKey(key, e));
    const flow = w?.flow;
    if (!w || !flow || closed) return;
    const before = flow.process;
    const r = resolveFlow(w, true);
    if (r === 'miss' || r.process === null || r.fromResponder) return; // not what it waits for: keep waiting
    stopWaiting(w);
    if (before === null) {
      stats.unattributed--;
      stats.resolvedLater++;
    }
    assign(flow, r);
    w.onResolved?.(flow, r.process);
  }
  opts.kernelEvents?.onAdd(lateEvent);

  function schedule(urgent: boolean): void {
    if (closed) return;
    const at = lastScanEnd + (urgent ? minInterval : Math.max(inboundInterval, INBOUND_COST_FACTOR * lastScanMs));
    if (timer) {
      if (timer.at <= at) return;
      cancelTimer(); // an urgent miss while only inbound ones waited: sooner
    }
    const wait = at - performance.now();
    timer = wait <= 0
      ? { kind: 'immediate', h: setImmediate(rescan), at }
      : { kind: 'timeout', h: setTimeout(rescan, wait), at };
  }

  function cancelTimer(): void {
    if (timer?.kind === 'immediate') clearImmediate(timer.h);
    if (timer?.kind === 'timeout') clearTimeout(timer.h);
    timer = null;
  }

  function enqueue(p: Pending): void {
    stats.misses++;
    if (pending.length >= MAX_PENDING) {
      if (p.flow) stats.unattributed++;
      return;
    }
    pending.push(p);
    schedule(p.urgent);
  }

  function fullScan(): void {
    const t0 = performance.now();
    refreshPidTable(pidTable, procRoot, bootTime, picks);
    readTables(ALL_PROTOS);
    scanFds(new Map(index.byInode), new Map());
    stats.fullScanMs = performance.now() - t0;
    stats.scanMsTotal += stats.fullScanMs;
    lastScanEnd = performance.now();
  }

  fullScan();

  return {
    lookup(proto, localAddr, localPort, remoteAddr, remotePort) {
      stats.lookups++;
      // Copies: a pending lookup is answered later, and the caller may reuse its buffers.
      const e = end(Uint8Array.from(localAddr), localPort, Uint8Array.from(remoteAddr), remotePort, true, true);
      const p: Pending = { proto, flow: null, urgent: true, since: 0, ends: [e] };
      const r = endOwner(proto, e, false);
      if (r === 'miss') {
        enqueue(p);
        return null;
      }
      if (r.owner !== null) stats.hits++;
      return r.owner;
    },

    attributeFlow(flow, onResolved) {
      stats.lookups++;
      if (flow.proto !== 6 && flow.proto !== 17) {
        stats.unattributed++; // ICMP and the rest have no socket table to look in
        return;
      }
      const p: Pending = { proto: flow.proto, flow, onResolved, urgent: true, since: 0, ends: null };
      const r = resolveFlow(p, false);
      if (r === 'miss') {
        p.urgent = isLocal(flow.initiatorAddr);
        return enqueue(p);
      }
      counted(p, r, 'hits');
      assign(flow, r);
    },

    processOf: (flow) => flowInfo.get(flow) ?? null,
    peerOf: (flow) => peerInfo.get(flow) ?? null,
    processes: () => infos.values(),
    stats: () => ({ ...stats, pending: pending.length }),

    close() {
      closed = true;
      cancelTimer();
      // Flows still waiting for a rescan were never named: the stop's summary counts them unattributed.
      for (const p of pending) if (p.flow) stats.unattributed++;
      pending = [];
      hasher.close();
    },
  };
}
