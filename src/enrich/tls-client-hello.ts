/**
 * Reads the TLS ClientHello at the start of a byte stream (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2):
 * server_name (RFC 6066 §3), ALPN (RFC 7301 §3.1), supported_versions (RFC 8446 §4.2.1).
 *
 * The handshake message may be split over several TLS records and the records over several
 * TCP segments (post-quantum key shares make a ClientHello ~1.8 KB); the caller hands the
 * contiguous stream prefix it has and asks again when more arrives. Every length is checked
 * against what is present before it is followed.
 */

export const TLS_NEED_MORE = 0;
export const TLS_PARSED = 1;
export const TLS_NOT_TLS = 2;
export type TlsParse = typeof TLS_NEED_MORE | typeof TLS_PARSED | typeof TLS_NOT_TLS;

export interface ClientHelloInfo {
  /** server_name host_name, lowercased; null when absent or not a plausible DNS name. */
  sni: string | null;
  /** ALPN protocol names in the client's order; null when the extension is absent. */
  alpn: string[] | null;
  /** TLSPlaintext.legacy_record_version of the first record (0x0301 usually). */
  recordVersion: number;
  /** ClientHello.legacy_version (0x0303 for TLS 1.2 and 1.3). */
  legacyVersion: number;
  /** supported_versions without GREASE values; null when absent. */
  supportedVersions: number[] | null;
}

const REC_HANDSHAKE = 22;
const HS_CLIENT_HELLO = 1;
/** Largest ClientHello read: bigger ones are not worth holding a flow's bytes for. */
export const MAX_CLIENT_HELLO = 16384;
/** RFC 8446 §5.1: a plaintext record holds at most 2^14 bytes. */
const MAX_RECORD = 16384;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

/** Holds a handshake message that spans records; parsing is synchronous, so one suffices. */
const scratch = Buffer.allocUnsafe(MAX_CLIENT_HELLO + 4);

export function newClientHelloInfo(): ClientHelloInfo {
  return { sni: null, alpn: null, recordVersion: 0, legacyVersion: 0, supportedVersions: null };
}

/**
 * Parses the ClientHello in buf[off, end). Fills `out` and returns TLS_PARSED, or
 * TLS_NEED_MORE when the bytes so far are a valid start, or TLS_NOT_TLS.
 */
export function parseClientHello(buf: Buffer, off: number, end: number, out: ClientHelloInfo): TlsParse {
  // Record 1 header: type, version 3.x, length.
  if (end - off < 1) return TLS_NEED_MORE;
  if (buf[off] !== REC_HANDSHAKE) return TLS_NOT_TLS;
  if (end - off < 2) return TLS_NEED_MORE;
  if (buf[off + 1] !== 3) return TLS_NOT_TLS;
  if (end - off < 5) return TLS_NEED_MORE;
  const firstRecLen = buf.readUInt16BE(off + 3);
  if (firstRecLen === 0 || firstRecLen > MAX_RECORD) return TLS_NOT_TLS;
  if (end - off < 9) return TLS_NEED_MORE;
  if (buf[off + 5] !== HS_CLIENT_HELLO) return TLS_NOT_TLS;
  const msgLen = buf.readUIntBE(off + 6, 3);
  if (msgLen < 38 || msgLen > MAX_CLIENT_HELLO) return TLS_NOT_TLS;
  const total = msgLen + 4;
  out.recordVersion = buf.readUInt16BE(off + 1);

  if (firstRecLen >= total) {
    if (end - off - 5 < total) return TLS_NEED_MORE;
    return parseBody(buf, off + 9, off + 5 + total, out);
  }
  // The message spans records: gather the fragments into scratch.
  let have = 0;
  let p = off;
  while (have < total) {
    if (end - p < 5) return TLS_NEED_MORE;
    if (buf[p] !== REC_HANDSHAKE || buf[p + 1] !== 3) return TLS_NOT_TLS;
    const recLen = buf.readUInt16BE(p + 3);
    if (recLen === 0 || recLen > MAX_RECORD) return TLS_NOT_TLS;
    if (end - p - 5 < recLen) return TLS_NEED_MORE;
    const take = Math.min(recLen, total - have);
    buf.copy(scratch, have, p + 5, p + 5 + take);
    have += take;
    p += 5 + recLen;
  }
  return parseBody(scratch, 4, total, out);
}

