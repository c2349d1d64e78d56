/**
 * One HTTP/1.x connection seen from its two stream heads: requests from the initiator,
 * responses from the responder, matched in order (RFC 9112 §9.3: responses come back in
 * request order). Emits one HttpRecord per request and fills the flow's http* and connect*
 * fields from the first request.
 *
 * Every message of a keep-alive connection is read: bodies are skipped by Content-Length or
 * chunked framing without being kept, and each direction's window slides past what was read
 * (stream-head.ts headSlide), so a head only has to fit the window (16 KiB), never the whole
 * connection. A direction stops being read when its framing breaks, a head outgrows the window,
 * a body runs to the end of the connection, or the connection switches protocol; and it stalls
 * at a gap the capture never fills (a lost segment).
 *
 * A request to a model route on the API port (knowledge/model-names.ts) has its body read by the
 * model scanner (json-model.ts) up to its model field, at most MODEL_SCAN_LIMIT bytes, and the rest
 * skipped as usual: the record gets the model, and nothing else of the body is kept.
 */
import type { Flow } from '../flows/flow.js';
import {
  CHUNK_BAD, chunkDataEnd, chunkSize, HTTP_BAD, HTTP_NEED_MORE, newRequestHead, newResponseHead, parseRequestHead,
  parseResponseHead, trailerEnd, type RequestHead, type ResponseHead,
} from './http.js';
import { modelFieldsFor } from '../knowledge/model-names.js';
import { modelScanBytes, modelScanDone, modelScanResult, modelScanStart, newModelScan, type ModelScan } from './json-model.js';
import { offerHostname, splitHostPort } from './naming.js';
import type { EnrichSink, HttpRecord } from './records.js';
import { headFull, headSlide, headTsAt, type StreamHead } from './stream-head.js';

// What the next bytes of a direction are.
const S_HEAD = 0;         // a message head starts at the cursor
const S_CHUNK_SIZE = 1;   // a chunk-size line of a chunked body
const S_WAIT_CONNECT = 2; // (requests) a CONNECT was sent: its response decides what follows
const S_TUNNEL = 3;       // (requests) the tunnel's bytes start at the cursor
const S_DONE = 4;
const S_CHUNK_END = 5;    // the CRLF after a chunk's data
const S_TRAILER = 6;      // the trailer section after the last chunk
const S_BODY = 7;         // (requests) a Content-Length body the model scanner reads
const S_CHUNK_DATA = 8;   // (requests) a chunk's data the model scanner reads

/** Requests answered or not, kept at most; a client pipelining more is not followed further. */
const MAX_PENDING = 32;

interface Pending {
  rec: HttpRecord;
  isHead: boolean;
}

export interface HttpSession {
  outState: number;
  outCursor: number;
  inState: number;
  inCursor: number;
  /** Requests waiting for their response, oldest first. */
  pending: Pending[];
  requests: number;
  answered: number;
  req: RequestHead;
  resp: ResponseHead;
  /** Scratch for chunk-size lines, and where the last chunk piece ended. */
  chunk: { size: number };
  chunkNext: number;
  /** The model scanner (made at the first model request), the record it fills (null when none is being
   *  read), and the bytes left of the body or chunk it is reading. */
  scan: ModelScan | null;
  scanRec: HttpRecord | null;
  bodyLeft: number;
}

export function newHttpSession(): HttpSession {
  return {
    outState: S_HEAD, outCursor: 0, inState: S_HEAD, inCursor: 0, pending: [], requests: 0, answered: 0,
    req: newRequestHead(), resp: newResponseHead(), chunk: { size: 0 }, chunkNext: 0,
    scan: null, scanRec: null, bodyLeft: 0,
  };
}

/** Stream offset where a successful CONNECT's tunnel starts, or -1. */
export function httpTunnelStart(s: HttpSession): number {
  return s.outState === S_TUNNEL ? s.outCursor : -1;
}

/** The tunnel has been read (or abandoned): nothing more to do on the initiator side. */
export function httpTunnelDone(s: HttpSession): void {
  s.outState = S_DONE;
}

/** True when neither direction can yield anything more. */
export function httpFinished(s: HttpSession): boolean {
  if (s.outState === S_TUNNEL) return false;
  return s.outState === S_DONE && (s.inState === S_DONE || s.pending.length === 0);
}

