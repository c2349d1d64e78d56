import type { Packet } from '../capture/packet.js';
import { IPPROTO, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Decoded } from '../decode/decoded.js';
import {
  controlKey, KEY_ACK, KEY_FIN, KEY_RST, KEY_SYN, trackOtherConn, trackOtherConnAt, trackTcpConn,
} from './conn-state.js';
import { bareSynSeq, trackBareSyn } from './tcp-loss.js';
import {
  CONN_WORDS, DIR_IN, DIR_OUT, LOSS_WORDS, newFlowWords, TCP_STATE_ESTABLISHED, TCP_STATE_FIN_IN, TCP_STATE_FIN_OUT, TCP_STATE_RST_IN,
  TCP_STATE_RST_OUT, TCP_STATE_SYN, TCP_STATE_SYNACK, type Flow, type FlowWords,
} from './flow.js';
import { hashTuple, loadAddrs, pktAddr } from './flow-key.js';
import { icmpCounterpart, isIcmpRequest } from './icmp-counterpart.js';
import { isServicePort } from './service-ports.js';
import { withGetters } from '../fast-object.js';
import { DEFAULTS } from '../settings.js';

/**
 * Idle timeouts, in µs, after Zeek's defaults: tcp_inactivity_timeout 5 min,
 * udp_inactivity_timeout 1 min, icmp_inactivity_timeout 1 min. A TCP flow that has seen FIN
 * both ways or a RST is done: it goes after CLOSED_TIMEOUT_US (Zeek's tcp_close_delay and
 * tcp_reset_delay are 5 s), and a new SYN on its 5-tuple starts a new flow at once.
 */
export const DEFAULT_IDLE_TIMEOUT_US = Object.freeze({ tcp: 300e6, udp: 60e6, other: 60e6 });
export const DEFAULT_CLOSED_TIMEOUT_US = 5e6;
/**
 * A half-open flow (packets one way only, at most HALF_OPEN_MAX_PACKETS of them: Zeek's S0, SH or
 * OTH with no answer, a SYN flood's flows) goes after 30 s idle, as Linux conntrack drops an
 * unanswered SYN_SENT entry (nf_conntrack_tcp_timeout_syn_sent is 120 s, syn_recv 60 s; a flood
 * needs less).
 */
export const DEFAULT_HALF_OPEN_TIMEOUT_US = 30e6;
export const HALF_OPEN_MAX_PACKETS = 4;

/**
 * Flows the table closed before their time, by kind. Evictions (the table was full) can split a
 * flow: its later packets start a new flow without its handshake or naming, so claims over such a
 * session cannot hold (src/claims/coverage.ts). A half-open timeout splits nothing a flow had
 * told: it is counted for the record only.
 */
export interface EarlyExpiries {
  /** Evicted when full: half-open flows (oldest first). */
  evictedHalfOpen: number;
  /** Evicted when full: finished TCP flows (FIN both ways or RST) still in their close delay. */
  evictedFinished: number;
  /** Evicted when full with no half-open or finished flow left: the least recently active flow. */
  evictedActive: number;
  /** Half-open flows closed after the half-open timeout instead of their protocol's idle timeout. */
  halfOpenTimeout: number;
  /**
   * Rejected connection attempts (REJ: SYN answered by RST only) closed after the shorter close
   * delay of a table under pressure (FlowTableOptions.rejected) instead of the 5 s one. Splits
   * nothing a flow had told (it had no data, and a new SYN starts a new flow anyway): a packet of
   * it still in flight after that (a duplicate RST) would start a flow of its own. For the record.
   */
  rejectedClosedEarly: number;
}

/**
 * The store's and JSON's form of early expiries (sessions.expired_early): snake_case kinds, only
 * those that happened. `unwrittenAtStop`: open flows the daemon's stop deadline left unwritten.
 */
export function expiredEarlyRecord(e: EarlyExpiries, unwrittenAtStop = 0): Record<string, number> {
  const all: [string, number][] = [
    ['evicted_half_open', e.evictedHalfOpen], ['evicted_finished', e.evictedFinished], ['evicted_active', e.evictedActive],
    ['half_open_timeout', e.halfOpenTimeout], ['rejected_closed_early', e.rejectedClosedEarly],
    ['unwritten_at_stop', unwrittenAtStop],
  ];
  return Object.fromEntries(all.filter(([, n]) => n > 0));
}

export interface FlowTableOptions {
  idleTimeoutUs?: { tcp: number; udp: number; other: number };
  /** Idle time after which a finished TCP flow (FIN both ways, or RST) is closed. */
  closedTimeoutUs?: number;
  /** Flows the table has room for before it first grows (it doubles as needed). */
  initialCapacity?: number;
  /** Open flows at most; a new flow beyond it evicts one (see EarlyExpiries). Default DEFAULTS.maxFlows (src/settings.ts). */
  maxFlows?: number;
  /** Idle time after which a half-open flow is closed; default DEFAULT_HALF_OPEN_TIMEOUT_US. */
  halfOpenTimeoutUs?: number;
  /**
   * A shorter close delay for rejected connection attempts (REJ: SYN answered by RST only) while
   * more than `pressureAtFlows` flows are open, as conntrack shortens its timeouts under load. The
   * close delay absorbs a finished connection's late packets; a REJ flow has none to expect but a
   * duplicate RST within a round trip (a new SYN starts a new flow at once), while under a SYN flood
   * to a closed port the kernel's RSTs made ~100,000 such flows (20,000 a second × 5 s), each a
   * Flow object of ~1 KB. Default: none (every finished flow keeps closedTimeoutUs).
   */
  rejected?: { closeDelayUs: number; pressureAtFlows: number };
  /**
   * Called once per Flow object, right after it is made, before the packet that made it is
   * counted: at the flow's first packet (ingest(), or count() for a packet it does not hold), or,
   * for a flow count() held without a Flow (`held`), when it gets one (its first other packet,
   * its close, flows()): its dnsName already set from nameAtOpen. `synSeq`: a held TCP
   * flow's bare SYNs' sequence number (all alike), else -1.
   */
  onOpen?: (f: Flow, held: boolean, synSeq: number) => void;
  /**
   * For count(): true when the caller reads the payload of this (non-TCP) packet's flow, e.g. the
   * enricher's DNS ports: such a flow gets its Flow at its first packet. Without this option
   * count() holds only flows of bare SYNs; with it also a non-TCP flow, not fragmented, seen one
   * way only from the initiator its first packet names (pickInitiator): a UDP flood's flows.
   */
  readsPayload?: (d: Decoded) => boolean;
  /**
   * For a flow count() holds without a Flow: the responder's name as of its first packet (the DNS
   * cache of src/enrich), kept until the Flow is made (its dnsName then). Default: none.
   */
  nameAtOpen?: (pkt: Packet, d: Decoded) => string | null;
  /** Called once per flow when it is expired, replaced (port reuse) or closeAll() ends it. */
  onClose?: (f: Flow) => void;
  /** Tests only: remaps the 32-bit flow hash (e.g. to a constant, forcing every flow to collide). */
  hash?: (h: number) => number;
}

