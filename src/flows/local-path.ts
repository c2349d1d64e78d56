/**
 * Flows whose two ends are both on this host, and which of a flow's two processes sent a packet.
 * ptcpdump (and our evidence comments, which follow it) name the local socket's process: with one
 * local end that is the same process both ways; with both ends local it is each packet's sender.
 */
import { isLoopback } from '../decode/addr.js';
import { DIR_OUT, type Flow } from './flow.js';

/** The packets alone show both ends are this host's: loopback, or the same address at both ends. */
export function bothEndsLocal(flow: Flow): boolean {
  return isLoopback(flow.responderAddr) || Buffer.compare(flow.initiatorAddr, flow.responderAddr) === 0;
}

/**
 * The process that sent a packet going `dir`: with both ends local the initiator's (flow.process)
 * or the responder's (flow.peerProcess, null when not known); else the one local process.
 */
export function senderProcess(flow: Flow, dir: number): Flow['process'] {
  if (flow.peerProcess === null && !bothEndsLocal(flow)) return flow.process;
  return dir === DIR_OUT ? flow.process : flow.peerProcess;
}