/** Reads every request now complete in the initiator's window. */
export function httpOnRequests(s: HttpSession, h: StreamHead, flow: Flow): void {
  for (;;) {
    if (s.outState === S_HEAD) {
      if (s.outCursor >= h.contig) return;
      const r = parseRequestHead(h.buf, s.outCursor, h.contig, s.req);
      if (r === HTTP_NEED_MORE) { if (headFull(h)) s.outState = S_DONE; return; }
      if (r === HTTP_BAD || s.pending.length >= MAX_PENDING) { s.outState = S_DONE; return; }
      const start = s.outCursor;
      s.outCursor = s.req.headEnd;
      addRequest(s, flow, headTsAt(h, start));
      if (s.outState !== S_HEAD) continue; // a CONNECT: what follows depends on its response
      if (s.req.chunked) {
        s.outState = S_CHUNK_SIZE;
      } else if (s.req.contentLength > 0) {
        if (s.scanRec !== null) {
          s.outState = S_BODY;
          s.bodyLeft = s.req.contentLength;
        } else {
          s.outCursor += s.req.contentLength;
        }
      } else {
        endScan(s, true); // no body: no model named
      }
      s.outCursor = slide(h, s.outCursor);
    } else if (s.outState === S_BODY || s.outState === S_CHUNK_DATA) {
      if (!scanBody(s, h)) return;
    } else if (s.outState === S_CHUNK_SIZE || s.outState === S_CHUNK_END || s.outState === S_TRAILER) {
      const st = chunkStep(s, h, s.outState, s.outCursor);
      if (st < 0) { if (st === CHUNK_BAD || headFull(h)) s.outState = S_DONE; return; }
      if (s.scanRec !== null && st === S_CHUNK_END) {
        // A chunk's data for the model scanner: from its first byte, not skipped.
        s.outState = S_CHUNK_DATA;
        s.bodyLeft = s.chunk.size;
        s.outCursor = slide(h, s.chunkNext - s.chunk.size);
        continue;
      }
      if (st === S_TRAILER) endScan(s, true); // the last chunk: the body is over
      s.outState = st;
      s.outCursor = slide(h, s.chunkNext);
    } else {
      return;
    }
  }
}

/** Reads every response now complete in the responder's window, matching them to requests. */
export function httpOnResponses(s: HttpSession, h: StreamHead, flow: Flow, sink: EnrichSink): void {
  for (;;) {
    if (s.inState === S_HEAD) {
      // A response is read only once its request has been: it may arrive first in the capture.
      if (s.inCursor >= h.contig || s.pending.length === 0) return;
      const r = parseResponseHead(h.buf, s.inCursor, h.contig, s.resp);
      if (r === HTTP_NEED_MORE) { if (headFull(h)) s.inState = S_DONE; return; }
      if (r === HTTP_BAD) { s.inState = S_DONE; return; }
      const start = s.inCursor;
      s.inCursor = s.resp.headEnd;
      const status = s.resp.status;
      // An interim 1xx response (not 101 Switching Protocols) answers nothing: the real one follows.
      if (status >= 200 || status === 101) answer(s, flow, headTsAt(h, start), status, sink);
      s.inCursor = slide(h, s.inCursor);
    } else if (s.inState === S_CHUNK_SIZE || s.inState === S_CHUNK_END || s.inState === S_TRAILER) {
      const st = chunkStep(s, h, s.inState, s.inCursor);
      if (st < 0) { if (st === CHUNK_BAD || headFull(h)) s.inState = S_DONE; return; }
      s.inState = st;
      s.inCursor = slide(h, s.chunkNext);
    } else {
      return;
    }
  }
}

/**
 * Feeds the model scanner what has arrived of the body (or chunk) at the cursor, and skips the
 * rest unseen once the scan is over. False while it waits for more bytes.
 */
function scanBody(s: HttpSession, h: StreamHead): boolean {
  let n = s.bodyLeft;
  if (s.scanRec !== null) {
    n = Math.min(h.contig - s.outCursor, s.bodyLeft);
    if (n <= 0) return false;
    const scan = s.scan as ModelScan;
    modelScanBytes(scan, h.buf, s.outCursor, s.outCursor + n);
    if (modelScanDone(scan)) endScan(s, false);
  }
  s.bodyLeft -= n;
  s.outCursor = slide(h, s.outCursor + n);
  if (s.bodyLeft > 0) return true;
  if (s.outState === S_BODY) {
    endScan(s, true);
    s.outState = S_HEAD;
  } else {
    s.outState = S_CHUNK_END;
  }
  return true;
}

/** Gives the request being scanned its model and status (`bodyComplete`: all of its body was read). */
function endScan(s: HttpSession, bodyComplete: boolean): void {
  const rec = s.scanRec;
  if (rec === null) return;
  const r = modelScanResult(s.scan as ModelScan, bodyComplete);
  rec.model = r.model;
  rec.modelStatus = r.status;
  s.scanRec = null;
}

