/**
 * An import's closed flows on their way to its writer thread, as numbers in typed arrays.
 *
 * The capture thread bounds an import's wall time (the writer thread idles about half of it), so
 * it only copies a flow's fields here; the writer thread builds the row (flowRowFrom in
 * session-rows.ts: the address strings, Community ID, conn_state and history) from a view of
 * them. A batch's numbers cross threads as three typed arrays (one copy each), not field by
 * field; only strings (names, classification) go as a plain array.
 */
import type { Classification } from '../classify/classify.js';
import { CONN_WORDS, type Flow } from '../flows/flow.js';
import { flowRowFrom, missedBytes, type FlowRowSource, type Row } from './session-rows.js';

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

/** A batch of packed flows: what the capture thread transfers to the writer thread. */
export interface PackedFlows {
  count: number;
  nums: Float64Array;
  /** Each flow's conn-state row (CONN_WORDS int32, src/flows/conn-state.ts). */
  conn: Int32Array;
  addrs: Uint8Array;
  strs: (string | string[] | number[] | null)[];
}

/**
 * Packs up to `capacity` flows into one batch at a time, in the same arrays each time: a batch is
 * copied when it is posted (structured clone, one copy of each array), then cleared. Fresh arrays
 * per batch, transferred instead, cost more than the copy: V8 counts each new ArrayBuffer as
 * external memory and brought its full garbage collections forward on the capture thread, whose
 * heap holds the flow table (more CPU in the collector's threads than the copy saves).
 */
export function createFlowPacker(capacity: number) {
  const batch: PackedFlows = {
    count: 0, nums: new Float64Array(capacity * NUMS), conn: new Int32Array(capacity * CONN_WORDS),
    addrs: new Uint8Array(capacity * ADDR_BYTES), strs: [],
  };
  const orNaN = (x: number | null): number => (x === null ? NaN : x);

  function add(f: Flow, c: Classification, processSeq: number | null, peerProcessSeq: number | null, effectiveProcessSeq: number | null): void {
    if (batch.count === capacity) throw new RangeError('flow batch full: post and clear() it first');
    const i = batch.count++;
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
    batch.strs.push(f.initiatorBy, f.hostname, f.hostnameSource, f.sni, f.alpn, f.httpMethod, f.httpPath, f.httpHost,
      f.connectHost, f.dnsName, c.activity, c.reason, f.ifaces);
  }

  return {
    add,
    get count(): number {
      return batch.count;
    },
    /** The batch so far, to be posted (copied) before the next add. */
    get batch(): PackedFlows {
      return batch;
    },
    /** Starts the next batch in the same arrays (the last one was copied when posted). */
    clear(): void {
      batch.count = 0;
      batch.strs = [];
    },
  };
}

/** The rows of a batch's flows [from, to), in INSERT_FLOW's column order, built as flowRow would from the flows themselves. */
export function unpackFlowRows(p: PackedFlows, from = 0, to = p.count): Row[] {
  const v = flowView();
  const c: Pick<Classification, 'activity' | 'reason' | 'ollama'> = { activity: 'other', reason: '', ollama: false };
  const rows: Row[] = [];
  v.words.conn = p.conn;
  for (let i = from; i < to; i++) {
    const n = p.nums;
    const o = i * NUMS;
    const s = i * STRS;
    const len = n[o + ADDR_LEN];
    v.initiatorAddr = copyAddr(p.addrs, i * ADDR_BYTES, len === 4 ? v4.initiator : v6.initiator);
    v.responderAddr = copyAddr(p.addrs, i * ADDR_BYTES + 16, len === 4 ? v4.responder : v6.responder);
    v.id = n[o + ID];
    v.proto = n[o + PROTO];
    v.ipVersion = n[o + IP_VERSION];
    v.initiatorPort = n[o + INITIATOR_PORT];
    v.responderPort = n[o + RESPONDER_PORT];
    v.iface = n[o + IFACE];
    v.firstSeen = n[o + FIRST_SEEN];
    v.lastSeen = n[o + LAST_SEEN];
    v.packetsOut = n[o + PACKETS_OUT];
    v.packetsIn = n[o + PACKETS_IN];
    v.bytesOut = n[o + BYTES_OUT];
    v.bytesIn = n[o + BYTES_IN];
    v.payloadOut = n[o + PAYLOAD_OUT];
    v.payloadIn = n[o + PAYLOAD_IN];
    v.tcpState = n[o + TCP_STATE];
    v.httpStatus = orNull(n[o + HTTP_STATUS]);
    v.connectPort = orNull(n[o + CONNECT_PORT]);
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
    c.ollama = n[o + OLLAMA] === 1;
    rows.push(flowRowFrom(v, c, n[o + MISSED], orNull(n[o + PROCESS_SEQ]), orNull(n[o + PEER_PROCESS_SEQ]), orNull(n[o + EFFECTIVE_PROCESS_SEQ])));
  }
  return rows;
}

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** Reused address buffers of the view (flowRowFrom reads them before the next flow is unpacked). */
const v4 = { initiator: Buffer.alloc(4), responder: Buffer.alloc(4) };
const v6 = { initiator: Buffer.alloc(16), responder: Buffer.alloc(16) };

function copyAddr(from: Uint8Array, at: number, to: Buffer): Buffer {
  for (let k = 0; k < to.length; k++) to[k] = from[at + k];
  return to;
}

/** One reused object with the fields flowRowFrom reads, refilled for each packed flow. */
function flowView(): FlowRowSource {
  return {
    id: 0, proto: 0, ipVersion: 4, initiatorAddr: v4.initiator, responderAddr: v4.responder, initiatorPort: 0, responderPort: 0,
    initiatorBy: 'first-packet', iface: 0, firstSeen: 0, lastSeen: 0, packetsOut: 0, packetsIn: 0, bytesOut: 0, bytesIn: 0,
    payloadOut: 0, payloadIn: 0, tcpState: 0, communityId: null, hostname: null, hostnameSource: null, sni: null, alpn: null,
    httpMethod: null, httpPath: null, httpHost: null, httpStatus: null, connectHost: null, connectPort: null, dnsName: null,
    ifaces: null, words: { conn: new Int32Array(CONN_WORDS) }, at: 0,
  };
}