export interface FlowTable {
  /**
   * Counts one decoded packet (decodePacket returned true for it) into its flow, creating the
   * flow when the 5-tuple is new, idle past its timeout, or reused by a new SYN after FIN/RST.
   * Allocates only when it creates a flow. Returns the flow; see lastDir / lastNew.
   */
  ingest(pkt: Packet, d: Decoded): Flow;
  /**
   * As ingest(), but a bare SYN (SYN alone, no payload, not a fragment) that creates a flow, or
   * comes again with the same sequence number from the initiator of a flow so far made only of
   * them, is counted in the table's rows alone: no Flow object, returns null (a SYN flood's
   * flows cost ~230 bytes each instead of ~870). Such a flow gets its Flow (onOpen) at its first
   * other packet, when it closes, or when flows() reaches it; its counters, times, conn state
   * and TCP loss row are then exactly what ingest() would have made. For callers that need
   * nothing of a flow at a bare SYN (an import: no attribution hooks, no per-packet evidence).
   */
  count(pkt: Packet, d: Decoded): Flow | null;
  /** DIR_OUT or DIR_IN: direction of the packet last passed to ingest. */
  lastDir: number;
  /** True when the last ingest created its flow. */
  lastNew: boolean;
  /** The slot of the flow the last ingest()/count() counted into: with idAt(), a held flow's key. */
  lastSlot: number;
  /** The id of the flow in slot `s` (held or not); -1 when the slot is free. */
  idAt(s: number): number;
  /** Flow `id` in slot `s`: 'held' (count() holds it without a Flow), its Flow, or null (closed, or never there). */
  find(s: number, id: number): Flow | 'held' | null;
  /**
   * The Flow of the held flow in slot `s` as it would be made now, not kept by the table and no
   * onOpen (the daemon builds a held flow's row from it). `standIn`: if the flow gets its Flow
   * while something else still keeps this object (attribution waiting for a rescan, a kernel
   * event), it is this object, refreshed: what was attached to it stays attached.
   */
  peek(s: number, standIn: boolean): Flow;
  /** The packets of the held flow in slot `s` (0: none held there). */
  heldPackets(s: number): number;
  /** Closes flows idle past their timeout at capture time nowUs; cost is the number closed. */
  expire(nowUs: number): number;
  /**
   * Closes every open flow, in id order (end of capture). With `stopWhen` (a deadline: the daemon
   * stopping), answered flows go first, then half-open ones, in no set order; it is asked every 256
   * flows and, once true, the rest stay open. Returns the flows left open.
   */
  closeAll(stopWhen?: () => boolean): number;
  /** Open flows. */
  readonly size: number;
  /** Flows closed before their time so far (counters only grow). */
  readonly expiredEarly: EarlyExpiries;
  /** Open flows, in no particular order. */
  flows(): IterableIterator<Flow>;
}

/**
 * Each flow sits in one idle list, ordered by last packet: expiry pops from the head. List `l`'s
 * head and tail are the next and previous of record `cap + l` (a sentinel past the slots' records):
 * a circular list, so linking and unlinking a flow has no "first" or "last" case. Such a case
 * first met after V8 had compiled the per-packet code (a flow moved while at a list's head: the
 * import's first answered flows) threw that code away and compiled it again.
 */
const LIST_TCP = 0;
const LIST_UDP = 1;
const LIST_OTHER = 2;
const LIST_TCP_DONE = 3;
/** Packets one way only, few of them: a flow leaves this list at its first answer. */
const LIST_HALF_OPEN = 4;
/** Rejected connection attempts (SYN, then RST only), with FlowTableOptions.rejected; else in LIST_TCP_DONE. */
const LIST_TCP_REJ = 5;
const LIST_COUNT = 6;

const TCP_DONE_MASK = TCP_STATE_RST_OUT | TCP_STATE_RST_IN;
const TCP_FIN_BOTH = TCP_STATE_FIN_OUT | TCP_STATE_FIN_IN;

/**
 * Per-slot record in one Int32Array, 16 words (64 bytes, one cache line): everything a lookup
 * and the idle lists touch, so a packet reads the Flow object only to count itself.
 */
const REC = 16;
const R_HASH = 0;
const R_PROTO = 1;   // proto | addrLen << 8
const R_PORTS = 2;   // initiatorPort << 16 | responderPort (ICMP: type / counterpart-or-code)
const R_IADDR = 3;   // 4 words
const R_RADDR = 7;   // 4 words
const R_LIST = 11;
const R_PREV = 12;
const R_NEXT = 13;   // also chains free slots
const R_BARE = 14;   // packets of a flow held without a Flow object (count()); 0: a Flow, or a free slot
const R_IFACE = 15;  // such a flow's interface

/** Closed flows whose row copies share one pair of typed arrays (a kept closed flow keeps ~5.6 KB alive). */
const CLOSED_CHUNK = 64;
/** TCP loss rows the pool has at first (it doubles as TCP flows open; see createFlowTable). */
const LOSS_ROWS_AT_START = 16;

/** A flow held without a Flow object: its doubles, per slot. */
const BARE_NUMS = 6;
const B_ID = 0;
const B_FIRST = 1;
const B_LAST = 2;
const B_BYTES = 3;
const B_PAYLOAD = 4;
const B_BY = 5; // index into INITIATOR_BY
const INITIATOR_BY: readonly Flow['initiatorBy'][] = ['syn', 'syn-ack', 'port', 'first-packet'];

