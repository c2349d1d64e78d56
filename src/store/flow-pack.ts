/**
 * An import's closed flows on their way to its writer thread, as numbers in typed arrays.
 *
 * The capture thread bounds an import's wall time (the writer thread idles about half of it), so
 * it only copies a flow's fields here; the writer thread builds the row (flowRowInto in
 * session-rows.ts: the address strings, Community ID, conn_state and history) from a view of
 * them. A batch's numbers cross threads in shared memory (FlowSlots), not field by field; only
 * the strings (names, classification) go in the message, as one plain array.
 */
import type { Classification } from '../classify/classify.js';
import { CONN_WORDS, type Flow } from '../flows/flow.js';
import { FLOW_COLUMNS, flowRowInto, missedBytes, type FlowRowSource, type Row } from './session-rows.js';

/** Numbers per flow in `nums`, at these offsets; a null is NaN. */
const ID = 0;
const PROTO = 1;
const IP_VERSION = 2;
const INITIATOR_PORT = 3;
const RESPONDER_PORT = 4;
const IFACE = 5;
const FIRST_SEEN = 6;
const LAST_SEEN = 7;
const PACKETS_OUT = 8;
const PACKETS_IN = 9;
const BYTES_OUT = 10;
const BYTES_IN = 11;
const PAYLOAD_OUT = 12;
const PAYLOAD_IN = 13;
const TCP_STATE = 14;
const MISSED = 15;
const HTTP_STATUS = 16;
const CONNECT_PORT = 17;
const OLLAMA = 18;
const PROCESS_SEQ = 19;
const PEER_PROCESS_SEQ = 20;
const EFFECTIVE_PROCESS_SEQ = 21;
const ADDR_LEN = 22;
const NUMS = 23;

/** Address bytes per flow in `addrs`: the initiator's at 0, the responder's at 16 (4 or 16 bytes each). */
const ADDR_BYTES = 32;

/** Strings (and the two lists) per flow in `strs`, in this order. */
const STRS = 13;

/**
 * Shared memory for `count` batches of packed flows (numbers, conn-state rows, addresses), and a
 * busy flag per batch: set by the capture thread when it posts a batch, cleared by the writer
 * thread once it has read it. Nothing is allocated or copied per batch: fresh arrays per batch
 * (transferred, or copied when posted) are V8 external memory on both threads; they brought the
 * capture thread's full collections of its large heap forward and added ~25 MB to an import's RSS.
 */
export interface FlowSlots {
  memory: SharedArrayBuffer;
  busy: SharedArrayBuffer;
  count: number;
  capacity: number;
}

const SLOT_BYTES_PER_FLOW = NUMS * 8 + CONN_WORDS * 4 + ADDR_BYTES;

export function newFlowSlots(count: number, capacity: number): FlowSlots {
  return { memory: new SharedArrayBuffer(count * capacity * SLOT_BYTES_PER_FLOW), busy: new SharedArrayBuffer(4 * count), count, capacity };
}

interface SlotArrays {
  nums: Float64Array;
  /** Each flow's conn-state row (CONN_WORDS int32, src/flows/conn-state.ts). */
  conn: Int32Array;
  addrs: Uint8Array;
}

function slotArrays(slots: FlowSlots): SlotArrays[] {
  const { memory, capacity } = slots;
  return Array.from({ length: slots.count }, (_, i) => {
    const at = i * capacity * SLOT_BYTES_PER_FLOW;
    return {
      nums: new Float64Array(memory, at, capacity * NUMS),
      conn: new Int32Array(memory, at + capacity * NUMS * 8, capacity * CONN_WORDS),
      addrs: new Uint8Array(memory, at + capacity * (NUMS * 8 + CONN_WORDS * 4), capacity * ADDR_BYTES),
    };
  });
}

/**
 * An empty strings list whose array kind is already the one its first string makes it: a new `[]`
 * is a list of small integers to V8, and add() compiled for lists of strings was thrown away at
 * the first push into the next batch's list.
 */
function emptyStrs(): PackedFlows['strs'] {
  const strs: PackedFlows['strs'] = [null];
  strs.length = 0;
  return strs;
}

/** A posted batch of packed flows: its slot, how many flows, and their strings (names, classification). */
export interface PackedFlows {
  slot: number;
  count: number;
  strs: (string | string[] | number[] | null)[];
}

/**
 * Packs flows into a free slot of `slots`, one batch at a time: start() takes a free slot (waiting
 * for the writer thread to read one when none is), take() hands the batch on to be posted.
 */
