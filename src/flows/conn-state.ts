import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/decoded.js';
import { CONN_WORDS, DIR_IN, DIR_OUT, type Flow, type FlowWords } from './flow.js';

/**
 * What conn_state and history are read from: a Flow, or the import's writer thread's view of a
 * flow sent to it as numbers (src/store/flow-pack.ts), whose conn row is in the batch's array.
 */
export type ConnSource = Pick<Flow, 'proto' | 'packetsOut' | 'packetsIn' | 'payloadOut' | 'payloadIn' | 'at'> & { words: Pick<FlowWords, 'conn'> };

/**
 * Zeek's connection state (`conn_state`) and `history` for every flow, after the definitions in
 * Zeek's base/protocols/conn/main.zeek and its TCP endpoint state machine (our own code: ideas,
 * not a port). "Orig" is our initiator, "resp" our responder.
 *
 * Per packet this is a few integer operations on the flow's row of Flow.words.conn (CONN_WORDS
 * int32, in the flow table's arrays while the flow is open); the strings are built only when a row
 * is written (connStateOf, historyOf).
 *
 * The row's layout:
 *  [0] both TCP endpoints' states (3 bits each, orig at bit 0, resp at bit 3) and, per endpoint,
 *      a bit "it was CLOSED when it sent its RST" (Zeek's prev_state check: FIN then RST is normal
 *      termination once the peer's FIN follows);
 *  [1] history letters seen: bit (dir * 12 + letter);
 *  [2..5] the order they were first seen: 5-bit codes (dir * 12 + letter + 1), six to a word.
 *
 * History rule (simpler than Zeek's, documented in README): each letter is recorded once per
 * direction, at its first occurrence. Zeek repeats s/h/f/r when the sequence number differs and
 * c/g/t/w at 10, 100, ... occurrences; we never repeat. 'c' (bad checksum) is never recorded:
 * checksums are not verified (a capture on the sending host sees offloaded, unfilled checksums);
 * '^' (direction flipped) neither: the initiator is decided at the flow's first packet and kept
 * (flows --json `initiator_by` says how).
 */
// TCP endpoint states (Zeek's TCP_ENDPOINT_*).
const INACTIVE = 0;
const SYN_SENT = 1;
const SYN_ACK_SENT = 2;
const PARTIAL = 3;
const ESTABLISHED = 4;
const CLOSED = 5;
const RESET = 6;
const CLOSED_BEFORE_RESET = 1 << 6; // << dir

// History letters (index into LETTERS).
export const H_SYN = 0;       // s: SYN without ACK
export const H_SYNACK = 1;    // h: SYN+ACK
export const H_ACK = 2;       // a: pure ACK
export const H_DATA = 3;      // d: packet with payload
export const H_FIN = 4;       // f: FIN
export const H_RST = 5;       // r: RST
export const H_GAP = 7;       // g: content gap (acknowledged data the capture never saw)
export const H_RETRANS = 8;   // t: retransmitted payload
export const H_ZEROWIN = 9;   // w: zero window advertised
export const H_FINRST = 10;   // i: inconsistent packet (FIN+RST)
export const H_MULTI = 11;    // q: multi-flag packet (SYN+FIN or SYN+RST)
const LETTERS = 'SHADFRCGTWIQ';
const PER_DIR = 12;
const CODES_PER_WORD = 6;

/** Records a history letter for the packet's direction, once (its first occurrence). */
export function addHistory(f: Flow, dir: number, letter: number): void {
  addHistoryAt(f.words.conn, f.at * CONN_WORDS, dir, letter);
}

function addHistoryAt(c: Int32Array, o: number, dir: number, letter: number): void {
  if (letter < 0) return;
  const idx = dir * PER_DIR + letter;
  const bit = 1 << idx;
  const seen = c[o + 1];
  if ((seen & bit) !== 0) return;
  const n = popcount(seen);
  c[o + 1] = seen | bit;
  c[o + 2 + ((n / CODES_PER_WORD) | 0)] |= (idx + 1) << (5 * (n % CODES_PER_WORD));
}

/**
 * One TCP packet of the flow whose row is `at` of `words` (after the flow table counted it):
 * history letters and endpoint states. By row, not by Flow: a half-open flow the table holds
 * without a Flow object (flow-table.ts) is tracked the same way.
 */
