/**
 * HTTP/1.x message heads (RFC 9112): request line, status line, and the few header fields
 * naming and body-skipping need (Host, User-Agent, Location, Content-Length, Transfer-Encoding).
 * Parsers work on a Buffer range and are re-run from the message start whenever more bytes
 * arrive (heads are small and bounded by the stream-head budget). Bodies are only skipped:
 * they hold users' prompts and are never turned into strings.
 */

export const HTTP_NEED_MORE = 0;
export const HTTP_OK = 1;
export const HTTP_BAD = 2;
export type HttpParse = typeof HTTP_NEED_MORE | typeof HTTP_OK | typeof HTTP_BAD;

export const MAX_PATH = 512;
const MAX_UA = 256;
const MAX_HOST = 255;
const MAX_LOCATION = 2048;

/** Methods that mark a stream as HTTP/1.x when they open it (RFC 9110 §9, RFC 5789). */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']
  .map((m) => Buffer.from(m + ' ', 'latin1'));

/** Fields common to request and response heads. */
interface HeadFields {
  /** Offset just after the blank line that ends the head. */
  headEnd: number;
  version: string;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
}

export interface RequestHead extends HeadFields {
  method: string;
  target: string;
  host: string | null;
  userAgent: string | null;
}

export interface ResponseHead extends HeadFields {
  status: number;
  location: string | null;
}

export function newRequestHead(): RequestHead {
  return { headEnd: 0, version: '', contentLength: -1, chunked: false, method: '', target: '', host: null, userAgent: null };
}

export function newResponseHead(): ResponseHead {
  return { headEnd: 0, version: '', contentLength: -1, chunked: false, status: 0, location: null };
}

/** Does buf[off, end) open with a known method and a space? 0 need more, 1 yes, 2 no. */
export function startsWithMethod(buf: Buffer, off: number, end: number): HttpParse {
  // A byte loop, not Buffer.compare: this runs on the first segment of every TCP flow, and the
  // native call's argument checks cost more than the comparison.
  let maybe = false;
  for (let k = 0; k < METHODS.length; k++) {
    const m = METHODS[k];
    const n = Math.min(m.length, end - off);
    let i = 0;
    while (i < n && buf[off + i] === m[i]) i++;
    if (i < n) continue;
    if (n === m.length) return HTTP_OK;
    maybe = true;
  }
  return maybe ? HTTP_NEED_MORE : HTTP_BAD;
}

export function parseRequestHead(buf: Buffer, off: number, end: number, out: RequestHead): HttpParse {
  // Refuse early what cannot open a request line: without this, bytes after the last request
  // of a connection (a body we could not frame, another protocol) would be rescanned for a
  // blank line with every segment until the head budget fills.
  if (!couldBeMethod(buf, off, end)) return HTTP_BAD;
  const headEnd = findHeadEnd(buf, off, end);
  if (headEnd < 0) return HTTP_NEED_MORE;
  const lineEnd = lineEndAt(buf, off, headEnd);
  if (!isRequestLine(buf, off, lineEnd)) return HTTP_BAD;
  const sp1 = indexOfByte(buf, 0x20, off, lineEnd);
  const sp2 = indexOfByte(buf, 0x20, sp1 + 1, lineEnd);
  const verEnd = trimCr(buf, sp2 + 1, lineEnd);
  out.method = buf.toString('latin1', off, sp1);
  out.target = buf.toString('latin1', sp1 + 1, Math.min(sp2, sp1 + 1 + MAX_PATH));
  out.version = buf.toString('latin1', sp2 + 1, verEnd);
  out.host = null;
  out.userAgent = null;
  out.headEnd = headEnd;
  return readFields(buf, lineEnd + 1, headEnd, out, out) ? HTTP_OK : HTTP_BAD;
}

export function parseResponseHead(buf: Buffer, off: number, end: number, out: ResponseHead): HttpParse {
  // Refuse early what cannot be a status line, rather than waiting for a blank line.
  const n = Math.min(5, end - off);
  for (let i = 0; i < n; i++) if (buf[off + i] !== HTTP_SLASH[i]) return HTTP_BAD;
  const headEnd = findHeadEnd(buf, off, end);
  if (headEnd < 0) return HTTP_NEED_MORE;
  const lineEnd = lineEndAt(buf, off, headEnd);
  if (!isStatusLine(buf, off, lineEnd)) return HTTP_BAD;
  const sp1 = indexOfByte(buf, 0x20, off, lineEnd);
  const status = digits(buf, sp1 + 1, sp1 + 4);
  out.version = buf.toString('latin1', off, sp1);
  out.status = status;
  out.location = null;
  out.headEnd = headEnd;
  return readFields(buf, lineEnd + 1, headEnd, null, out) ? HTTP_OK : HTTP_BAD;
}