export function createFlowTable(opts: FlowTableOptions = {}): FlowTable {
  const idle = opts.idleTimeoutUs ?? DEFAULT_IDLE_TIMEOUT_US;
  const timeouts = new Float64Array(LIST_COUNT);
  timeouts[LIST_TCP] = idle.tcp;
  timeouts[LIST_UDP] = idle.udp;
  timeouts[LIST_OTHER] = idle.other;
  timeouts[LIST_TCP_DONE] = Math.min(opts.closedTimeoutUs ?? DEFAULT_CLOSED_TIMEOUT_US, idle.tcp);
  timeouts[LIST_TCP_REJ] = timeouts[LIST_TCP_DONE];
  timeouts[LIST_HALF_OPEN] = Math.min(opts.halfOpenTimeoutUs ?? DEFAULT_HALF_OPEN_TIMEOUT_US, idle.tcp, idle.udp, idle.other);
  const maxFlows = opts.maxFlows ?? DEFAULTS.maxFlows;
  if (!(Number.isInteger(maxFlows) && maxFlows >= 1)) throw new RangeError(`maxFlows must be a positive integer, not ${maxFlows}`);
  const early: EarlyExpiries = { evictedHalfOpen: 0, evictedFinished: 0, evictedActive: 0, halfOpenTimeout: 0, rejectedClosedEarly: 0 };
  // Without the option REJ flows stay in LIST_TCP_DONE (an import: its rows as they always were).
  const rejList = opts.rejected !== undefined;
  const rejDelay = Math.min(opts.rejected?.closeDelayUs ?? Infinity, timeouts[LIST_TCP_DONE]);
  const rejPressureAt = opts.rejected?.pressureAtFlows ?? Infinity;
  const onOpen = opts.onOpen;
  const readsPayload = opts.readsPayload;
  const onClose = opts.onClose;
  const remap = opts.hash;

  // Slots hold flows and their records. `index` is an open-addressing (linear probing) table
  // of [slot + 1, hash] pairs (slot + 1 === 0: empty) with twice as many buckets as slots, so
  // it is at most half full.
  // Slots grow by doubling up to maxFlows itself (not the next power of two: 524,288 slots for the
  // default 500,000 were 24,288 slots, ~4 MB, never used).
  let cap = 16;
  while (cap < Math.min(opts.initialCapacity ?? 1024, maxFlows)) cap *= 2;
  let slots: (Flow | null)[] = new Array<Flow | null>(cap).fill(null);
  let rec = new Int32Array((cap + LIST_COUNT) * REC);
  // Open flows' per-packet numbers (Flow.words): a conn row per slot, and a loss row per TCP flow,
  // taken from a pool of its own (takeLossRow: only TCP flows have any; row 0 stays zeros, every
  // other flow's). grow() and growLoss() swap in bigger arrays on this same object, which every
  // open flow refers to.
  // Both arrays are stored here, after the object is made: to V8 a field written only where its
  // object was made is a constant of its hidden class (which every FlowWords shares), and code
  // compiled on that (clearWords, create) was thrown away at the first grow() that replaced `conn`.
  // The loss pool starts small: its first doublings come within a capture's first TCP flows, so the
  // path that grows it has run before V8 compiles takeLossRow (a growth first met after that threw
  // the compiled code away).
  const tcpRows = newFlowWords(0);
  tcpRows.conn = new Int32Array(cap * CONN_WORDS);
  tcpRows.loss = new Float64Array(Math.min(cap, LOSS_ROWS_AT_START) * LOSS_WORDS);
  let lossRowOf = new Int32Array(cap);
  let lossUsed = 1;
  let lossFree = 0; // freed loss rows, chained through their first word (0: none)
  let index = new Int32Array(bucketsFor(cap) * 2);
  let mask = bucketsFor(cap) - 1;
  for (let l = 0; l < LIST_COUNT; l++) {
    rec[(cap + l) * REC + R_NEXT] = cap + l;
    rec[(cap + l) * REC + R_PREV] = cap + l;
  }
  let freeHead = -1;
  let used = 0;        // slots ever handed out (high-water mark)
  let count = 0;
  let nextId = 1;

  const nameAtOpen = opts.nameAtOpen;
  // Where closing flows' rows are copied (ownWords).
  let closedRows = newFlowWords(CLOSED_CHUNK);
  let closedUsed = 0;
  // Flows held without a Flow object (count()), per slot: rec[R_BARE] > 0, the rest in `bareNums`
  // (id, first and last time, IP bytes) and rec[R_IFACE]; names from nameAtOpen by slot.
  let bareNums = new Float64Array(cap * BARE_NUMS);
  const bareNames = new Map<number, string>();
  // Per slot, a held flow's stand-in (peek(s, true)), as long as someone else keeps it.
  let standIns = new Array<WeakRef<Flow> | undefined>(cap).fill(undefined);
  // Where the next sweep of dead stand-ins starts (sweepStandIns), and slots a sweep looks at (~0.5 ms).
  let sweepAt = 0;
  let standInsHeld = 0;
  const SWEEP_SLOTS = 65_536;
  // Where lookup() found the packet's flow: the hash and key ports, for create().
  let lookHash = 0;
  let lookSport = 0;
  let lookDport = 0;

  // The size getter is added after the literal (withGetters): lastDir / lastNew / lastSlot are read and written per packet.
  const table: FlowTable = withGetters({
    ingest,
    count: countPacket,
    lastDir: DIR_OUT,
    lastNew: false,
    lastSlot: -1,
    idAt,
    find,
    peek,
    heldPackets: (s: number) => rec[s * REC + R_BARE],
    expire,
    closeAll,
    expiredEarly: early,
    flows,
  }, { size: () => count });
  return table;

  function ingest(pkt: Packet, d: Decoded): Flow {
    const s = lookup(pkt, d);
    if (s < 0) return create(pkt, d);
    table.lastNew = false;
    table.lastSlot = s;
    const f = flowAt(s);
    count1(f, s, table.lastDir, pkt, d);
    return f;
  }

  function countPacket(pkt: Packet, d: Decoded): Flow | null {
    const tcp = d.proto === IPPROTO.TCP;
    const bare = tcp ? isBareSyn(d) : d.fragment === 0 && readsPayload !== undefined && !readsPayload(d);
    const s = lookup(pkt, d);
    if (s < 0) {
      if (!bare) return create(pkt, d);
      const by = tcp ? BY_SYN : heldInitiator(d);
      if (by < 0) return create(pkt, d);
      createBare(pkt, d, by);
      return null;
    }
    table.lastNew = false;
    table.lastSlot = s;
    if (rec[s * REC + R_BARE] > 0) {
      if (bare && table.lastDir === DIR_OUT && (!tcp || trackBareSyn(tcpRows.loss, lossRowOf[s], d.tcpSeq))) {
        countBare(s, pkt, d);
        return null;
      }
      makeFlow(s);
    }
    const f = slots[s] as Flow;
    count1(f, s, table.lastDir, pkt, d);
    return f;
  }

  /**
   * The slot of the packet's open flow (lastDir set to the packet's direction in it), or -1: no
   * open flow, or one that starts over (closed here). Leaves the key's hash and ports for create().
   */
  function lookup(pkt: Packet, d: Decoded): number {
    const proto = d.proto;
    const addrLen = d.addrLen;
    const sport = d.srcPort;
    const dport = keyDstPort(proto, sport, d.dstPort);
    loadAddrs(pkt.buf, d.srcOff, d.dstOff, addrLen);
    let h = hashTuple(addrLen, sport, dport, proto);
    if (remap !== undefined) h = remap(h) | 0;
    lookHash = h;
    lookSport = sport;
    lookDport = dport;
    const protoKey = proto | (addrLen << 8);
    const fwd = (sport << 16) | dport;
    const rev = (dport << 16) | sport;
    const words = addrLen >> 2;

    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s1 = index[2 * i];
      if (s1 === 0) return -1;
      if (index[2 * i + 1] !== h) continue;
      const r = (s1 - 1) * REC;
      if (rec[r + R_PROTO] !== protoKey) continue;
      const ports = rec[r + R_PORTS];
      let dir: number;
      if (ports === fwd && sameWords(r + R_IADDR, 0, words) && sameWords(r + R_RADDR, 4, words)) dir = DIR_OUT;
      else if (ports === rev && sameWords(r + R_IADDR, 4, words) && sameWords(r + R_RADDR, 0, words)) dir = DIR_IN;
      else continue;
      const s = s1 - 1;
      // Idle past its timeout (expire() not called lately), or a fresh SYN on a finished TCP flow.
      // Written out here, per packet: V8 did not inline a function for it into this loop (a call
      // per packet, and a double returned from a call is a heap number).
      const bare = rec[r + R_BARE] > 0;
      const last = bare ? bareNums[s * BARE_NUMS + B_LAST] : (slots[s] as Flow).lastSeen;
      if (pkt.ts - last > timeouts[rec[r + R_LIST]] || (!bare && (d.tcpFlags & TCP_SYN) !== 0 && synAfterDone(s, d))) {
        closeSlot(s);
        return -1;
      }
      table.lastDir = dir;
      return s;
    }
  }

  /** A SYN without ACK on a TCP flow that has finished (FIN both ways or RST): port reuse. */
  function synAfterDone(s: number, d: Decoded): boolean {
    return d.proto === IPPROTO.TCP && (d.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN && tcpDone((slots[s] as Flow).tcpState);
  }

  function sameWords(at: number, pktBase: number, words: number): boolean {
    for (let k = 0; k < words; k++) if (rec[at + k] !== pktAddr[pktBase + k]) return false;
    return true;
  }

  /**
   * How a non-TCP flow's first packet names its initiator (index into INITIATOR_BY) when the sender
   * is the initiator; -1 when the receiver is (such a flow is not held: held rows count one way).
   */
  function heldInitiator(d: Decoded): number {
    const [swap, by] = pickInitiator(d, lookSport, lookDport);
    return swap ? -1 : INITIATOR_BY.indexOf(by);
  }

  function idAt(s: number): number {
    if (rec[s * REC + R_BARE] > 0) return bareNums[s * BARE_NUMS + B_ID];
    const f = slots[s];
    return f === null || f === undefined ? -1 : f.id;
  }

  function find(s: number, id: number): Flow | 'held' | null {
    if (s < 0 || s >= used || idAt(s) !== id) return null;
    return rec[s * REC + R_BARE] > 0 ? 'held' : slots[s];
  }

  function peek(s: number, standIn: boolean): Flow {
    const f = heldFlow(s);
    if (standIn) {
      if (standIns[s] === undefined) standInsHeld++;
      standIns[s] = new WeakRef(f);
    }
    return f;
  }

  function lastSeenOf(s: number): number {
    return rec[s * REC + R_BARE] > 0 ? bareNums[s * BARE_NUMS + B_LAST] : (slots[s] as Flow).lastSeen;
  }

  function inUse(s: number): boolean {
    return slots[s] !== null || rec[s * REC + R_BARE] > 0;
  }

  /** The slot's Flow, made now if the slot holds a flow of bare SYNs. */
  function flowAt(s: number): Flow {
    return rec[s * REC + R_BARE] > 0 ? makeFlow(s) : (slots[s] as Flow);
  }

  // Takes the Packet, not its ts: a double passed between functions V8 did not inline is boxed
  // (a heap allocation per packet).
  function count1(f: Flow, s: number, dir: number, pkt: Packet, d: Decoded): void {
    table.lastDir = dir;
    const ts = pkt.ts;
    if (ts > f.lastSeen) f.lastSeen = ts;
    else if (ts < f.firstSeen) f.firstSeen = ts;
    if (dir === DIR_OUT) {
      f.packetsOut++;
      f.bytesOut += d.ipLen;
      f.payloadOut += d.payloadWireLen;
    } else {
      f.packetsIn++;
      f.bytesIn += d.ipLen;
      f.payloadIn += d.payloadWireLen;
    }
    let list = rec[s * REC + R_LIST];
    if (list === LIST_HALF_OPEN && !stillHalfOpen(f)) list = protoList(d.proto);
    if (d.proto === IPPROTO.TCP) {
      f.tcpState = nextTcpState(f.tcpState, dir, d.tcpFlags);
      trackTcpConn(tcpRows, s, dir, d.tcpFlags, d.payloadWireLen, d.tcpWindow);
      if (tcpDone(f.tcpState)) list = rejList && rejected(f.tcpState) ? LIST_TCP_REJ : LIST_TCP_DONE;
    } else trackOtherConn(f, dir, d.payloadWireLen);
    if (rec[(cap + list) * REC + R_PREV] !== s) {
      unlink(s);
      append(s, list);
    }
  }

  function create(pkt: Packet, d: Decoded): Flow {
    const h = lookHash;
    const sport = lookSport;
    const dport = lookDport;
    if (count >= maxFlows) evictOne();
    const s = allocSlot();
    const [swap, by] = pickInitiator(d, sport, dport);
    const buf = pkt.buf;
    const srcAddr = copyAddr(buf, d.srcOff, d.addrLen);
    const dstAddr = copyAddr(buf, d.dstOff, d.addrLen);
    const iPort = swap ? dport : sport;
    const rPort = swap ? sport : dport;
    clearWords(s);
    const lossAt = takeLossRow(s, d.proto);
    const f = newFlow(nextId++, d.proto, d.ipVersion, swap ? dstAddr : srcAddr, swap ? srcAddr : dstAddr, iPort, rPort, by,
      pkt.iface, pkt.ts, pkt.ts, tcpRows, s, lossAt);
    slots[s] = f;
    fillRecord(s, h, d, iPort, rPort, swap);
    append(s, LIST_HALF_OPEN);
    indexInsert(s, h);
    count++;
    table.lastNew = true;
    table.lastSlot = s;
    if (onOpen !== undefined) onOpen(f, false, -1);
    count1(f, s, swap ? DIR_IN : DIR_OUT, pkt, d);
    return f;
  }

  /** The lookup words of a new flow's record, from the packet's addresses in pktAddr. */
  function fillRecord(s: number, h: number, d: Decoded, iPort: number, rPort: number, swap: boolean): void {
    const r = s * REC;
    rec[r + R_HASH] = h;
    rec[r + R_PROTO] = d.proto | (d.addrLen << 8);
    rec[r + R_PORTS] = (iPort << 16) | rPort;
    const words = d.addrLen >> 2;
    const iBase = swap ? 4 : 0;
    for (let k = 0; k < 4; k++) {
      rec[r + R_IADDR + k] = k < words ? pktAddr[iBase + k] : 0;
      rec[r + R_RADDR + k] = k < words ? pktAddr[4 - iBase + k] : 0;
    }
  }

  /**
   * A new flow held in the slot's rows only (see count()): a bare SYN, or a non-TCP packet whose
   * sender is the initiator (`by`, from pickInitiator). What count1() and create() would have
   * recorded: one packet out, TCP state SYN for a SYN.
   */
  function createBare(pkt: Packet, d: Decoded, by: number): void {
    const h = lookHash;
    if (count >= maxFlows) evictOne();
    const s = allocSlot();
    clearWords(s);
    const lossAt = takeLossRow(s, d.proto);
    fillRecord(s, h, d, lookSport, lookDport, false);
    const r = s * REC;
    rec[r + R_BARE] = 0;
    rec[r + R_IFACE] = pkt.iface;
    const n = s * BARE_NUMS;
    bareNums[n + B_ID] = nextId++;
    bareNums[n + B_FIRST] = pkt.ts;
    bareNums[n + B_LAST] = pkt.ts;
    bareNums[n + B_BYTES] = 0;
    bareNums[n + B_PAYLOAD] = 0;
    bareNums[n + B_BY] = by;
    append(s, LIST_HALF_OPEN);
    indexInsert(s, h);
    count++;
    table.lastNew = true;
    table.lastDir = DIR_OUT;
    table.lastSlot = s;
    if (nameAtOpen !== undefined) {
      const name = nameAtOpen(pkt, d);
      if (name !== null) bareNames.set(s, name);
    }
    if (d.proto === IPPROTO.TCP) trackBareSyn(tcpRows.loss, lossAt, d.tcpSeq);
    countBare(s, pkt, d);
  }

  /** One packet from the initiator of a flow held without a Flow (a bare SYN, or not TCP): count1()'s work, by row. */
  function countBare(s: number, pkt: Packet, d: Decoded): void {
    const n = s * BARE_NUMS;
    const ts = pkt.ts;
    if (ts > bareNums[n + B_LAST]) bareNums[n + B_LAST] = ts;
    else if (ts < bareNums[n + B_FIRST]) bareNums[n + B_FIRST] = ts;
    bareNums[n + B_BYTES] += d.ipLen;
    bareNums[n + B_PAYLOAD] += d.payloadWireLen;
    const r = s * REC;
    const packets = ++rec[r + R_BARE];
    if (d.proto === IPPROTO.TCP) trackTcpConn(tcpRows, s, DIR_OUT, d.tcpFlags, d.payloadWireLen, d.tcpWindow);
    else trackOtherConnAt(tcpRows, s, DIR_OUT, d.payloadWireLen);
    let list = rec[r + R_LIST];
    if (list === LIST_HALF_OPEN && packets > HALF_OPEN_MAX_PACKETS) list = protoList(d.proto);
    if (rec[(cap + list) * REC + R_PREV] !== s) {
      unlink(s);
      append(s, list);
    }
  }

  /**
   * Gives a flow held without a Flow its Flow object (the same fields count1() would have filled):
   * its stand-in when one is still about (peek), else a new one.
   */
  function makeFlow(s: number): Flow {
    const kept = standIns[s]?.deref();
    dropStandIn(s);
    const f = kept ?? heldFlow(s);
    if (kept !== undefined) fillHeld(f, s);
    bareNames.delete(s);
    rec[s * REC + R_BARE] = 0;
    slots[s] = f;
    const tcp = f.proto === IPPROTO.TCP;
    if (onOpen !== undefined) onOpen(f, true, tcp ? bareSynSeq(tcpRows.loss, lossRowOf[s]) : -1);
    return f;
  }

  /** A new Flow object for the held flow in slot s, as it stands. */
  function heldFlow(s: number): Flow {
    const r = s * REC;
    const n = s * BARE_NUMS;
    const protoKey = rec[r + R_PROTO];
    const addrLen = protoKey >> 8;
    const ports = rec[r + R_PORTS];
    const f = newFlow(smallInt(bareNums[n + B_ID]), protoKey & 0xff, addrLen === 4 ? 4 : 6, addrFromWords(r + R_IADDR, addrLen),
      addrFromWords(r + R_RADDR, addrLen), ports >>> 16, ports & 0xffff, INITIATOR_BY[bareNums[n + B_BY]], rec[r + R_IFACE],
      bareNums[n + B_FIRST], bareNums[n + B_LAST], tcpRows, s, lossRowOf[s]);
    fillHeld(f, s);
    return f;
  }

  /** The counters of the held flow in slot s, onto its Flow. */
  function fillHeld(f: Flow, s: number): void {
    const n = s * BARE_NUMS;
    f.firstSeen = bareNums[n + B_FIRST];
    f.lastSeen = bareNums[n + B_LAST];
    f.packetsOut = rec[s * REC + R_BARE];
    f.bytesOut = smallInt(bareNums[n + B_BYTES]);
    f.payloadOut = smallInt(bareNums[n + B_PAYLOAD]);
    f.tcpState = f.proto === IPPROTO.TCP ? TCP_STATE_SYN : 0;
    f.words = tcpRows;
    f.at = s;
    f.lossAt = lossRowOf[s];
    if (bareNames.size > 0) f.dnsName = bareNames.get(s) ?? null;
  }

  function addrFromWords(at: number, len: number): Buffer {
    const a = Buffer.allocUnsafe(len);
    for (let k = 0; k < len >> 2; k++) a.writeInt32BE(rec[at + k], 4 * k);
    return a;
  }

  /**
   * Drops the WeakRefs of stand-ins nobody keeps any more (the attributor keeps one while it waits
   * for a rescan or a late kernel event): under a flood every held flow got one at its first packet,
   * 32 bytes of heap each for as long as the flow stays open. A share of the table per call.
   */
  function sweepStandIns(): void {
    // None made (an import: no per-flow hooks): nothing to look at, however long the file's capture.
    if (standInsHeld === 0) return;
    const end = Math.min(used, sweepAt + SWEEP_SLOTS);
    for (let s = sweepAt; s < end; s++) {
      const r = standIns[s];
      if (r !== undefined && r.deref() === undefined) dropStandIn(s);
    }
    sweepAt = end >= used ? 0 : end;
  }

  function dropStandIn(s: number): void {
    if (standIns[s] === undefined) return;
    standIns[s] = undefined;
    standInsHeld--;
  }

  function expire(nowUs: number): number {
    sweepStandIns();
    let closed = 0;
    for (let l = 0; l < LIST_COUNT; l++) {
      const t = l === LIST_TCP_REJ && count > rejPressureAt ? rejDelay : timeouts[l];
      for (let s = headOf(l); s >= 0; s = headOf(l)) {
        const idleFor = nowUs - lastSeenOf(s);
        if (idleFor <= t) break;
        if (l === LIST_HALF_OPEN) early.halfOpenTimeout++;
        else if (l === LIST_TCP_REJ && idleFor <= timeouts[l]) early.rejectedClosedEarly++;
        closeSlot(s);
        closed++;
      }
    }
    return closed;
  }

  /**
   * Makes room for one flow: the oldest half-open flow, else the oldest finished one, else the
   * least recently active (each idle list is ordered by last packet, so that is a list head).
   */
  function evictOne(): void {
    let s = headOf(LIST_HALF_OPEN);
    if (s >= 0) early.evictedHalfOpen++;
    else if ((s = olderHead(LIST_TCP_DONE, LIST_TCP_REJ)) >= 0) early.evictedFinished++;
    else {
      for (const l of ACTIVE_LISTS) {
        const h = headOf(l);
        if (h >= 0 && (s < 0 || lastSeenOf(h) < lastSeenOf(s))) s = h;
      }
      early.evictedActive++;
    }
    closeSlot(s);
  }

  /** The head of list a or b whose flow was idle longer; -1 when both are empty. */
  function olderHead(a: number, b: number): number {
    const ha = headOf(a);
    const hb = headOf(b);
    if (ha < 0 || hb < 0) return ha < 0 ? hb : ha;
    return lastSeenOf(hb) < lastSeenOf(ha) ? hb : ha;
  }

  function closeAll(stopWhen?: () => boolean): number {
    if (stopWhen !== undefined) return closeUntil(stopWhen);
    const open: number[] = [];
    for (let s = 0; s < used; s++) if (inUse(s)) open.push(s);
    open.sort((a, b) => idOf(a) - idOf(b));
    for (const s of open) closeSlot(s);
    return 0;
  }

  /** Two passes in slot order (no sort: a full table is 500k flows): answered flows, then half-open. */
  function closeUntil(stopWhen: () => boolean): number {
    let n = 0;
    for (const halfOpen of [false, true]) {
      for (let s = 0; s < used; s++) {
        if (!inUse(s) || (rec[s * REC + R_LIST] === LIST_HALF_OPEN) !== halfOpen) continue;
        if ((n++ & 255) === 0 && stopWhen()) return count;
        closeSlot(s);
      }
    }
    return count;
  }

  function idOf(s: number): number {
    return rec[s * REC + R_BARE] > 0 ? bareNums[s * BARE_NUMS + B_ID] : (slots[s] as Flow).id;
  }

  /** Every open flow as a Flow (flows held without one get theirs: it is kept from then on). */
  function* flows(): IterableIterator<Flow> {
    for (let s = 0; s < used; s++) if (inUse(s)) yield flowAt(s);
  }

  function closeSlot(s: number): void {
    const f = flowAt(s);
    indexRemove(s);
    unlink(s);
    slots[s] = null;
    rec[s * REC + R_NEXT] = freeHead;
    freeHead = s;
    count--;
    f.closed = true;
    dropStandIn(s);
    ownWords(f, s);
    freeLossRow(s);
    if (onClose !== undefined) onClose(f);
  }

  /** A slot's conn row is zeroed when it is handed to a new flow (a freed slot keeps its last flow's). */
  function clearWords(s: number): void {
    const c = tcpRows.conn;
    for (let k = s * CONN_WORDS, end = k + CONN_WORDS; k < end; k++) c[k] = 0;
  }

  /**
   * The loss row of the new flow in slot s: a zeroed row of the pool when it is TCP, else row 0 (zeros
   * nothing writes: tcp-loss.ts counts TCP packets only). Under a UDP flood the pool stays empty.
   */
  function takeLossRow(s: number, proto: number): number {
    if (proto !== IPPROTO.TCP) {
      lossRowOf[s] = 0;
      return 0;
    }
    // Every row is taken off the free list, a new one put there first (as allocSlot does): a reused
    // row's path of its own was first taken after V8 had compiled this. The chain is read back as
    // an integer: a row number read from the Float64Array as it is, a double, went on into every
    // use of the row (trackBareSyn was compiled again for it: "not a Smi").
    if (lossFree === 0) {
      if (lossUsed * LOSS_WORDS === tcpRows.loss.length) growLoss();
      tcpRows.loss[lossUsed * LOSS_WORDS] = 0;
      lossFree = lossUsed++;
    }
    const row = lossFree;
    lossFree = tcpRows.loss[row * LOSS_WORDS] | 0;
    const l = tcpRows.loss;
    for (let k = row * LOSS_WORDS, end = k + LOSS_WORDS; k < end; k++) l[k] = 0;
    lossRowOf[s] = row;
    return row;
  }

  /** A closing flow's loss row back to the pool (its Flow has its copy: ownWords). */
  function freeLossRow(s: number): void {
    const row = lossRowOf[s];
    if (row === 0) return;
    lossRowOf[s] = 0;
    tcpRows.loss[row * LOSS_WORDS] = lossFree;
    lossFree = row;
  }

  function growLoss(): void {
    const bigger = new Float64Array(Math.min(2 * (tcpRows.loss.length / LOSS_WORDS), cap + 1) * LOSS_WORDS);
    bigger.set(tcpRows.loss);
    tcpRows.loss = bigger;
  }

  /**
   * A closing flow takes a copy of its rows: its slot goes to the next new flow, the flow may be
   * read later. Copies go into chunks of CLOSED_CHUNK rows: two typed arrays per closed flow
   * were a tenth of a SYN flood's import (their allocation and their collection).
   */
  function ownWords(f: Flow, s: number): void {
    if (closedUsed === CLOSED_CHUNK) {
      closedRows = newFlowWords(CLOSED_CHUNK);
      closedUsed = 0;
    }
    const at = closedUsed++;
    const c = closedRows.conn;
    const l = closedRows.loss;
    for (let k = 0; k < CONN_WORDS; k++) c[at * CONN_WORDS + k] = tcpRows.conn[s * CONN_WORDS + k];
    const from = lossRowOf[s] * LOSS_WORDS;
    if (from > 0) for (let k = 0; k < LOSS_WORDS; k++) l[at * LOSS_WORDS + k] = tcpRows.loss[from + k];
    f.words = closedRows;
    f.at = at;
    f.lossAt = at;
  }

  // --- slots and idle lists ---

  /**
   * A freed slot, else the next unused one. Every slot is taken off the free list: a new one is put
   * there first. With a path of its own, the first freed slot handed out (a capture's first closed
   * flow, long after V8 compiled the code that makes flows) threw that code away.
   */
  function allocSlot(): number {
    if (freeHead < 0) {
      if (used === cap) grow();
      rec[used * REC + R_NEXT] = -1;
      freeHead = used++;
    }
    const s = freeHead;
    freeHead = rec[s * REC + R_NEXT];
    return s;
  }

  function grow(): void {
    // Called only while fewer than maxFlows slots exist (at most maxFlows flows are open: used <= maxFlows).
    const newCap = Math.min(cap * 2, maxFlows);
    // Lengthened in place: concat() of a new array made V8 throw grow()'s compiled code away at once
    // ("out of bounds"), so it was compiled again on-stack for its loop, and again at its next call.
    slots.length = newCap;
    slots.fill(null, cap);
    standIns.length = newCap;
    standIns.fill(undefined, cap);
    const bigger = new Int32Array((newCap + LIST_COUNT) * REC);
    bigger.set(rec.subarray(0, cap * REC));
    // The sentinels move past the new slots: their records, and their neighbours' links to them.
    for (let l = 0; l < LIST_COUNT; l++) {
      const from = cap + l;
      const to = newCap + l;
      const next = rec[from * REC + R_NEXT];
      const prev = rec[from * REC + R_PREV];
      bigger[to * REC + R_NEXT] = next === from ? to : next;
      bigger[to * REC + R_PREV] = prev === from ? to : prev;
      if (next !== from) bigger[next * REC + R_PREV] = to;
      if (prev !== from) bigger[prev * REC + R_NEXT] = to;
    }
    rec = bigger;
    const conn = new Int32Array(newCap * CONN_WORDS);
    conn.set(tcpRows.conn);
    tcpRows.conn = conn;
    const rows = new Int32Array(newCap);
    rows.set(lossRowOf);
    lossRowOf = rows;
    const nums = new Float64Array(newCap * BARE_NUMS);
    nums.set(bareNums);
    bareNums = nums;
    cap = newCap;
    index = new Int32Array(bucketsFor(cap) * 2);
    mask = bucketsFor(cap) - 1;
    for (let s = 0; s < used; s++) if (inUse(s)) indexInsert(s, rec[s * REC + R_HASH]);
  }

  /** The oldest flow of a list, or -1 when it is empty. */
  function headOf(list: number): number {
    const h = rec[(cap + list) * REC + R_NEXT];
    return h === cap + list ? -1 : h;
  }

  /** Links slot s in as list's tail (its sentinel's previous). */
  function append(s: number, list: number): void {
    const r = s * REC;
    const end = cap + list;
    const t = rec[end * REC + R_PREV];
    rec[r + R_LIST] = list;
    rec[r + R_PREV] = t;
    rec[r + R_NEXT] = end;
    rec[t * REC + R_NEXT] = s;
    rec[end * REC + R_PREV] = s;
  }

  function unlink(s: number): void {
    const r = s * REC;
    const p = rec[r + R_PREV];
    const n = rec[r + R_NEXT];
    rec[p * REC + R_NEXT] = n;
    rec[n * REC + R_PREV] = p;
  }

  // --- the hash index ---

  function indexInsert(s: number, h: number): void {
    let i = h & mask;
    while (index[2 * i] !== 0) i = (i + 1) & mask;
    index[2 * i] = s + 1;
    index[2 * i + 1] = h;
  }

  /** Linear-probing deletion by backward shift: no tombstones, so probes stay short. */
  function indexRemove(s: number): void {
    let i = rec[s * REC + R_HASH] & mask;
    while (index[2 * i] !== s + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[2 * j];
      if (e === 0) break;
      const home = index[2 * j + 1] & mask;
      // Move entry j back into the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        index[2 * i] = e;
        index[2 * i + 1] = index[2 * j + 1];
        i = j;
      }
    }
    index[2 * i] = 0;
    index[2 * i + 1] = 0;
  }
}