export function createFlowPacker(slots: FlowSlots) {
  const arrays = slotArrays(slots);
  const busy = new Int32Array(slots.busy);
  let slot = -1;
  let count = 0;
  let strs: PackedFlows['strs'] = [];
  /** The slot of the batch last handed on (take). */
  let posted = -1;

  /**
   * Takes the next slot in turn, waiting (at most `waitMs`) until the writer thread has read the
   * batch it held: it reads batches in the order they were posted, so the next slot in turn is
   * the first to come free.
   */
  function start(waitMs: number): void {
    slot = (posted + 1) % slots.count;
    const started = Date.now();
    while (Atomics.load(busy, slot) !== 0) {
      Atomics.wait(busy, slot, 1, 100);
      if (Date.now() - started > waitMs) throw new Error('the store writer thread stopped reading flow batches');
    }
    count = 0;
    strs = emptyStrs();
  }

  const orNaN = (x: number | null): number => (x === null ? NaN : x);

  function packFlow(f: Flow, c: Classification, processSeq: number | null, peerProcessSeq: number | null, effectiveProcessSeq: number | null): void {
    if (slot < 0 || count === slots.capacity) throw new RangeError('no flow batch started, or it is full');
    const batch = arrays[slot];
    const i = count++;
    const n = batch.nums;
    const o = i * NUMS;
    n[o + ID] = f.id;
    n[o + PROTO] = f.proto;
    n[o + IP_VERSION] = f.ipVersion;
    n[o + INITIATOR_PORT] = f.initiatorPort;
    n[o + RESPONDER_PORT] = f.responderPort;
    n[o + IFACE] = f.iface;
    n[o + FIRST_SEEN] = f.firstSeen;
    n[o + LAST_SEEN] = f.lastSeen;
    n[o + PACKETS_OUT] = f.packetsOut;
    n[o + PACKETS_IN] = f.packetsIn;
    n[o + BYTES_OUT] = f.bytesOut;
    n[o + BYTES_IN] = f.bytesIn;
    n[o + PAYLOAD_OUT] = f.payloadOut;
    n[o + PAYLOAD_IN] = f.payloadIn;
    n[o + TCP_STATE] = f.tcpState;
    n[o + MISSED] = missedBytes(f);
    n[o + HTTP_STATUS] = orNaN(f.httpStatus);
    n[o + CONNECT_PORT] = orNaN(f.connectPort);
    n[o + OLLAMA] = c.ollama ? 1 : 0;
    n[o + PROCESS_SEQ] = orNaN(processSeq);
    n[o + PEER_PROCESS_SEQ] = orNaN(peerProcessSeq);
    n[o + EFFECTIVE_PROCESS_SEQ] = orNaN(effectiveProcessSeq);
    n[o + ADDR_LEN] = f.initiatorAddr.length;
    const from = f.at * CONN_WORDS;
    const conn = f.words.conn;
    for (let k = 0; k < CONN_WORDS; k++) batch.conn[i * CONN_WORDS + k] = conn[from + k];
    batch.addrs.set(f.initiatorAddr, i * ADDR_BYTES);
    batch.addrs.set(f.responderAddr, i * ADDR_BYTES + 16);
    strs.push(f.initiatorBy, f.hostname, f.hostnameSource, f.sni, f.alpn, f.httpMethod, f.httpPath, f.httpHost,
      f.connectHost, f.dnsName, c.activity, c.reason, f.ifaces);
  }

  return {
    start,
    add: packFlow,
    /** The batch to post; its slot stays busy until the writer thread has read it. */
    take(): PackedFlows {
      Atomics.store(busy, slot, 1);
      const batch = { slot, count, strs };
      posted = slot;
      slot = -1;
      return batch;
    },
  };
}

/** The writer thread's side: the rows of posted batches, and each slot given back once read. */
export function createFlowUnpacker(slots: FlowSlots) {
  const arrays = slotArrays(slots);
  const busy = new Int32Array(slots.busy);
  return {
    /** Writes rows [from, from + n) of the batch into `out` (INSERT_FLOW's columns, one row after another). */
    rowsInto: (p: PackedFlows, from: number, n: number, out: Row): void => unpackFlowRows(arrays[p.slot], p, from, n, out),
    /** The batch's numbers are read: the capture thread may pack into its slot again (it may be waiting for one). */
    release(p: PackedFlows): void {
      Atomics.store(busy, p.slot, 0);
      Atomics.notify(busy, p.slot);
    },
  };
}

/**
 * The rows of a batch's flows [from, from + n), in INSERT_FLOW's column order one after another in
 * `out`, built as flowRow would from the flows themselves.
 */
