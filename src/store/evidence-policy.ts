/**
 * How much of each packet the evidence files keep (`--evidence full|head|none`).
 *
 * head (the default) keeps whole packets for the first 16 KiB of payload in each direction of a
 * flow, which holds handshakes, SNI and request lines, and only the headers up to the end of the
 * transport header after that: a multi-GB model pull then costs ~60 bytes per packet.
 *
 * On the Ollama API port (11434 and configured ports, either end) bodies are never kept, under
 * any policy: they hold users' prompts and the model's answers. Each direction keeps its first
 * HTTP head (start line + headers, through the first CRLFCRLF) and only headers after it.
 * Later requests on a keep-alive connection are cut to headers too: finding where a body ends
 * (Content-Length, chunked framing, retransmissions) is a parser, and a parser that slips
 * would store a prompt. The http table in the store records every request line anyway.
 *
 * The same rule covers every TCP flow between two loopback addresses: the server talks to its
 * runner (`POST /completion` on an ephemeral port) and local clients talk to the API over
 * loopback, all in plain HTTP with the prompt in the body, on ports no list can name.
 *
 * There, a direction whose first bytes do not open an HTTP message (a request or status line:
 * enrich/http.ts opensHttpMessage) is not HTTP we can cut at a head's end: a client writing a
 * prompt as raw bytes, TLS, another protocol. It keeps headers only, from its first packet on,
 * under every policy (`full` too).
 */
import { IPPROTO, type Decoded } from '../decode/decoded.js';
import type { Packet } from '../capture/packet.js';
import { opensHttpMessage } from '../enrich/http.js';
import type { EvidencePolicy } from '../settings.js';

/** Payload bytes per direction kept whole under `head`. */
export const HEAD_BYTES = 16 * 1024;

/** An HTTP head longer than this is not HTTP we understand: cut the rest as if it were body. */
export const MAX_HTTP_HEAD_BYTES = 16 * 1024;

/**
 * Per-flow state, one small object per flow (see newEvidenceFlowState), indexed by direction
 * (DIR_OUT 0, DIR_IN 1).
 */
export interface EvidenceFlowState {
  /** Transport payload bytes seen so far in each direction (headers' lengths). */
  payload: [number, number];
  /** API port: true once the direction's HTTP head has ended; everything after is body. */
  headDone: [boolean, boolean];
  /** API port: the direction's first captured payload has been checked to open an HTTP message. */
  opened: [boolean, boolean];
  /** API port: how many bytes of "\r\n\r\n" the direction's previous packet ended with (0..3). */
  crlfMatched: [number, number];
  /** -1 not known yet; 1 both ends loopback (bodies never kept); 0 otherwise. Decided at the first packet. */
  loopback: number;
}

export function newEvidenceFlowState(): EvidenceFlowState {
  return { payload: [0, 0], headDone: [false, false], opened: [false, false], crlfMatched: [0, 0], loopback: -1 };
}

/**
 * Bytes of `pkt` to keep, counted from pkt.off (0: write nothing; pkt.caplen: all of it), for a
 * packet that decodePacket decoded into `d` and the flow table gave direction `dir`.
 * Advances `st` by this packet, so call it exactly once per packet, in capture order.
 */
export function keepBytes(
  policy: EvidencePolicy, st: EvidenceFlowState, dir: number, pkt: Packet, d: Decoded, apiPorts: readonly number[],
): number {
  if (policy === 'none') return 0;
  const headers = headerBytes(pkt, d);
  if (st.loopback === -1) st.loopback = bothLoopback(pkt.buf, d) ? 1 : 0;
  if (st.loopback === 1 || isApiPacket(d, apiPorts)) return keepApi(st, dir, pkt, d, headers);
  const before = st.payload[dir];
  st.payload[dir] = before + d.payloadWireLen;
  if (policy === 'full' || before < HEAD_BYTES) return pkt.caplen;
  return headers;
}

/** Bytes from pkt.off to the end of the transport header (the payload start), within the capture. */
function headerBytes(pkt: Packet, d: Decoded): number {
  const n = d.payloadOff - pkt.off;
  return n < 0 ? 0 : n > pkt.caplen ? pkt.caplen : n;
}

/** 127/8 or ::1 at both ends (read in place: this runs once per flow). */
function bothLoopback(buf: Buffer, d: Decoded): boolean {
  return isLoopbackAt(buf, d.srcOff, d.addrLen) && isLoopbackAt(buf, d.dstOff, d.addrLen);
}

function isLoopbackAt(buf: Buffer, off: number, len: number): boolean {
  if (len === 4) return buf[off] === 127;
  for (let i = 0; i < 15; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 15] === 1;
}

export function isApiPacket(d: Decoded, apiPorts: readonly number[]): boolean {
  for (let i = 0; i < apiPorts.length; i++) {
    if (d.srcPort === apiPorts[i] || d.dstPort === apiPorts[i]) return true;
  }
  return false;
}

/**
 * API port: the direction's first HTTP head whole, then headers only. Non-TCP: headers only.
 * A later IP fragment too: its bytes are the middle of a segment no head parser can place.
 * A direction whose first payload does not open an HTTP message: headers only throughout.
 */
function keepApi(st: EvidenceFlowState, dir: number, pkt: Packet, d: Decoded, headers: number): number {
  const before = st.payload[dir];
  st.payload[dir] = before + d.payloadWireLen;
  if (d.proto !== IPPROTO.TCP || d.fragment === 2 || st.headDone[dir] || d.payloadLen === 0) return headers;
  if (!st.opened[dir]) {
    // Checked on the first packet with captured payload, whatever came before it (a segment
    // the capture cut to its headers cannot vouch for the next one).
    st.opened[dir] = true;
    if (!opensHttpMessage(pkt.buf, d.payloadOff, d.payloadOff + d.payloadLen)) {
      st.headDone[dir] = true;
      return headers;
    }
  }
  const end = headEnd(st, dir, pkt.buf, d.payloadOff, d.payloadLen);
  if (end >= 0) {
    st.headDone[dir] = true;
    return end - pkt.off;
  }
  if (before + d.payloadLen > MAX_HTTP_HEAD_BYTES) {
    st.headDone[dir] = true;
    return headers;
  }
  return headers + d.payloadLen;
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * Buffer offset just past the CRLFCRLF that ends the head, or -1 when this packet does not end
 * it. The match may have begun in the direction's previous packet (st.crlfMatched).
 */
function headEnd(st: EvidenceFlowState, dir: number, buf: Buffer, off: number, len: number): number {
  let m = st.crlfMatched[dir];
  const end = off + len;
  for (let i = off; i < end; i++) {
    const want = (m & 1) === 0 ? CR : LF;
    const c = buf[i];
    if (c === want) m++;
    else m = c === CR ? 1 : 0;
    if (m === 4) {
      st.crlfMatched[dir] = 0;
      return i + 1;
    }
  }
  st.crlfMatched[dir] = m;
  return -1;
}