/** A Flow with no packet counted yet; its rows are row `at` of `words`. */
function newFlow(
  id: number, proto: number, ipVersion: number, iAddr: Buffer, rAddr: Buffer, iPort: number, rPort: number,
  by: Flow['initiatorBy'], iface: number, firstSeen: number, lastSeen: number, words: FlowWords, at: number, lossAt: number,
): Flow {
  return {
    id,
    proto,
    ipVersion,
    initiatorAddr: iAddr,
    responderAddr: rAddr,
    initiatorPort: iPort,
    responderPort: rPort,
    initiatorBy: by,
    iface,
    ifaces: null,
    firstSeen,
    lastSeen,
    packetsOut: 0,
    packetsIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    payloadOut: 0,
    payloadIn: 0,
    tcpState: 0,
    words,
    at,
    lossAt,
    tcpLossHoles: null,
    communityId: null,
    hostname: null,
    hostnameSource: null,
    sni: null,
    alpn: null,
    httpMethod: null,
    httpPath: null,
    httpHost: null,
    httpStatus: null,
    connectHost: null,
    connectPort: null,
    dnsName: null,
    process: null,
    peerProcess: null,
    effectiveProcess: null,
    enrich: null,
    closed: false,
  };
}

/**
 * A whole number read from a Float64Array, as V8's small integer when it fits. Stored as a
 * double, a Flow's id or byte counter makes V8 keep that field as a boxed double in every Flow
 * (the field's representation is the hidden class's): every later read and count pays for it
 * (measured: +10 % CPU on the benchmark import).
 */
