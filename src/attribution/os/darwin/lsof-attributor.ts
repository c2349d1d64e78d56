/**
 * macOS attribution without pktap (not root, or no Apple tcpdump): the capture is libpcap's
 * (`cap`), whose packets name no process, so each new flow's sockets are looked up with
 *
 *   lsof +c 0 -nP -iTCP -iUDP -F pcuPTn
 *
 * (every Internet socket: pid, command, user, protocol, `local->remote`, TCP state; `+c 0`: the
 * whole command name the kernel keeps, macOS's p_comm of at most 16 bytes, Linux's 15-byte comm.)
 * Debounced: one lsof run answers every flow that began since the last run began, and runs start
 * at least intervalMs apart; a run is a child process (async, killed after timeoutMs), never
 * blocking the capture. The queue is bounded (maxPending: more flows are counted unattributed).
 *
 * Lower confidence than pktap, and said so in the session (coverage): a connection that closed
 * before its run (a few ms to ~intervalMs after its first packet) has no socket left to find and
 * stays unattributed; without root lsof sees only this user's processes. Both ends of a flow in
 * one pass, as procfs: `process` is the initiator's socket owner when the initiator is local,
 * else the responder's; `peerProcess` the responder's when both ends are local.
 */
import { execFile, type ChildProcess, type ExecFileException } from 'node:child_process';
import type { AttributionStats, Attributor, ProcessInfo } from '../../attributor.js';
import type { Flow } from '../../../flows/flow.js';
import { isLoopback } from '../../../decode/addr.js';
import { parseAddr } from '../../../decode/addr-parse.js';
import { pktapProcessRole } from '../../../knowledge/processes.js';
import { widenAddr } from '../../procfs-net.js';
import { interfaceAddrs } from '../../local-addrs.js';
import { nameMatches } from '../../procfs-process.js';
import { parseLsofFields, type LsofSocket } from './lsof-fields.js';

/** The arguments of every run (lsof(8): `+c 0` whole command names, `-n`/`-P` numbers, `-F` fields). */
export const LSOF_ARGS = ['+c', '0', '-nP', '-iTCP', '-iUDP', '-F', 'pcuPTn'];

export interface LsofAttributorOptions {
  /** The program (default 'lsof', found on PATH; macOS has /usr/sbin/lsof). */
  lsof?: string;
  /** At least this many ms between the starts of two runs (default 75). */
  intervalMs?: number;
  /** A run still going after this many ms is killed; its flows stay unattributed (default 5000). */
  timeoutMs?: number;
  /** Flows waiting for a run at most (default 10,000); more are counted unattributed at once. */
  maxPending?: number;
  /** --process NAME / --pid N: these join the Ollama tree. */
  extraNames?: string[];
  extraPids?: number[];
  /** The auditor's own pid (default process.pid), marked `self`. */
  selfPid?: number;
  /** Why pktap was not used (not root, no tcpdump): recorded in the session as why_not. */
  why?: string | null;
  /** One sentence for the user (lsof missing, a run that failed or timed out): each kind once. */
  onWarning?(text: string): void;
}

/** What the session records of lsof lookups (sessions.attribution.lsof). */
export interface LsofLookupRecord {
  runs: number;
  /** Flows a run looked for and found no socket of (gone before the run, or another user's without root). */
  not_found: number;
  /** Flows never looked up: lsof could not run or timed out, or the queue was full. */
  not_looked_up: number;
  /** Why lsof could not run at all (not installed); null when it ran. */
  unavailable: string | null;
}

interface Waiting {
  flow: Flow;
  onResolved?: (flow: Flow, p: ProcessInfo | null) => void;
}

/** One run's sockets, keyed by their widened (16-byte) address hex. */
interface SocketTable {
  connected: Map<string, LsofSocket>;
  bound: Map<string, LsofSocket>;
  ours: ReadonlySet<string>;
}

const PROTO: Record<string, number> = { TCP: 6, UDP: 17 };
const MAX_OUTPUT = 64 * 1024 * 1024;