function unpackFlowRows(a: SlotArrays, p: PackedFlows, from: number, n: number, out: Row): void {
  const v = view;
  const c = classification;
  const nums = a.nums;
  v.words.conn = a.conn;
  for (let i = from, at = 0; i < from + n; i++, at += FLOW_COLUMNS) {
    const o = i * NUMS;
    const s = i * STRS;
    const len = nums[o + ADDR_LEN];
    v.initiatorAddr = copyAddr(a.addrs, i * ADDR_BYTES, len === 4 ? v4.initiator : v6.initiator);
    v.responderAddr = copyAddr(a.addrs, i * ADDR_BYTES + 16, len === 4 ? v4.responder : v6.responder);
    v.id = nums[o + ID];
    v.proto = nums[o + PROTO];
    v.ipVersion = nums[o + IP_VERSION];
    v.initiatorPort = nums[o + INITIATOR_PORT];
    v.responderPort = nums[o + RESPONDER_PORT];
    v.iface = nums[o + IFACE];
    v.firstSeen = nums[o + FIRST_SEEN];
    v.lastSeen = nums[o + LAST_SEEN];
    v.packetsOut = nums[o + PACKETS_OUT];
    v.packetsIn = nums[o + PACKETS_IN];
    v.bytesOut = nums[o + BYTES_OUT];
    v.bytesIn = nums[o + BYTES_IN];
    v.payloadOut = nums[o + PAYLOAD_OUT];
    v.payloadIn = nums[o + PAYLOAD_IN];
    v.tcpState = nums[o + TCP_STATE];
    v.httpStatus = orNull(nums[o + HTTP_STATUS]);
    v.connectPort = orNull(nums[o + CONNECT_PORT]);
    v.at = i;
    v.communityId = null;
    v.initiatorBy = p.strs[s] as Flow['initiatorBy'];
    v.hostname = p.strs[s + 1] as string | null;
    v.hostnameSource = p.strs[s + 2] as Flow['hostnameSource'];
    v.sni = p.strs[s + 3] as string | null;
    v.alpn = p.strs[s + 4] as string[] | null;
    v.httpMethod = p.strs[s + 5] as string | null;
    v.httpPath = p.strs[s + 6] as string | null;
    v.httpHost = p.strs[s + 7] as string | null;
    v.connectHost = p.strs[s + 8] as string | null;
    v.dnsName = p.strs[s + 9] as string | null;
    c.activity = p.strs[s + 10] as Classification['activity'];
    c.reason = p.strs[s + 11] as string;
    v.ifaces = p.strs[s + 12] as number[] | null;
    c.ollama = nums[o + OLLAMA] === 1;
    flowRowInto(out, at, v, c, nums[o + MISSED], orNull(nums[o + PROCESS_SEQ]), orNull(nums[o + PEER_PROCESS_SEQ]), orNull(nums[o + EFFECTIVE_PROCESS_SEQ]));
  }
}

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** Reused address buffers of the view (flowRowInto reads them before the next flow is unpacked). */
const v4 = { initiator: Buffer.alloc(4), responder: Buffer.alloc(4) };
const v6 = { initiator: Buffer.alloc(16), responder: Buffer.alloc(16) };

function copyAddr(from: Uint8Array, at: number, to: Buffer): Buffer {
  for (let k = 0; k < to.length; k++) to[k] = from[at + k];
  return to;
}

/**
 * One reused object with the fields flowRowInto reads, refilled for each packed flow, made once
 * per thread: a new object per slice was another object whose fields V8 had to learn anew.
 */
function flowView(): FlowRowSource {
  const v: FlowRowSource = {
    id: 0, proto: 0, ipVersion: 4, initiatorAddr: v4.initiator, responderAddr: v4.responder, initiatorPort: 0, responderPort: 0,
    initiatorBy: 'first-packet', iface: 0, firstSeen: 0, lastSeen: 0, packetsOut: 0, packetsIn: 0, bytesOut: 0, bytesIn: 0,
    payloadOut: 0, payloadIn: 0, tcpState: 0, communityId: null, hostname: null, hostnameSource: null, sni: null, alpn: null,
    httpMethod: null, httpPath: null, httpHost: null, httpStatus: null, connectHost: null, connectPort: null, dnsName: null,
    ifaces: null, words: { conn: new Int32Array(CONN_WORDS) }, at: 0,
  };
  // Both kinds of value these two fields take (a null, a small integer) before any code is
  // optimized for the first: a field V8 has seen only null in is kept as an object pointer, and
  // the first status code stored into it threw the writer's compiled row loop away (a deopt and
  // a second compile of the writer's row code, in every import).
  v.httpStatus = 0;
  v.connectPort = 0;
  v.httpStatus = null;
  v.connectPort = null;
  return v;
}

const view = flowView();
const classification: Pick<Classification, 'activity' | 'reason' | 'ollama'> = { activity: 'other', reason: '', ollama: false };