function smallInt(x: number): number {
  return x <= 0x3fffffff ? x | 0 : x;
}

/** True for a TCP SYN alone (no ACK, FIN or RST), without payload, not an IP fragment. */
function isBareSyn(d: Decoded): boolean {
  return d.proto === IPPROTO.TCP && (d.tcpFlags & (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST)) === TCP_SYN
    && d.payloadWireLen === 0 && d.fragment === 0;
}

/** ICMP request and reply share a flow: the key's destination "port" is the counterpart type. */
function keyDstPort(proto: number, sport: number, dport: number): number {
  if (proto !== IPPROTO.ICMP && proto !== IPPROTO.ICMPV6) return dport;
  const c = icmpCounterpart(proto, sport);
  return c >= 0 ? c : dport;
}

/**
 * Who started the flow, from its first packet. Returns [swap, how]: swap = the receiver of
 * this packet is the initiator.
 * - TCP SYN without ACK: the sender ('syn'); SYN+ACK: the receiver ('syn-ack').
 * - ICMP request/reply types: the sender of a request is the initiator, the receiver of a
 *   reply ('port': the type plays the port's role).
 * - Otherwise the port heuristic ('port'): when exactly one side uses a service port (below
 *   1024 or in service-ports.ts, e.g. 53, 443, 3128, 5353, 8080, 11434), that side is the
 *   responder. DNS 40000 -> 53 and a reply 53 -> 40000 seen first both make the client the initiator.
 * - No clue (both or neither side a service port, port-less protocols, one-way ICMP):
 *   the sender of the first packet ('first-packet').
 */
