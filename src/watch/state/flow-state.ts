/**
 * The dashboard's merged flow state: one compact row per flow (not the whole FlowRecord: a store
 * may hold 50,000 flows), updated in place as changed rows arrive from the store or the engine.
 * Rates come from byte differences between two sightings of the same flow; a flow not seen to
 * grow for RATE_WINDOW_MS has rate 0 (it is idle, not "unknown").
 */
import type { WatchRow } from '../../store/read/changes.js';
import { isLoopbackText } from '../../claims/session-facts.js';
import { endpoint } from '../../text/format-values.js';
import { visible } from '../../text/visible.js';

export interface WatchFlow {
  id: number;
  pid: number | null;
  /** Process name, control characters made visible (it came from another process). */
  proc: string | null;
  /** Name of the far end (made visible), or its address:port when it has none. */
  remote: string;
  /** The responder's address:port, whatever its name (`n` shows it instead of the name). */
  address: string;
  remotePort: number;
  /** Where the name came from: sni, dns, http, connect; null: no name. */
  nameSource: string | null;
  activity: string;
  ollama: boolean;
  /** Neither end is a loopback address: the traffic left (or reached) the host. */
  offHost: boolean;
  bytesIn: number;
  bytesOut: number;
  /** Bytes/s over the last sighting that grew the flow, 0 when idle. */
  rateIn: number;
  rateOut: number;
  firstSeenUs: number;
  lastSeenUs: number;
  /** The connection is over (TCP closed or reset): `h` shows these. */
  closed: boolean;
  /** Wall-clock ms of the last sighting that changed its bytes. */
  grewAtMs: number;
}

/** A flow's rates count as current this long after it last grew. */
export const RATE_WINDOW_MS = 2000;

/** Zeek conn_states after which the connection is over (README "Connection state"). */
const CLOSED_STATES = new Set(['SF', 'REJ', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'S2', 'S3', 'OTH']);

export interface FlowState {
  flows: Map<number, WatchFlow>;
  /** Off-host bytes of Ollama flows per whole second (wall-clock s → bytes): the banner's last minute. */
  recentBytes: Map<number, number>;
  /** Largest last_seen seen (µs): the watermark of the next read when the rows carry no write_seq. */
  watermarkUs: number | null;
  /**
   * Largest write_seq of any row read (a live session's write that last wrote it, schema 14): the
   * next read asks for exactly the rows written after it. null: no row had one (an import's
   * session, a store written before schema 14), and the reader reads by watermarkUs.
   */
  writeSeq: number | null;
  /** Counts merges that changed something: a sorted view of an unchanged version can be reused. */
  version: number;
  /**
   * Flows changed since the sorted view last took them (flow-view.ts resorts only these), or null
   * when too many changed to be worth it (or nobody took them for long): the next sort is a full one.
   */
  changed: Set<number> | null;
  /** One copy of each repeated string (50,000 flows to one CDN name hold that name once). */
  strings: Map<string, string>;
  /**
   * The banner's flows: off-host flows of the Ollama tree merged lately (banner.ts drops those
   * past its window, so a frame does not walk every flow), and the latest last_seen of any of them.
   */
  offHost: { recent: Set<number>; lastUs: number };
  /** Flows without a process and their bytes (the coverage strip), kept as rows merge. */
  unattributed: { flows: number; bytes: number };
}

export function emptyFlowState(): FlowState {
  return { flows: new Map(), recentBytes: new Map(), watermarkUs: null, writeSeq: null, version: 0, changed: new Set(), strings: new Map(),
    offHost: { recent: new Set(), lastUs: 0 }, unattributed: { flows: 0, bytes: 0 } };
}

/** Beyond this many distinct strings the table starts again (a scan's many names must not pin memory). */
const MAX_INTERNED = 100_000;

function intern(state: FlowState, s: string): string {
  const kept = state.strings.get(s);
  if (kept !== undefined) return kept;
  if (state.strings.size >= MAX_INTERNED) state.strings.clear();
  state.strings.set(s, s);
  return s;
}

/**
 * The compact row of one stored flow (strings from outside made visible here, once, and interned),
 * every field written in one literal: one fixed object shape (a spread copy of 18 fields made V8 keep
 * each row as a dictionary, ~800 bytes a flow instead of ~250).
 */
function watchFlowOf(state: FlowState, r: WatchRow, nowMs: number): WatchFlow {
  const address = intern(state, endpoint(r.responder_addr, r.responder_port, r.proto));
  return {
    id: r.id,
    pid: r.process?.pid ?? null,
    proc: r.process ? intern(state, visible(r.process.name)) : null,
    remote: r.hostname ? intern(state, visible(r.hostname)) : address,
    address,
    remotePort: r.responder_port,
    nameSource: r.hostname && r.hostname_source ? intern(state, r.hostname_source) : null,
    activity: intern(state, visible(r.activity)),
    ollama: r.ollama,
    offHost: !isLoopbackText(r.initiator_addr) && !isLoopbackText(r.responder_addr),
    bytesIn: r.bytes_in,
    bytesOut: r.bytes_out,
    firstSeenUs: r.first_seen_us,
    lastSeenUs: r.last_seen_us,
    closed: r.conn_state !== null && CLOSED_STATES.has(r.conn_state),
    rateIn: 0,
    rateOut: 0,
    grewAtMs: nowMs,
  };
}

