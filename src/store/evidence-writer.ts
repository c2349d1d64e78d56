/**
 * Evidence: the packets behind every flow, kept in rotating pcapng segment files
 * (`evidence-<session>-<seq>.pcapng`, mode 0600, in a 0700 folder) so one flow can be exported
 * later without rescanning: the store indexes, per flow and segment, the byte offsets of the
 * flow's first and last packet block.
 *
 * Every segment starts with the interface blocks (IDBs) of every (source iface, linktype) the
 * writer has seen, and a packet on a new one closes the current segment first: IDBs then only
 * ever sit at the head of a segment, which lets the exporter jump straight to a flow's offsets
 * (src/capture/pcapng-reader.ts `startAt`).
 *
 * Failures never reach the capture loop: the first write error (a full disk above all) stops
 * evidence for good, is reported once, and flows go on being recorded.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Packet } from '../capture/packet.js';
import { createPcapngWriter, type PcapngWriter } from '../capture/pcapng-writer.js';
import type { Decoded } from '../decode/decoded.js';
import type { Flow } from '../flows/flow.js';
import { senderProcess } from '../flows/local-path.js';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
import { processComment } from './evidence-comment.js';
import { keepBytes, newEvidenceFlowState, type EvidenceFlowState } from './evidence-policy.js';
import type { EvidencePolicy } from '../settings.js';
import { safeOutputDir, UnsafePathError } from './safe-files.js';
import { withGetters } from '../fast-object.js';

export const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/** A quiet machine still gets closed (hashed, deletable) segments: one per hour of capture at most. */
export const DEFAULT_MAX_SEGMENT_US = 3600e6;
const SNAPLEN = 262144;

export interface EvidenceWriterOptions {
  /** Folder of the segments; created 0700 when missing. */
  dir: string;
  policy: EvidencePolicy;
  /** Part of every file name; must differ between runs sharing `dir` (e.g. the session id). */
  session: string;
  /** Ollama API ports whose HTTP bodies are never kept; default [11434]. */
  apiPorts?: readonly number[];
  /** A segment is closed once it holds this many bytes (it may exceed it by one packet). */
  maxSegmentBytes?: number;
  /** ...or once it spans this much capture time (µs). */
  maxSegmentUs?: number;
  /** --max-evidence: closed segments are deleted, oldest first, while all of them together exceed it. */
  maxTotalBytes?: number;
  /** --retain (µs): closed segments whose last packet is older than this are deleted. */
  retainUs?: number;
  /** Wall clock in µs for --retain; default Date.now() * 1000. */
  now?: () => number;
  /** if_name for the IDB of a source interface, when the source knows it. */
  ifaceName?: (iface: number) => string | null;
  onSegmentClosed?: (s: SegmentInfo) => void;
  /** A segment (or a file of an earlier run, `seq` 0) was deleted by retention. */
  onSegmentDeleted?: (s: SegmentInfo) => void;
  /** Called once when the disk (or quota) is full; evidence stops, nothing is thrown. */
  onDiskFull?: (err: Error) => void;
  /** Called once for any other write error; evidence stops likewise. */
  onError?: (err: Error) => void;
}

export interface SegmentInfo {
  /** 1, 2, 3... within this writer; 0 for a file left by an earlier run. */
  seq: number;
  path: string;
  /** µs of the earliest and latest packet (files of earlier runs: file mtime as lastTs). */
  firstTs: number | null;
  lastTs: number | null;
  bytes: number;
  packets: number;
  /** Hex SHA-256 of the file, computed when it closes. */
  sha256: string | null;
  closed: boolean;
  /** Writing stopped inside this segment (disk full): its tail may be cut mid-block. */
  incomplete: boolean;
}

/** Where one flow's packets sit in one segment. Counts are cumulative: upsert, don't add. */
export interface EvidenceIndexRow {
  flowSeq: number;
  segmentSeq: number;
  segmentPath: string;
  /** Byte offsets of the flow's first and last packet block in the segment. */
  firstOffset: number;
  lastOffset: number;
  packets: number;
}

export interface EvidenceWriter {
  /**
   * Keeps what the policy allows of one decoded packet of `flow` (direction `dir` from the flow
   * table). The comment is, in order: `comment` when given, the packet's own (a ptcpdump
   * capture's), or one naming the process that sent it (senderProcess: the client or, on
   * loopback, the server). Never throws.
   */
  write(flow: Flow, dir: number, pkt: Packet, d: Decoded, comment?: string | null): void;
  /** Applies --retain and --max-evidence now (also done on every rotation). */
  prune(nowUs?: number): void;
  /** Closes the open segment (hashing it). The writer writes nothing afterwards. */
  close(): void;
  /** This writer's segments still on disk, oldest first (copies). */
  segments(): SegmentInfo[];
  /** Index rows changed since the last drain, for the store's periodic transaction. */
  drainIndex(): EvidenceIndexRow[];
  /** Segments opened or changed since the last drain (upsert by path; insert before their index rows). */
  drainSegments(): SegmentInfo[];
  /** Paths deleted by retention since the last drain. */
  drainDeleted(): string[];
  /** Why evidence stopped, or null while it is being written. */
  readonly stopped: 'disk-full' | 'error' | 'closed' | null;
}