function pickInitiator(d: Decoded, sport: number, dport: number): [boolean, Flow['initiatorBy']] {
  if (d.proto === IPPROTO.TCP) {
    const sa = d.tcpFlags & (TCP_SYN | TCP_ACK);
    if (sa === TCP_SYN) return [false, 'syn'];
    if (sa === (TCP_SYN | TCP_ACK)) return [true, 'syn-ack'];
  } else if (d.proto === IPPROTO.ICMP || d.proto === IPPROTO.ICMPV6) {
    if (icmpCounterpart(d.proto, sport) < 0) return [false, 'first-packet'];
    return [!isIcmpRequest(d.proto, sport), 'port'];
  }
  const srcService = isServicePort(sport);
  const dstService = isServicePort(dport);
  if (dstService && !srcService) return [false, 'port'];
  if (srcService && !dstService) return [true, 'port'];
  return [false, 'first-packet'];
}

/**
 * Flow.tcpState after a packet, by table: `state` with the bits the packet's direction and control
 * flags add, and ESTABLISHED when they add it once a SYN-ACK was seen (tcpStateRule). A test of
 * a flag first passed after V8 compiled the per-packet code (an import's first FIN) threw that
 * code away; a table read has no such case.
 */
function nextTcpState(state: number, dir: number, flags: number): number {
  const i = dir * 16 + controlKey(flags);
  return state | TCP_STATE_ADDS[i] | (TCP_STATE_ESTABLISHES[i] & ((state & TCP_STATE_SYNACK) !== 0 ? -1 : 0));
}