/** Parses the ClientHello body at buf[p, end) (after the 4-byte handshake header). */
function parseBody(buf: Buffer, p: number, end: number, out: ClientHelloInfo): TlsParse {
  if (end - p < 35) return TLS_NOT_TLS;
  out.legacyVersion = buf.readUInt16BE(p);
  p += 34; // version + random
  const sidLen = buf[p];
  if (sidLen > 32) return TLS_NOT_TLS;
  p += 1 + sidLen;
  if (end - p < 2) return TLS_NOT_TLS;
  const csLen = buf.readUInt16BE(p);
  if (csLen < 2 || (csLen & 1) !== 0) return TLS_NOT_TLS;
  p += 2 + csLen;
  if (end - p < 1) return TLS_NOT_TLS;
  const compLen = buf[p];
  if (compLen < 1) return TLS_NOT_TLS;
  p += 1 + compLen;
  if (p > end) return TLS_NOT_TLS;
  out.sni = null;
  out.alpn = null;
  out.supportedVersions = null;
  if (p === end) return TLS_PARSED; // no extensions (SSLv3-style hello)
  if (end - p < 2) return TLS_NOT_TLS;
  const extEnd = p + 2 + buf.readUInt16BE(p);
  if (extEnd > end) return TLS_NOT_TLS;
  p += 2;
  while (extEnd - p >= 4) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    p += 4;
    if (extEnd - p < len) return TLS_NOT_TLS;
    if (type === EXT_SERVER_NAME) out.sni = readServerName(buf, p, p + len);
    else if (type === EXT_ALPN) out.alpn = readAlpn(buf, p, p + len);
    else if (type === EXT_SUPPORTED_VERSIONS) out.supportedVersions = readVersions(buf, p, p + len);
    p += len;
  }
  return TLS_PARSED;
}

function readServerName(buf: Buffer, p: number, end: number): string | null {
  if (end - p < 2) return null;
  const listEnd = p + 2 + buf.readUInt16BE(p);
  if (listEnd > end) return null;
  p += 2;
  while (listEnd - p >= 3) {
    const nameType = buf[p];
    const len = buf.readUInt16BE(p + 1);
    p += 3;
    if (listEnd - p < len) return null;
    if (nameType === 0) return hostName(buf, p, p + len);
    p += len;
  }
  return null;
}

/** A DNS name in ASCII (IDNs arrive as punycode); anything else is not reported. */
function hostName(buf: Buffer, p: number, end: number): string | null {
  if (end === p || end - p > 253) return null;
  for (let i = p; i < end; i++) {
    const c = buf[i];
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c === 0x2d || c === 0x2e || c === 0x5f;
    if (!ok) return null;
  }
  return buf.toString('latin1', p, end).toLowerCase();
}

function readAlpn(buf: Buffer, p: number, end: number): string[] | null {
  if (end - p < 2) return null;
  const listEnd = p + 2 + buf.readUInt16BE(p);
  if (listEnd > end) return null;
  p += 2;
  const names: string[] = [];
  while (p < listEnd) {
    const len = buf[p];
    p += 1;
    if (len === 0 || listEnd - p < len) return null;
    names.push(buf.toString('latin1', p, p + len));
    p += len;
  }
  return names;
}

function readVersions(buf: Buffer, p: number, end: number): number[] | null {
  if (end - p < 1) return null;
  const len = buf[p];
  p += 1;
  if (end - p < len || (len & 1) !== 0) return null;
  const versions: number[] = [];
  for (let i = 0; i < len; i += 2) {
    const v = buf.readUInt16BE(p + i);
    // GREASE (RFC 8701): 0x0a0a, 0x1a1a, ... are noise by design.
    if ((v & 0x0f0f) !== 0x0a0a) versions.push(v);
  }
  return versions;
}