export function trackTcpConn(words: FlowWords, at: number, dir: number, flags: number, payloadLen: number, window: number): void {
  const c = words.conn;
  const o = at * CONN_WORDS;
  const key = controlKey(flags);
  // The letter by table, not by a chain of tests: a test first passed after V8 had compiled
  // this code (an import's first FIN) threw away the flow table's compiled per-packet code.
  addHistoryAt(c, o, dir, LETTER_BY_KEY[key | (payloadLen > 0 ? WITH_PAYLOAD : 0)]);
  // A zero window matters only while the sender may still receive: not with or after its RST,
  // nor once the peer has closed (Zeek's rule).
  if (window === 0 && (flags & TCP_RST) === 0 && stateOf(c[o], dir) !== RESET && stateOf(c[o], 1 - dir) !== CLOSED) {
    addHistoryAt(c, o, dir, H_ZEROWIN);
  }
  const w = c[o];
  // Without SYN, FIN or RST a packet moves its sender's endpoint only out of INACTIVE
  // (nextEndpoints): most packets of a flow end here. The sender's state is read and tested for
  // every packet, also a SYN: done only after the flags test, it first ran with a capture's first
  // data or ack, after V8 had compiled this function, which was thrown away for it.
  const senderActive = stateOf(w, dir) !== INACTIVE;
  if ((key & (KEY_SYN | KEY_FIN | KEY_RST)) === 0 && senderActive) return;
  c[o] = nextEndpoints(w, dir, flags, payloadLen);
}

/** A packet's TCP control flags as 0..15 (KEY_*). */
export function controlKey(flags: number): number {
  return (flags & (TCP_FIN | TCP_SYN | TCP_RST)) | ((flags & TCP_ACK) >> 1);
}
export const KEY_FIN = TCP_FIN;
export const KEY_SYN = TCP_SYN;
export const KEY_RST = TCP_RST;
export const KEY_ACK = TCP_ACK >> 1;
const WITH_PAYLOAD = 16;

/** The history letter of a TCP packet (-1: none): its control flags' letter, else data's, else a pure ACK's. */
function letterOf(key: number, payload: boolean): number {
  const syn = (key & KEY_SYN) !== 0;
  const fin = (key & KEY_FIN) !== 0;
  const rst = (key & KEY_RST) !== 0;
  const controls = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (controls > 1) return fin && rst ? H_FINRST : H_MULTI;
  if (syn) return (key & KEY_ACK) !== 0 ? H_SYNACK : H_SYN;
  if (fin) return H_FIN;
  if (rst) return H_RST;
  if (payload) return H_DATA;
  return (key & KEY_ACK) !== 0 ? H_ACK : -1;
}

/** letterOf for every control key, without payload (0..15) and with it (16..31). */
const LETTER_BY_KEY = Int8Array.from({ length: 2 * WITH_PAYLOAD }, (_, i) => letterOf(i & 15, i >= WITH_PAYLOAD));

/** One packet of a non-TCP flow: 'd' when it carries payload (as Zeek's UDP history). */
export function trackOtherConn(f: Flow, dir: number, payloadLen: number): void {
  trackOtherConnAt(f.words, f.at, dir, payloadLen);
}

/** trackOtherConn by row (a flow the table holds without a Flow object, flow-table.ts). */
export function trackOtherConnAt(words: FlowWords, at: number, dir: number, payloadLen: number): void {
  if (payloadLen > 0) addHistoryAt(words.conn, at * CONN_WORDS, dir, H_DATA);
}

function stateOf(w: number, dir: number): number {
  return (w >>> (3 * dir)) & 7;
}

/**
 * The two endpoints' states after a packet from `dir`, per Zeek's TCP endpoint state machine:
 * a SYN makes the initiator SYN_SENT; the responder's SYN-ACK makes both ESTABLISHED; FIN makes
 * the sender CLOSED, RST RESET; traffic without a handshake makes an endpoint PARTIAL.
 */
