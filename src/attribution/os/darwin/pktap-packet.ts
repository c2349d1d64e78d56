/**
 * Attribution from macOS pktap captures: each packet names its socket's process (a Process
 * Information Block index, src/capture/pcapng-darwin.ts), so no socket table is needed. Used for
 * every import of such a file, on any OS, and by a live capture on macOS that sees pktap tags.
 *
 * Which end a tag names: the process of the socket the packet left or reached. With one local end
 * that is the local process both ways (`process`). With both ends local (lo0) each packet is
 * captured twice: going out, tagged with its sender, and coming in, tagged with its receiver
 * (the duplicate filter counts the pair once, src/pipeline/duplicate-filter.ts); the initiator's
 * tag fills `process`, the responder's `peerProcess`, as for Linux loopback flows.
 * The first tag of each end wins; later packets change nothing.
 */
import type { Packet, PktapProcess } from '../../../capture/packet.js';
import { DIR_OUT, type Flow, type FlowProcess } from '../../../flows/flow.js';
import { bothEndsLocal } from '../../../flows/local-path.js';

const EPB_IN = 1;

/** Fills flow.process / peerProcess / effectiveProcess from the packet's pktap tags, if it has any. */
export function attributeFromPktap(flow: Flow, dir: number, p: Packet): void {
  const table = p.pktapProcesses;
  if (p.pktapProcess < 0 || table === null) return;
  const tagged = table[p.pktapProcess];
  if (bothEndsLocal(flow) && !namesInitiator(dir, p.direction)) {
    if (flow.peerProcess === null) flow.peerProcess = flowProcess(tagged);
    return;
  }
  if (flow.process === null) flow.process = flowProcess(tagged);
  if (flow.effectiveProcess === null && p.pktapEffective >= 0) {
    const effective = table[p.pktapEffective];
    if (effective.pid !== tagged.pid) flow.effectiveProcess = { pid: effective.pid, name: effective.name };
  }
}

/**
 * True when a tag on a packet going `dir` in its flow names the initiator: a copy going out is
 * tagged with its sender, a copy coming in with its receiver (no direction said: taken as sent).
 */
function namesInitiator(dir: number, epbDirection: number): boolean {
  const taggedWithSender = epbDirection !== EPB_IN;
  return (dir === DIR_OUT) === taggedWithSender;
}

function flowProcess(p: PktapProcess): FlowProcess {
  return { pid: p.pid, name: p.name, exe: p.path, exeUuid: p.uuid, source: 'pktap' };
}
