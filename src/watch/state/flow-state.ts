/**
 * The dashboard's merged flow state: one compact row per flow (not the whole FlowRecord: a store
 * may hold 50,000 flows), updated in place as changed rows arrive from the store or the engine.
 * Rates come from byte differences between two sightings of the same flow; a flow not seen to
 * grow for RATE_WINDOW_MS has rate 0 (it is idle, not "unknown").
 */
import type { FlowRecord } from '../../store/read/flows.js';
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
  /** Largest last_seen seen (µs): the watermark of the next read. */
  watermarkUs: number | null;
  /** Counts merges that changed something: a sorted view of an unchanged version can be reused. */
  version: number;
}

export function emptyFlowState(): FlowState {
  return { flows: new Map(), recentBytes: new Map(), watermarkUs: null, version: 0 };
}

function usOf(iso: string | null): number {
  return iso === null ? 0 : Date.parse(iso) * 1000 + Number(/\.\d{3}(\d{3})/.exec(iso)?.[1] ?? 0);
}

/** The compact row of one stored flow (strings from outside made visible here, once). */
export function watchFlowOf(r: FlowRecord): Omit<WatchFlow, 'rateIn' | 'rateOut' | 'grewAtMs'> {
  const address = endpoint(r.responder_addr, r.responder_port, r.proto);
  return {
    id: r.id,
    pid: r.process?.pid ?? null,
    proc: r.process ? visible(r.process.name) : null,
    remote: r.hostname ? visible(r.hostname) : address,
    address,
    remotePort: r.responder_port,
    nameSource: r.hostname ? r.hostname_source : null,
    activity: visible(r.activity),
    ollama: r.ollama,
    offHost: !isLoopbackText(r.initiator_addr) && !isLoopbackText(r.responder_addr),
    bytesIn: r.bytes_in,
    bytesOut: r.bytes_out,
    firstSeenUs: usOf(r.first_seen),
    lastSeenUs: usOf(r.last_seen),
    closed: r.conn_state !== null && CLOSED_STATES.has(r.conn_state),
  };
}

/**
 * Merges changed rows seen at wall-clock `nowMs` into the state. A flow seen before gets rates
 * from its byte growth since that sighting; a new flow has none yet (one sighting is no rate).
 */
export function mergeFlows(state: FlowState, rows: Iterable<FlowRecord>, nowMs: number): number {
  let n = 0;
  for (const r of rows) {
    const next = watchFlowOf(r);
    const prev = state.flows.get(next.id);
    const dIn = prev ? Math.max(0, next.bytesIn - prev.bytesIn) : 0;
    const dOut = prev ? Math.max(0, next.bytesOut - prev.bytesOut) : 0;
    const dtS = prev ? Math.max(0.001, (nowMs - prev.grewAtMs) / 1000) : 1;
    const grew = !prev || dIn + dOut > 0;
    state.flows.set(next.id, {
      ...next,
      rateIn: prev ? dIn / dtS : 0,
      rateOut: prev ? dOut / dtS : 0,
      grewAtMs: grew ? nowMs : prev.grewAtMs,
    });
    if (next.ollama && next.offHost) addRecent(state, nowMs, prev ? dIn + dOut : next.bytesIn + next.bytesOut);
    if (state.watermarkUs === null || next.lastSeenUs > state.watermarkUs) state.watermarkUs = next.lastSeenUs;
    n++;
  }
  if (n > 0) state.version++;
  return n;
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