interface Row extends EvidenceIndexRow {
  dirty: boolean;
}

interface FlowEntry {
  st: EvidenceFlowState;
  row: Row | null;
  /** Per direction (DIR_OUT, DIR_IN): the sender the cached comment was built from (rebuilt only when that object changes). */
  commentFor: [Flow['process'], Flow['process']];
  comment: [string | null, string | null];
}

interface Open {
  info: SegmentInfo;
  w: PcapngWriter;
  dirty: boolean;
}

interface Resolved extends EvidenceWriterOptions {
  apiPorts: readonly number[];
  maxSegmentBytes: number;
  maxSegmentUs: number;
  maxTotalBytes: number;
  retainUs: number;
  now: () => number;
}

interface State {
  o: Resolved;
  flows: WeakMap<Flow, FlowEntry>;
  /** (iface, linktype) key -> IDB index, the same in every segment; keys in IDB order. */
  ifaces: Map<number, number>;
  ifaceKeys: number[];
  cur: Open | null;
  seq: number;
  /** Closed segments still on disk, oldest first: files of earlier runs, then ours. */
  closed: SegmentInfo[];
  closedBytes: number;
  pendingRows: Row[];
  pendingSegments: SegmentInfo[];
  deleted: string[];
  stopped: EvidenceWriter['stopped'];
}

export function createEvidenceWriter(opts: EvidenceWriterOptions): EvidenceWriter {
  const s: State = {
    o: resolve(opts),
    flows: new WeakMap(),
    ifaces: new Map(),
    ifaceKeys: [],
    cur: null,
    seq: 0,
    closed: [],
    closedBytes: 0,
    pendingRows: [],
    pendingSegments: [],
    deleted: [],
    stopped: null,
  };
  try {
    prepareDir(s.o.dir);
    adoptEarlierFiles(s);
    prune(s, s.o.now());
  } catch (err) {
    if (err instanceof UnsafePathError) throw err; // a folder we must not write: the caller stops with one line
    fail(s, err);
  }
  const writer: Omit<EvidenceWriter, 'stopped'> = {
    write: (flow, dir, pkt, d, comment) => write(s, flow, dir, pkt, d, comment),
    prune: (nowUs) => guarded(s, () => prune(s, nowUs ?? s.o.now())),
    close: () => closeWriter(s),
    segments: () => [...s.closed.filter((c) => c.seq > 0), ...(s.cur ? [s.cur.info] : [])].map((i) => ({ ...i })),
    drainIndex: () => drainIndex(s),
    drainSegments: () => drainSegments(s),
    drainDeleted: () => s.deleted.splice(0),
  };
  return withGetters(writer, { stopped: () => s.stopped });
}

function resolve(o: EvidenceWriterOptions): Resolved {
  const maxTotalBytes = o.maxTotalBytes ?? Infinity;
  let maxSegmentBytes = o.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  // Retention deletes whole closed segments: keep at least two under --max-evidence.
  if (maxTotalBytes < maxSegmentBytes * 2) maxSegmentBytes = Math.max(4096, Math.floor(maxTotalBytes / 2));
  return {
    ...o,
    apiPorts: o.apiPorts ?? [OLLAMA_API_PORT],
    maxSegmentBytes,
    maxSegmentUs: o.maxSegmentUs ?? DEFAULT_MAX_SEGMENT_US,
    maxTotalBytes,
    retainUs: o.retainUs ?? Infinity,
    now: o.now ?? (() => Date.now() * 1000),
  };
}

function prepareDir(dir: string): void {
  safeOutputDir(dir);
}

/** The name of every segment file this writer makes. */
export const SEGMENT_NAME = /^evidence-.+-\d+\.pcapng$/;

