/**
 * Which process asked and which answered on an API flow the exposure audit read from the store
 * (its rows come from src/store/read/exposure-rows.ts, re-exported here).
 */
import type { FlowRow } from '../store/read/exposure-rows.js';

export { flowKey, iterateApiFlows, iterateOtherFlows, loadHttp, type FlowRow, type HttpRow, type StoreScope } from '../store/read/exposure-rows.js';
import { clientClass } from './scope.js';

export interface RowProcess {
  pid: number;
  name: string;
  exe: string | null;
}

/**
 * The program that opened the flow, when it ran on this host and is known: the flow's process
 * when both ends are local (a peer is known) or the client is on loopback. Otherwise null: for
 * a remote client the flow's process is the local server.
 */
export function clientProcess(f: FlowRow): RowProcess | null {
  if (f.pid === null) return null;
  const local = f.peer_pid !== null || clientClass(f.initiator_addr) === 'loopback';
  return local ? { pid: f.pid, name: f.comm ?? '', exe: f.exe } : null;
}

/** The program that answered the flow on this host, when known: the peer, or the process of a remote client's flow. */
export function serverProcess(f: FlowRow): RowProcess | null {
  if (f.peer_pid !== null) return { pid: f.peer_pid, name: f.peer_comm ?? '', exe: f.peer_exe };
  if (f.pid === null || clientClass(f.initiator_addr) === 'loopback') return null;
  return { pid: f.pid, name: f.comm ?? '', exe: f.exe };
}