export function createLsofAttributor(opts: LsofAttributorOptions = {}): Attributor {
  const lsof = opts.lsof ?? 'lsof';
  const intervalMs = opts.intervalMs ?? 75;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxPending = opts.maxPending ?? 10_000;
  const selfPid = opts.selfPid ?? process.pid;
  const records = new Map<string, ProcessInfo>();
  const flowInfo = new WeakMap<Flow, ProcessInfo>();
  const peerInfo = new WeakMap<Flow, ProcessInfo>();
  const warned = new Set<string>();
  const rec: LsofLookupRecord = { runs: 0, not_found: 0, not_looked_up: 0, unavailable: null };
  const stats: AttributionStats = {
    lookups: 0, hits: 0, misses: 0, resolvedLater: 0, unattributed: 0, rescans: 0, scanMsTotal: 0,
    fullScanMs: 0, pidsScanned: 0, unreadablePids: 0, unownedSockets: 0, pending: 0,
  };
  let pending: Waiting[] = [];
  /** Flows the run going on looks for. */
  let inFlight = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: ChildProcess | null = null;
  let lastStart = -Infinity;
  let closed = false;

  function warnOnce(kind: string, text: string): void {
    if (warned.has(kind)) return;
    warned.add(kind);
    opts.onWarning?.(text);
  }

  function notLookedUp(n: number): void {
    stats.unattributed += n;
    rec.not_looked_up += n;
  }

  function schedule(): void {
    if (closed || timer !== null || running !== null || pending.length === 0) return;
    timer = setTimeout(run, Math.max(0, lastStart + intervalMs - performance.now()));
  }

  function run(): void {
    timer = null;
    const batch = pending;
    pending = [];
    inFlight = batch.length;
    lastStart = performance.now();
    rec.runs++;
    stats.rescans++;
    running = execFile(lsof, LSOF_ARGS, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: MAX_OUTPUT, killSignal: 'SIGKILL' }, (err, stdout) => {
      running = null;
      inFlight = 0;
      stats.scanMsTotal += performance.now() - lastStart;
      if (closed) return;
      const failure = err === null ? null : runFailure(err);
      if (failure !== null) {
        notLookedUp(batch.length);
        if (failure.permanent) {
          rec.unavailable = failure.text;
          notLookedUp(pending.length);
          pending = [];
        }
        warnOnce(failure.kind, failure.permanent ? `${failure.text}: flows stay unattributed (the session records it)` : `${failure.text}: ${batch.length} flows stay unattributed`);
      } else settle(batch, socketTable(parseLsofFields(stdout)));
      schedule();
    });
  }

  function settle(batch: Waiting[], table: SocketTable): void {
    for (const w of batch) {
      const owners = flowOwners(w.flow, table);
      if (owners.process === null) {
        stats.unattributed++;
        rec.not_found++;
      } else stats.resolvedLater++;
      if (owners.process === null && owners.peer === null) continue;
      w.flow.process = owners.process && brief(owners.process);
      w.flow.peerProcess = owners.peer && brief(owners.peer);
      if (owners.process) flowInfo.set(w.flow, owners.process);
      if (owners.peer) peerInfo.set(w.flow, owners.peer);
      w.onResolved?.(w.flow, owners.process);
    }
  }

  function flowOwners(flow: Flow, table: SocketTable): { process: ProcessInfo | null; peer: ProcessInfo | null } {
    const proto = flow.proto;
    const ini = widenAddr(flow.initiatorAddr).toString('hex');
    const res = widenAddr(flow.responderAddr).toString('hex');
    const iniLocal = isLoopback(flow.initiatorAddr) || table.ours.has(ini);
    const resLocal = isLoopback(flow.responderAddr) || table.ours.has(res);
    // A TCP initiator is a connecting socket, never a listener; a UDP one may be unconnected.
    const iniSocket = table.connected.get(key(proto, ini, flow.initiatorPort, res, flow.responderPort))
      ?? (proto === 17 ? boundSocket(table, proto, ini, flow.initiatorPort, iniLocal) : undefined);
    const resSocket = table.connected.get(key(proto, res, flow.responderPort, ini, flow.initiatorPort))
      ?? boundSocket(table, proto, res, flow.responderPort, resLocal);
    const iniOwner = iniSocket === undefined ? null : recordOf(iniSocket);
    const resOwner = resSocket === undefined ? null : recordOf(resSocket);
    return iniOwner !== null || iniLocal ? { process: iniOwner, peer: resOwner } : { process: resOwner, peer: null };
  }

  function recordOf(s: LsofSocket): ProcessInfo {
    const id = `${s.pid}\0${s.command}`;
    let info = records.get(id);
    if (info === undefined) {
      const role = pktapProcessRole(s.command, null);
      // lsof names pid, command and user: start time, parent, executable and command line are unknown.
      info = {
        pid: s.pid, startTime: 0, ppid: 0, comm: s.command, exe: null, cmdline: [], uid: s.uid ?? -1, exeSha256: null, role,
        ollamaTree: role !== null || nameMatches(opts.extraNames ?? [], s.command, null, null) || (opts.extraPids ?? []).includes(s.pid),
        self: s.pid === selfPid, source: 'lsof',
      };
      records.set(id, info);
    }
    return info;
  }

  return {
    lookup: () => null,
    attributeFlow(flow, onResolved) {
      stats.lookups++;
      if ((flow.proto !== 6 && flow.proto !== 17) || rec.unavailable !== null || pending.length >= maxPending) {
        notLookedUp(1); // no socket to look for (ICMP), no lsof, or a full queue
        return;
      }
      stats.misses++;
      pending.push({ flow, onResolved });
      schedule();
    },
    processOf: (f) => flowInfo.get(f) ?? null,
    peerOf: (f) => peerInfo.get(f) ?? null,
    processes: () => records.values(),
    stats: () => ({ ...stats, pending: pending.length + inFlight }),
    sessionRecord: () => ({ method: 'lsof', why_not: opts.why ?? null, lsof: { ...rec } }),
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      running?.kill('SIGKILL');
      // Flows waiting for a run, or in the one killed, were never named: counted unattributed.
      notLookedUp(pending.length + inFlight);
      pending = [];
    },
  };
}