/**
 * Merges changed rows seen at wall-clock `nowMs` into the state. A flow seen before gets rates
 * from its byte growth since that sighting; a new flow has none yet (one sighting is no rate).
 */
export function mergeFlows(state: FlowState, rows: Iterable<WatchRow>, nowMs: number): number {
  let n = 0;
  for (const r of rows) {
    if (r.write_seq !== null && (state.writeSeq === null || r.write_seq > state.writeSeq)) state.writeSeq = r.write_seq;
    const prev = state.flows.get(r.id);
    // A row read again (the watermark's overlap) that has not changed: nothing to merge or re-sort,
    // and nothing made (most rows of a change read are these).
    if (prev && sameStoredRow(prev, r)) continue;
    const next = watchFlowOf(state, r, nowMs);
    if (prev && sameRow(prev, next)) continue;
    const dIn = prev ? Math.max(0, next.bytesIn - prev.bytesIn) : 0;
    const dOut = prev ? Math.max(0, next.bytesOut - prev.bytesOut) : 0;
    const dtS = prev ? Math.max(0.001, (nowMs - prev.grewAtMs) / 1000) : 1;
    const grew = !prev || dIn + dOut > 0;
    next.rateIn = prev ? dIn / dtS : 0;
    next.rateOut = prev ? dOut / dtS : 0;
    next.grewAtMs = grew ? nowMs : prev.grewAtMs;
    state.flows.set(next.id, next);
    if (next.ollama && next.offHost) {
      addRecent(state, nowMs, prev ? dIn + dOut : next.bytesIn + next.bytesOut);
      state.offHost.recent.add(next.id);
      state.offHost.lastUs = Math.max(state.offHost.lastUs, next.lastSeenUs);
    }
    countUnattributed(state, prev, -1);
    countUnattributed(state, next, 1);
    if (state.watermarkUs === null || next.lastSeenUs > state.watermarkUs) state.watermarkUs = next.lastSeenUs;
    noteChanged(state, next.id);
    n++;
  }
  if (n > 0) state.version++;
  return n;
}

function countUnattributed(state: FlowState, f: Pick<WatchFlow, 'pid' | 'bytesIn' | 'bytesOut'> | undefined, sign: 1 | -1): void {
  if (!f || f.pid !== null) return;
  state.unattributed.flows += sign;
  state.unattributed.bytes += sign * (f.bytesIn + f.bytesOut);
}

/**
 * The stored row is the one `f` was made from, compared on the raw columns before anything is made
 * of them (a text that had to be made visible compares unequal here and is compared by sameRow).
 */
function sameStoredRow(f: WatchFlow, r: WatchRow): boolean {
  return f.bytesIn === r.bytes_in && f.bytesOut === r.bytes_out && f.ollama === r.ollama && f.pid === (r.process?.pid ?? null)
    && f.closed === (r.conn_state !== null && CLOSED_STATES.has(r.conn_state)) && f.activity === r.activity
    && f.remote === (r.hostname || f.address) && f.proc === (r.process ? r.process.name : null)
    && f.nameSource === (r.hostname && r.hostname_source ? r.hostname_source : null)
    && f.lastSeenUs === r.last_seen_us && f.firstSeenUs === r.first_seen_us;
}

function sameRow(a: WatchFlow, b: WatchFlow): boolean {
  return a.bytesIn === b.bytesIn && a.bytesOut === b.bytesOut && a.lastSeenUs === b.lastSeenUs && a.closed === b.closed
    && a.activity === b.activity && a.remote === b.remote && a.proc === b.proc && a.pid === b.pid && a.ollama === b.ollama
    && a.nameSource === b.nameSource && a.firstSeenUs === b.firstSeenUs;
}

/** Past this share of all flows changed, re-sorting everything is as cheap as re-placing them. */
const CHANGED_SHARE = 0.25;

function noteChanged(state: FlowState, id: number): void {
  if (state.changed === null) return;
  state.changed.add(id);
  if (state.changed.size > 1000 && state.changed.size > state.flows.size * CHANGED_SHARE) state.changed = null;
}

function addRecent(state: FlowState, nowMs: number, bytes: number): void {
  if (bytes === 0) return;
  const s = Math.floor(nowMs / 1000);
  state.recentBytes.set(s, (state.recentBytes.get(s) ?? 0) + bytes);
  for (const k of state.recentBytes.keys()) if (k <= s - 60) state.recentBytes.delete(k);
}

/** Current rates at `nowMs`: a flow that has not grown within RATE_WINDOW_MS is idle. */
export function rateOf(f: WatchFlow, nowMs: number): { in: number; out: number } {
  return nowMs - f.grewAtMs > RATE_WINDOW_MS ? { in: 0, out: 0 } : { in: f.rateIn, out: f.rateOut };
}

/** Off-host Ollama bytes merged during the minute before `nowMs`. */
export function bytesLastMinute(state: FlowState, nowMs: number): number {
  const s = Math.floor(nowMs / 1000);
  let total = 0;
  for (const [k, b] of state.recentBytes) if (k > s - 60) total += b;
  return total;
}