/** The rule nextTcpState's tables are made of. */
function tcpStateRule(state: number, dir: number, flags: number): number {
  const syn = (flags & TCP_SYN) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  if (dir === DIR_OUT) {
    if (syn && !ack) state |= TCP_STATE_SYN;
    else if (!syn && ack && (state & TCP_STATE_SYNACK) !== 0) state |= TCP_STATE_ESTABLISHED;
    if ((flags & TCP_FIN) !== 0) state |= TCP_STATE_FIN_OUT;
    if ((flags & TCP_RST) !== 0) state |= TCP_STATE_RST_OUT;
  } else {
    if (syn && ack) state |= TCP_STATE_SYNACK;
    if ((flags & TCP_FIN) !== 0) state |= TCP_STATE_FIN_IN;
    if ((flags & TCP_RST) !== 0) state |= TCP_STATE_RST_IN;
  }
  return state;
}

/** Per direction (DIR_OUT 0, DIR_IN 1) and control key (conn-state.ts controlKey): the bits a packet adds... */
const TCP_STATE_ADDS = Int32Array.from({ length: 32 }, (_, i) => tcpStateRule(0, i >> 4, flagsOfKey(i & 15)));
/** ...and ESTABLISHED when it adds that once the SYN-ACK was seen. */
const TCP_STATE_ESTABLISHES = Int32Array.from({ length: 32 },
  (_, i) => tcpStateRule(TCP_STATE_SYNACK, i >> 4, flagsOfKey(i & 15)) & TCP_STATE_ESTABLISHED);