function key(proto: number, localHex: string, localPort: number, remoteHex: string, remotePort: number): string {
  return `${proto}|${localHex}|${localPort}|${remoteHex}|${remotePort}`;
}

/** A listener or unconnected socket on addr:port; a wildcard one only for an address of this host. */
function boundSocket(table: SocketTable, proto: number, hex: string, port: number, local: boolean): LsofSocket | undefined {
  return table.bound.get(`${proto}|${hex}|${port}`) ?? (local ? table.bound.get(`${proto}|*|${port}`) : undefined);
}

/** An lsof address as the widened hex flows are keyed by; '*' stays '*'; null when it is not an address. */
function addrHex(address: string): string | null {
  if (address === '*') return '*';
  const bytes = parseAddr(address);
  return bytes === null ? null : widenAddr(bytes).toString('hex');
}

function socketTable(sockets: LsofSocket[]): SocketTable {
  const connected = new Map<string, LsofSocket>();
  const bound = new Map<string, LsofSocket>();
  for (const s of sockets) {
    const proto = PROTO[s.protocol ?? ''];
    if (proto === undefined || s.local === null || s.local.port === null) continue;
    const local = addrHex(s.local.address);
    if (local === null) continue;
    const remote = s.remote === null || s.remote.port === null ? null : addrHex(s.remote.address);
    // The first socket of a tuple wins: a socket shared across fork is listed under each holder.
    if (remote !== null && remote !== '*') {
      const k = key(proto, local, s.local.port, remote, s.remote!.port!);
      if (!connected.has(k)) connected.set(k, s);
    } else if (!bound.has(`${proto}|${local}|${s.local.port}`)) bound.set(`${proto}|${local}|${s.local.port}`, s);
  }
  return { connected, bound, ours: new Set(interfaceAddrs()) };
}

function brief(info: ProcessInfo): NonNullable<Flow['process']> {
  return { pid: info.pid, name: info.comm, exe: info.exe };
}

/** Why a run gave no usable answer, or null: lsof exits 1 when an -i item matched nothing, its output still good. */
function runFailure(err: ExecFileException): { kind: string; text: string; permanent: boolean } | null {
  if (err.code === 'ENOENT') return { kind: 'missing', text: 'lsof not found on PATH (macOS has it at /usr/sbin/lsof)', permanent: true };
  if (err.code === 'EACCES') return { kind: 'missing', text: `cannot run lsof: ${err.message}`, permanent: true };
  if (err.killed) return { kind: 'timeout', text: 'an lsof run did not finish in time and was stopped', permanent: false };
  if (err.code === 1) return null;
  return { kind: 'failed', text: `lsof failed: ${err.message.split('\n')[0]}`, permanent: false };
}