/** Segments left by earlier runs count against --max-evidence and --retain too. */
function adoptEarlierFiles(s: State): void {
  const found: SegmentInfo[] = [];
  for (const name of fs.readdirSync(s.o.dir)) {
    if (!SEGMENT_NAME.test(name)) continue;
    const p = path.join(s.o.dir, name);
    const st = fs.lstatSync(p); // a link is not a segment of ours: never followed, sized or deleted through
    if (!st.isFile()) continue;
    found.push({
      seq: 0, path: p, firstTs: null, lastTs: st.mtimeMs * 1000, bytes: st.size, packets: 0,
      sha256: null, closed: true, incomplete: false,
    });
  }
  found.sort((a, b) => (a.lastTs ?? 0) - (b.lastTs ?? 0));
  for (const f of found) {
    s.closed.push(f);
    s.closedBytes += f.bytes;
  }
}

function write(s: State, flow: Flow, dir: number, pkt: Packet, d: Decoded, comment: string | null | undefined): void {
  if (s.stopped !== null) return;
  let e = s.flows.get(flow);
  if (e === undefined) {
    e = { st: newEvidenceFlowState(), row: null, commentFor: [null, null], comment: [null, null] };
    s.flows.set(flow, e);
  }
  const keep = keepBytes(s.o.policy, e.st, dir, pkt, d, s.o.apiPorts);
  if (keep <= 0) return;
  try {
    writeKept(s, flow, e, pkt, keep, comment === undefined ? commentOf(flow, dir, e, pkt) : comment);
  } catch (err) {
    fail(s, err);
  }
}

/** The packet's own comment, else one naming the process that sent it (the client's or the server's on loopback). */
function commentOf(flow: Flow, dir: number, e: FlowEntry, pkt: Packet): string | null {
  if (pkt.comment !== null) return pkt.comment;
  const sender = senderProcess(flow, dir);
  if (sender !== e.commentFor[dir]) {
    e.commentFor[dir] = sender;
    e.comment[dir] = sender === null ? null : processComment(sender);
  }
  return e.comment[dir];
}

function writeKept(s: State, flow: Flow, e: FlowEntry, pkt: Packet, keep: number, comment: string | null): void {
  const idb = interfaceOf(s, pkt);
  let cur = s.cur;
  if (cur !== null && segmentFull(s, cur, pkt.ts)) {
    closeCurrent(s);
    cur = null;
  }
  if (cur === null) cur = openSegment(s);
  const offset = cur.w.bytesWritten;
  cur.w.writePacket(idb, pkt.ts, pkt.buf, pkt.off, keep, pkt.origLen, comment);
  noteSegment(s, cur, pkt.ts);
  noteRow(s, flow, e, cur.info, offset);
  if (s.closed.length > 0 && s.closedBytes + cur.info.bytes > s.o.maxTotalBytes) pruneBySize(s);
}

/** IDB index of the packet's (iface, linktype); a new one closes a segment that holds packets. */
function interfaceOf(s: State, pkt: Packet): number {
  const key = pkt.iface * 65536 + pkt.linktype;
  const known = s.ifaces.get(key);
  if (known !== undefined) return known;
  if (s.cur !== null && s.cur.info.packets > 0) closeCurrent(s);
  const idb = s.ifaceKeys.length;
  s.ifaces.set(key, idb);
  s.ifaceKeys.push(key);
  if (s.cur !== null) addInterface(s, s.cur.w, key);
  return idb;
}

function addInterface(s: State, w: PcapngWriter, key: number): void {
  const iface = Math.floor(key / 65536);
  w.addInterface({ linktype: key % 65536, snaplen: SNAPLEN, name: s.o.ifaceName?.(iface) ?? undefined });
}

function segmentFull(s: State, cur: Open, ts: number): boolean {
  const i = cur.info;
  if (i.packets === 0) return false;
  return i.bytes >= s.o.maxSegmentBytes || (i.firstTs !== null && ts - i.firstTs >= s.o.maxSegmentUs);
}

function segmentPath(s: State, seq: number): string {
  return path.join(s.o.dir, `evidence-${s.o.session}-${String(seq).padStart(6, '0')}.pcapng`);
}

function entryExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function openSegment(s: State): Open {
  let p: string;
  do p = segmentPath(s, ++s.seq);
  while (entryExists(p)); // skip a file of an earlier run that reused the session name (a link counts: lstat)
  const w = createPcapngWriter(p, { mode: 0o600, userAppl: 'ollama-audit evidence' });
  const info: SegmentInfo = {
    seq: s.seq, path: p, firstTs: null, lastTs: null, bytes: 0, packets: 0,
    sha256: null, closed: false, incomplete: false,
  };
  const cur: Open = { info, w, dirty: false };
  s.cur = cur;
  for (const key of s.ifaceKeys) addInterface(s, w, key);
  info.bytes = w.bytesWritten;
  markSegment(s, cur);
  return cur;
}