function flagsOfKey(key: number): number {
  return (key & (KEY_FIN | KEY_SYN | KEY_RST)) | ((key & KEY_ACK) !== 0 ? TCP_ACK : 0);
}

const ACTIVE_LISTS = [LIST_TCP, LIST_UDP, LIST_OTHER];
const BY_SYN = INITIATOR_BY.indexOf('syn');

function protoList(proto: number): number {
  return proto === IPPROTO.TCP ? LIST_TCP : proto === IPPROTO.UDP ? LIST_UDP : LIST_OTHER;
}

/** After a packet is counted: still one way only, and few packets. */
function stillHalfOpen(f: Flow): boolean {
  return (f.packetsOut === 0 || f.packetsIn === 0) && f.packetsOut + f.packetsIn <= HALF_OPEN_MAX_PACKETS;
}

/** A connection attempt rejected: the initiator's SYN answered by a RST, no SYN-ACK, no FIN. */
function rejected(state: number): boolean {
  return (state & TCP_STATE_SYN) !== 0 && (state & TCP_STATE_RST_IN) !== 0 && (state & ~(TCP_STATE_SYN | TCP_DONE_MASK)) === 0;
}

function tcpDone(state: number): boolean {
  return (state & TCP_DONE_MASK) !== 0 || (state & TCP_FIN_BOTH) === TCP_FIN_BOTH;
}

/** Buckets of the hash index for `slots` slots: a power of two, at least twice as many (at most half full). */
function bucketsFor(slots: number): number {
  let b = 2;
  while (b < 2 * slots) b *= 2;
  return b;
}

/** A byte loop: Buffer#copy's native call costs more than copying 4 or 16 bytes (~0.5 µs a flow). */
function copyAddr(buf: Buffer, off: number, len: number): Buffer {
  const a = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) a[i] = buf[off + i];
  return a;
}