/** `method SP target SP HTTP/1.x` in buf[off, lineEnd) (lineEnd: the LF, or the end). */
function isRequestLine(buf: Buffer, off: number, lineEnd: number): boolean {
  const sp1 = indexOfByte(buf, 0x20, off, lineEnd);
  if (sp1 <= off || !isToken(buf, off, sp1)) return false;
  const sp2 = indexOfByte(buf, 0x20, sp1 + 1, lineEnd);
  if (sp2 <= sp1 + 1) return false;
  return isHttp1Version(buf, sp2 + 1, trimCr(buf, sp2 + 1, lineEnd));
}

/** `HTTP/1.x SP 3DIGIT [SP reason]` in buf[off, lineEnd). */
function isStatusLine(buf: Buffer, off: number, lineEnd: number): boolean {
  const sp1 = indexOfByte(buf, 0x20, off, lineEnd);
  if (sp1 < 0 || !isHttp1Version(buf, off, sp1) || lineEnd - sp1 < 4) return false;
  const status = digits(buf, sp1 + 1, sp1 + 4);
  if (status < 100 || status > 599) return false;
  const after = buf[sp1 + 4];
  return after === 0x20 || after === 0x0d || after === 0x0a || sp1 + 4 === lineEnd;
}

/** Longest start line opensHttpMessage waits for (a request line holds the path, up to a few KiB). */
const MAX_START_LINE = 8192;

/**
 * Do the first bytes of one direction of a connection, buf[off, end), open an HTTP/1.x message?
 * Yes when they hold a whole request or status line; when the line goes on past `end` (a head
 * split across segments), when they already show a known method and a space, or `HTTP/`.
 * Used where bytes are kept only if they are HTTP (src/store/evidence-policy.ts).
 */
export function opensHttpMessage(buf: Buffer, off: number, end: number): boolean {
  const lf = indexOfByte(buf, 0x0a, off, Math.min(end, off + MAX_START_LINE));
  if (lf >= 0) return isRequestLine(buf, off, lf) || isStatusLine(buf, off, lf);
  if (end - off >= MAX_START_LINE) return false;
  if (startsWithMethod(buf, off, end) === HTTP_OK) return true;
  if (end - off < HTTP_SLASH.length) return false;
  for (let i = 0; i < HTTP_SLASH.length; i++) if (buf[off + i] !== HTTP_SLASH[i]) return false;
  return true;
}

/**
 * Chunked bodies (RFC 9112 §7.1), one piece at a time so that a body of any length can be
 * skipped through a small window: the size line (`chunkSize`), the CRLF after the data
 * (`chunkDataEnd`), and the trailer section after the last chunk (`trailerEnd`). Each returns
 * the offset after its piece, -1 when more bytes are needed, -2 when the framing is broken.
 */
export const CHUNK_NEED_MORE = -1;
export const CHUNK_BAD = -2;

/** Reads `size[;ext]CRLF` at off; the size goes to out.size. */
export function chunkSize(buf: Buffer, off: number, end: number, out: { size: number }): number {
  const lf = indexOfByte(buf, 0x0a, off, end);
  if (lf < 0) return end - off > 1024 ? CHUNK_BAD : CHUNK_NEED_MORE;
  let size = 0;
  let nd = 0;
  for (let i = off; i < lf; i++) {
    const v = hexValue(buf[i]);
    if (v < 0) break;
    if (++nd > 12) return CHUNK_BAD;
    size = size * 16 + v;
  }
  if (nd === 0) return CHUNK_BAD;
  out.size = size;
  return lf + 1;
}

/** The CRLF (or a bare LF) that ends a chunk's data. */
export function chunkDataEnd(buf: Buffer, off: number, end: number): number {
  if (off >= end) return CHUNK_NEED_MORE;
  if (buf[off] === 0x0a) return off + 1;
  if (buf[off] !== 0x0d) return CHUNK_BAD;
  if (off + 1 >= end) return CHUNK_NEED_MORE;
  return buf[off + 1] === 0x0a ? off + 2 : CHUNK_BAD;
}

/** Trailer field lines up to and including the empty line. */
export function trailerEnd(buf: Buffer, off: number, end: number): number {
  let p = off;
  for (;;) {
    const tl = indexOfByte(buf, 0x0a, p, end);
    if (tl < 0) return end - off > 8192 ? CHUNK_BAD : CHUNK_NEED_MORE;
    const empty = tl === p || (tl === p + 1 && buf[p] === 0x0d);
    p = tl + 1;
    if (empty) return p;
  }
}

const HTTP_SLASH = Buffer.from('HTTP/', 'latin1');