function noteSegment(s: State, cur: Open, ts: number): void {
  const i = cur.info;
  i.packets++;
  i.bytes = cur.w.bytesWritten;
  if (i.firstTs === null || ts < i.firstTs) i.firstTs = ts;
  if (i.lastTs === null || ts > i.lastTs) i.lastTs = ts;
  if (!cur.dirty) markSegment(s, cur);
}

function markSegment(s: State, cur: Open): void {
  cur.dirty = true;
  s.pendingSegments.push(cur.info);
}

/** One row per (flow, segment), updated in place: no per-packet allocation. */
function noteRow(s: State, flow: Flow, e: FlowEntry, seg: SegmentInfo, offset: number): void {
  let r = e.row;
  if (r === null || r.segmentSeq !== seg.seq) {
    r = { flowSeq: flow.id, segmentSeq: seg.seq, segmentPath: seg.path, firstOffset: offset, lastOffset: offset, packets: 0, dirty: false };
    e.row = r;
  }
  r.lastOffset = offset;
  r.packets++;
  if (!r.dirty) {
    r.dirty = true;
    s.pendingRows.push(r);
  }
}

function closeCurrent(s: State): void {
  const cur = s.cur;
  if (cur === null) return;
  cur.w.close(); // may throw (the last flush): fail() then finds the segment still current
  s.cur = null;
  finishSegment(s, cur, false);
  s.o.onSegmentClosed?.({ ...cur.info });
  prune(s, s.o.now());
}

/** Final size and hash of a segment that will not grow any more. */
function finishSegment(s: State, cur: Open, incomplete: boolean): void {
  const i = cur.info;
  i.closed = true;
  i.incomplete = incomplete;
  i.bytes = fs.statSync(i.path).size;
  i.sha256 = sha256File(i.path);
  s.closed.push(i);
  s.closedBytes += i.bytes;
  if (!cur.dirty) markSegment(s, cur);
}

export function sha256File(p: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  const fd = fs.openSync(p, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function prune(s: State, nowUs: number): void {
  const cutoff = nowUs - s.o.retainUs;
  for (let i = 0; i < s.closed.length; ) {
    const c = s.closed[i];
    if (c.lastTs !== null && c.lastTs < cutoff) deleteSegment(s, i);
    else i++;
  }
  pruneBySize(s);
}

function pruneBySize(s: State): void {
  const open = s.cur === null ? 0 : s.cur.info.bytes;
  while (s.closed.length > 0 && s.closedBytes + open > s.o.maxTotalBytes) deleteSegment(s, 0);
}

function deleteSegment(s: State, i: number): void {
  const [c] = s.closed.splice(i, 1);
  s.closedBytes -= c.bytes;
  try {
    fs.unlinkSync(c.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  s.deleted.push(c.path);
  s.o.onSegmentDeleted?.({ ...c });
}

function guarded(s: State, fn: () => void): void {
  if (s.stopped === 'disk-full' || s.stopped === 'error') return;
  try {
    fn();
  } catch (err) {
    fail(s, err);
  }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Stops evidence for good: the open segment is closed as it stands, the failure reported once. */
function fail(s: State, err: unknown): void {
  if (s.stopped === 'disk-full' || s.stopped === 'error') return;
  const e = err instanceof Error ? err : new Error(String(err));
  const full = DISK_FULL.has((e as NodeJS.ErrnoException).code ?? '');
  s.stopped = full ? 'disk-full' : 'error';
  const cur = s.cur;
  s.cur = null;
  if (cur !== null) {
    try {
      cur.w.close();
    } catch {
      // the same failure again, flushing what was buffered; the descriptor is closed regardless
    }
    try {
      finishSegment(s, cur, true);
    } catch {
      // nothing more to learn about a segment we cannot even stat or read
    }
  }
  if (full) s.o.onDiskFull?.(e);
  else s.o.onError?.(e);
}

function closeWriter(s: State): void {
  if (s.stopped !== null) return;
  try {
    closeCurrent(s);
    s.stopped = 'closed';
  } catch (err) {
    fail(s, err);
  }
}

function drainIndex(s: State): EvidenceIndexRow[] {
  const out = s.pendingRows.map((r) => {
    r.dirty = false;
    return {
      flowSeq: r.flowSeq, segmentSeq: r.segmentSeq, segmentPath: r.segmentPath,
      firstOffset: r.firstOffset, lastOffset: r.lastOffset, packets: r.packets,
    };
  });
  s.pendingRows.length = 0;
  return out;
}

function drainSegments(s: State): SegmentInfo[] {
  const out = s.pendingSegments.map((i) => ({ ...i }));
  s.pendingSegments.length = 0;
  if (s.cur !== null) s.cur.dirty = false;
  return out;
}