function nextEndpoints(w: number, dir: number, flags: number, len: number): number {
  const syn = (flags & TCP_SYN) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  const other = 1 - dir;
  const before = stateOf(w, dir);
  let e = before;
  let p = stateOf(w, other);
  // Tested here, for every call, not first at a capture's first FIN of an established side (after
  // V8 had compiled this function, which was thrown away for it): p is not changed before its use.
  const peerReset = p === RESET;
  switch (e) {
    case INACTIVE:
      if (syn) {
        if (dir === DIR_OUT) e = ack ? SYN_ACK_SENT : SYN_SENT;
        else {
          if (p === SYN_SENT) p = ESTABLISHED;
          e = ESTABLISHED;
        }
      }
      if (fin) e = CLOSED;
      if (rst) e = RESET;
      if (e === INACTIVE) {
        // Some stacks ACK a SYN before their SYN-ACK: that ACK does not make the connection partial.
        const earlyAck = dir === DIR_IN && len === 0 && p === SYN_SENT;
        if (!earlyAck) e = ack && p === ESTABLISHED ? ESTABLISHED : PARTIAL;
      }
      break;
    case SYN_SENT:
    case SYN_ACK_SENT:
      if (fin) e = CLOSED;
      if (rst) e = RESET;
      break;
    case ESTABLISHED:
    case PARTIAL:
      if (syn && !ack && e === PARTIAL && p === INACTIVE) e = SYN_SENT;
      if (fin && !rst) {
        e = CLOSED;
        // The peer sent FIN then RST, and now this side's FIN: a normal termination after all.
        if (peerReset && (w & (CLOSED_BEFORE_RESET << other)) !== 0) p = CLOSED;
      }
      if (rst) e = RESET;
      break;
    case CLOSED:
      if (rst && p !== CLOSED) e = RESET;
      break;
    default:
      break;
  }
  let out = w & ~(0x3f | (CLOSED_BEFORE_RESET << dir));
  if (before === CLOSED && e === RESET) out |= CLOSED_BEFORE_RESET << dir;
  else out |= w & (CLOSED_BEFORE_RESET << dir);
  return out | (e << (3 * dir)) | (p << (3 * other));
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The history string: letters in order of first occurrence, upper case from the initiator. */
export function historyOf(f: ConnSource): string {
  const c = f.words.conn;
  const o = f.at * CONN_WORDS;
  let s = '';
  for (let n = 0; n < 2 * PER_DIR; n++) {
    const code = (c[o + 2 + ((n / CODES_PER_WORD) | 0)] >>> (5 * (n % CODES_PER_WORD))) & 31;
    if (code === 0) break;
    const idx = code - 1;
    const letter = LETTERS[idx % PER_DIR];
    s += idx < PER_DIR ? letter : letter.toLowerCase();
  }
  return s;
}

export type ConnState = 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

/**
 * Zeek's conn_state of the flow as it stands (an open flow gets its state so far).
 * TCP: from the endpoint states, as Zeek decides it. Every other protocol as Zeek decides UDP:
 * SF both directions seen, S0 only the initiator's, SHR only the responder's. (Zeek gives ICMP
 * "OTH" always; we give it UDP's states, because "was it answered" is what an air-gap check asks.)
 */
export function connStateOf(f: ConnSource): ConnState {
  // Looked up for every flow, used for all but TCP: as a branch of its own it was first run at the
  // first closed flow of another protocol (in an import often the capture's end, when UDP flows
  // close), after V8 had compiled the row code for TCP flows only, and threw that code away.
  const other = OTHER_STATES[(f.packetsOut > 0 ? 1 : 0) | (f.packetsIn > 0 ? 2 : 0)];
  if (f.proto !== 6) return other;
  const w = f.words.conn[f.at * CONN_WORDS];
  const os = stateOf(w, DIR_OUT);
  const rs = stateOf(w, DIR_IN);
  const oInactive = os === INACTIVE || os === PARTIAL;
  const rInactive = rs === INACTIVE || rs === PARTIAL;
  if (rs === RESET) {
    if (os === SYN_SENT || os === SYN_ACK_SENT || (os === RESET && f.payloadOut === 0 && f.payloadIn === 0)) return 'REJ';
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === RESET) {
    if (!rInactive) return 'RSTO';
    return /^S[^HAFGIQ]*R/.test(historyOf(f)) ? 'RSTOS0' : 'OTH';
  }
  if (os === CLOSED && rs === CLOSED) return 'SF';
  if (os === CLOSED) return rInactive ? 'SH' : 'S2';
  if (rs === CLOSED) return oInactive ? 'SHR' : 'S3';
  if (os === SYN_SENT && rs === INACTIVE) return 'S0';
  if (os === ESTABLISHED && rs === ESTABLISHED) return 'S1';
  return 'OTH';
}

/** A flow not TCP, by the directions it has packets from (1: the initiator's, 2: the responder's). */
const OTHER_STATES: readonly ConnState[] = ['OTH', 'S0', 'SHR', 'SF'];

/** Was the flow answered at all, and how: the three outcomes an air-gap report tells apart. */
export type ConnOutcome = 'unanswered' | 'rejected' | 'connected';

/**
 * - unanswered: nothing came back (S0, SH, RSTOS0; UDP/ICMP S0; any flow without a packet from the responder);
 * - rejected: the responder refused the attempt (REJ: a RST to the SYN);
 * - connected: anything else (the responder answered: a handshake or data came back).
 * Null when the state is unknown (a row stored before conn_state was recorded).
 */
export function connOutcome(state: string | null, packetsIn: number): ConnOutcome | null {
  if (state === null) return null;
  if (state === 'REJ') return 'rejected';
  if (state === 'S0' || state === 'SH' || state === 'RSTOS0' || packetsIn === 0) return 'unanswered';
  return 'connected';
}

