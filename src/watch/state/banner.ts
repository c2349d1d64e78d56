/**
 * The header's silence banner: has the Ollama tree sent anything off this host lately?
 * `SILENT for 2h 14m` since its last off-host packet (or since the watch began when it never
 * sent any), else `TRAFFIC: 3 flows to registry.ollama.ai, 40 MB in the last minute` (the far end with the most
 * bytes named).
 */
import { bytesLastMinute, type FlowState } from './flow-state.js';

/** An off-host flow of the Ollama tree seen within this long counts as traffic now. */
export const TRAFFIC_WINDOW_S = 60;

export type Banner =
  | { kind: 'silent'; forS: number; ever: boolean }
  | { kind: 'traffic'; flows: number; topHost: string; bytes: number };

/**
 * `dataNowUs`: the time the data is at (a live capture: now; a finished session: its end), so a
 * finished import's banner describes its own last minute. `nowMs`: the wall clock rates use.
 */
export function silenceBanner(state: FlowState, dataNowUs: number, sinceUs: number, nowMs: number, live: boolean): Banner {
  const lastUs = state.offHost.lastUs;
  let flows = 0;
  const perHost = new Map<string, number>();
  let windowBytes = 0;
  for (const id of state.offHost.recent) {
    const f = state.flows.get(id);
    // Past the window (the data's time only moves on) or no longer an off-host Ollama flow: not kept.
    if (!f || !f.ollama || !f.offHost || f.lastSeenUs < dataNowUs - TRAFFIC_WINDOW_S * 1e6) {
      state.offHost.recent.delete(id);
      continue;
    }
    flows++;
    windowBytes += f.bytesIn + f.bytesOut;
    perHost.set(f.remote, (perHost.get(f.remote) ?? 0) + f.bytesIn + f.bytesOut);
  }
  if (flows === 0) {
    const from = lastUs > 0 ? lastUs : sinceUs;
    return { kind: 'silent', forS: Math.max(0, (dataNowUs - from) / 1e6), ever: lastUs > 0 };
  }
  const topHost = [...perHost].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
  // Live: the bytes that arrived in the last minute; a finished session: the window's flows' bytes.
  return { kind: 'traffic', flows, topHost, bytes: live ? bytesLastMinute(state, nowMs) : windowBytes };
}