/** Reads header lines in [p, headEnd); `req` gets Host/User-Agent, `msg` framing and Location. */
function readFields(buf: Buffer, p: number, headEnd: number, req: RequestHead | null, msg: RequestHead | ResponseHead): boolean {
  msg.contentLength = -1;
  msg.chunked = false;
  while (p < headEnd) {
    const lf = lineEndAt(buf, p, headEnd);
    const le = trimCr(buf, p, lf);
    if (le === p) break; // the blank line
    const colon = indexOfByte(buf, 0x3a, p, le);
    if (colon > p) {
      const vs = skipOws(buf, colon + 1, le);
      const ve = trimOws(buf, vs, le);
      if (!readField(buf, p, colon, vs, ve, req, msg)) return false;
    }
    p = lf + 1;
  }
  return true;
}

function readField(buf: Buffer, ns: number, ne: number, vs: number, ve: number,
  req: RequestHead | null, msg: RequestHead | ResponseHead): boolean {
  if (nameIs(buf, ns, ne, 'content-length')) {
    const n = digits(buf, vs, ve);
    if (n < 0 || (msg.contentLength >= 0 && msg.contentLength !== n)) return false;
    msg.contentLength = n;
  } else if (nameIs(buf, ns, ne, 'transfer-encoding')) {
    // Chunked only counts when it is the final coding (RFC 9112 §6.3).
    msg.chunked = ve - vs >= 7 && buf.toString('latin1', ve - 7, ve).toLowerCase() === 'chunked';
  } else if (req !== null && nameIs(buf, ns, ne, 'host')) {
    if (ve - vs <= MAX_HOST) req.host = buf.toString('latin1', vs, ve).toLowerCase();
  } else if (req !== null && nameIs(buf, ns, ne, 'user-agent')) {
    req.userAgent = buf.toString('latin1', vs, Math.min(ve, vs + MAX_UA));
  } else if (req === null && nameIs(buf, ns, ne, 'location')) {
    (msg as ResponseHead).location = buf.toString('latin1', vs, Math.min(ve, vs + MAX_LOCATION));
  }
  return true;
}

/** Offset after the blank line ending the head, or -1 when it is not in [off, end). */
function findHeadEnd(buf: Buffer, off: number, end: number): number {
  let p = off;
  for (;;) {
    const lf = indexOfByte(buf, 0x0a, p, end);
    if (lf < 0) return -1;
    if (lf === p && p > off) return lf + 1;                          // LF LF
    if (lf === p + 1 && buf[p] === 0x0d && p > off) return lf + 1;  // CRLF CRLF
    p = lf + 1;
  }
}

function lineEndAt(buf: Buffer, p: number, end: number): number {
  const lf = indexOfByte(buf, 0x0a, p, end);
  return lf < 0 ? end : lf;
}

function indexOfByte(buf: Buffer, b: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === b) return i;
  return -1;
}

function trimCr(buf: Buffer, s: number, e: number): number {
  return e > s && buf[e - 1] === 0x0d ? e - 1 : e;
}

function skipOws(buf: Buffer, s: number, e: number): number {
  while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
  return s;
}

function trimOws(buf: Buffer, s: number, e: number): number {
  while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
  return e;
}

/** Case-insensitive compare of buf[s, e) with a lowercase ASCII name. */
function nameIs(buf: Buffer, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    if ((buf[s + i] | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** Decimal value of buf[s, e), or -1 when empty, not all digits, or too long. */
function digits(buf: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Value of an ASCII hex digit, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** RFC 9110 tchar, which is what a method token is made of. */
const TCHAR = new Uint8Array(128);
for (const c of '!#$%&\'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') TCHAR[c.charCodeAt(0)] = 1;

/** Longest method token we accept (the registered ones have at most 17 characters). */
const MAX_METHOD = 32;

/** False when buf[off, end) already shows it does not start with `token SP`. */
function couldBeMethod(buf: Buffer, off: number, end: number): boolean {
  const stop = Math.min(end, off + MAX_METHOD + 1);
  for (let i = off; i < stop; i++) {
    const c = buf[i];
    if (c === 0x20) return i > off;
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return stop - off <= MAX_METHOD;
}

function isToken(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    if (buf[i] >= 128 || TCHAR[buf[i]] === 0) return false;
  }
  return true;
}

function isHttp1Version(buf: Buffer, s: number, e: number): boolean {
  if (e - s !== 8) return false;
  for (let i = 0; i < 5; i++) if (buf[s + i] !== HTTP_SLASH[i]) return false;
  return buf[s + 5] === 0x31 && buf[s + 6] === 0x2e && buf[s + 7] >= 0x30 && buf[s + 7] <= 0x39;
}