/**
 * One piece of a chunked body at `cursor`: returns the state after it (its end in s.chunkNext,
 * possibly beyond what has arrived: a chunk's data is skipped, not waited for), or
 * CHUNK_NEED_MORE / CHUNK_BAD.
 */
function chunkStep(s: HttpSession, h: StreamHead, state: number, cursor: number): number {
  let next: number;
  if (state === S_CHUNK_SIZE) {
    next = chunkSize(h.buf, cursor, h.contig, s.chunk);
    if (next < 0) return next;
    if (s.chunk.size === 0) {
      s.chunkNext = next;
      return S_TRAILER;
    }
    s.chunkNext = next + s.chunk.size;
    return S_CHUNK_END;
  }
  next = state === S_CHUNK_END ? chunkDataEnd(h.buf, cursor, h.contig) : trailerEnd(h.buf, cursor, h.contig);
  if (next < 0) return next;
  s.chunkNext = next;
  return state === S_CHUNK_END ? S_CHUNK_SIZE : S_HEAD;
}

/** Slides the window to `cursor` (what was read, and a body skipped unseen); the cursor is then 0. */
function slide(h: StreamHead, cursor: number): number {
  headSlide(h, cursor);
  return 0;
}

/** Emits the requests still waiting (no response seen), in order. */
export function httpFlush(s: HttpSession, sink: EnrichSink): void {
  endScan(s, false);
  for (const p of s.pending) sink.http(p.rec);
  s.pending.length = 0;
}

function addRequest(s: HttpSession, flow: Flow, ts: number): void {
  const q = s.req;
  const isConnect = q.method === 'CONNECT';
  let connectHost: string | null = null;
  let connectPort: number | null = null;
  if (isConnect) {
    const hp = splitHostPort(q.target.toLowerCase());
    connectHost = hp.host;
    connectPort = Number.isNaN(hp.port) ? null : hp.port;
  }
  const rec: HttpRecord = {
    ts, flowId: flow.id, method: q.method, path: q.target, version: q.version, host: q.host,
    userAgent: q.userAgent, status: null, responseTs: null, responseLength: null, location: null, isConnect, connectHost, connectPort,
    model: null, modelStatus: null,
  };
  const fields = isConnect ? null : modelFieldsFor(flow.responderPort, q.target);
  if (fields !== null) {
    endScan(s, false); // (a body always ends before the next head; this only makes sure)
    rec.modelStatus = 'unread';
    s.scan ??= newModelScan();
    modelScanStart(s.scan, fields);
    s.scanRec = rec;
  }
  s.pending.push({ rec, isHead: q.method === 'HEAD' });
  if (s.requests++ === 0) {
    flow.httpMethod = rec.method;
    flow.httpPath = rec.path;
    flow.httpHost = rec.host;
  }
  if (isConnect) {
    if (flow.connectHost === null) {
      flow.connectHost = connectHost;
      flow.connectPort = connectPort;
    }
    offerHostname(flow, 'connect', connectHost);
    s.outState = S_WAIT_CONNECT;
  }
  if (rec.host !== null) offerHostname(flow, 'http', splitHostPort(rec.host).host);
}

function answer(s: HttpSession, flow: Flow, ts: number, status: number, sink: EnrichSink): void {
  const p = s.pending.shift() as Pending;
  // Answered before its body was read (a lost segment, an early error): what was read decides.
  if (p.rec === s.scanRec) endScan(s, false);
  p.rec.status = status;
  p.rec.responseTs = ts;
  p.rec.responseLength = s.resp.contentLength >= 0 ? s.resp.contentLength : null;
  if (status >= 300 && status < 400) p.rec.location = s.resp.location;
  if (s.answered++ === 0) flow.httpStatus = status;
  sink.http(p.rec);
  if (status === 101) {
    // Upgraded (WebSocket...): neither side speaks HTTP/1 any more.
    s.inState = S_DONE;
    s.outState = S_DONE;
    return;
  }
  if (p.rec.isConnect) {
    if (status >= 200 && status < 300) {
      s.outState = S_TUNNEL;
      s.inState = S_DONE; // the tunnel's server bytes are not HTTP
      return;
    }
    if (s.outState === S_WAIT_CONNECT) s.outState = S_HEAD; // refused: the client may retry (407)
  }
  skipResponseBody(s, p.isHead, status);
}

function skipResponseBody(s: HttpSession, isHead: boolean, status: number): void {
  const r = s.resp;
  if (isHead || status === 204 || status === 304) return;
  if (r.chunked) s.inState = S_CHUNK_SIZE;
  else if (r.contentLength >= 0) s.inCursor += r.contentLength;
  else s.inState = S_DONE; // body runs to the end of the connection (RFC 9112 §6.3 rule 8)
}

