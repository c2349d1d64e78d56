/**
 * Export: a new pcapng holding only the packets of chosen flows (a report's `evidence.pcapng`),
 * read from the evidence segments between the byte offsets the index recorded, never by
 * rescanning whole segments. Comments (the process naming) are kept.
 *
 * Each index row's range is read on its own and keeps only that flow's packets, by 5-tuple:
 * flows on one 5-tuple never overlap in time, so inside a flow's own range its 5-tuple is
 * exact, even when the same ports were reused by an earlier or later flow. ICMP flows match
 * by protocol and addresses (a reply's type differs from its request's). The price: ranges
 * of concurrent flows overlap and are read once per flow, and the output is ordered by
 * segment, then by each flow's first packet, not strictly by time.
 */
import * as fs from 'node:fs';
import type { Packet } from '../capture/packet.js';
import { createPcapngWriter, type PcapngWriter } from '../capture/pcapng-writer.js';
import { readCaptureFile } from '../capture/read-file.js';
import { decodePacket } from '../decode/decode-packet.js';
import { IPPROTO, newDecoded, newSkipCounts, type Decoded } from '../decode/decoded.js';
import type { Flow } from '../flows/flow.js';
import type { EvidenceIndexRow } from './evidence-writer.js';

/** What identifies one flow's packets: its number and 5-tuple (a Flow has all of it). */
export interface FlowMatcher {
  seq: number;
  proto: number;
  initiatorAddr: Buffer;
  initiatorPort: number;
  responderAddr: Buffer;
  responderPort: number;
}

export function matcherOf(f: Flow): FlowMatcher {
  return {
    seq: f.id, proto: f.proto, initiatorAddr: f.initiatorAddr, initiatorPort: f.initiatorPort,
    responderAddr: f.responderAddr, responderPort: f.responderPort,
  };
}

export type ExportRow = Pick<EvidenceIndexRow, 'flowSeq' | 'segmentPath' | 'firstOffset' | 'lastOffset'>;

export interface ExportResult {
  packets: number;
  /** Packets written per flow seq. */
  perFlow: Map<number, number>;
  /** Segments missing (deleted by retention) or damaged, one line each. */
  warnings: string[];
}

/**
 * Writes `outPath` (mode 0600) with the packets of `flows` found through `rows`, segment by
 * segment in the order of `segmentOrder` (oldest first; segments it does not name go last).
 */
export function exportFlows(
  segmentOrder: readonly string[], rows: readonly ExportRow[], flows: readonly FlowMatcher[], outPath: string,
): ExportResult {
  const wanted = new Map(flows.map((f) => [f.seq, f]));
  const bySegment = rowsBySegment(rows.filter((r) => wanted.has(r.flowSeq)));
  const res: ExportResult = { packets: 0, perFlow: new Map(flows.map((f) => [f.seq, 0])), warnings: [] };
  const out = createPcapngWriter(outPath, { mode: 0o600, userAppl: 'ollama-audit evidence export' });
  const ifaces = new Map<number, number>();
  const d = newDecoded();
  const skips = newSkipCounts();
  let m: FlowMatcher = flows[0];
  let kept = 0;
  const onPacket = (p: Packet): void => {
    if (!decodePacket(p, d, skips) || !matches(m, p.buf, d)) return;
    out.writePacket(interfaceFor(out, ifaces, p), p.ts, p.buf, p.off, p.caplen, p.origLen, p.comment);
    kept++;
  };
  try {
    for (const [segPath, list] of orderSegments(segmentOrder, bySegment)) {
      if (!fs.existsSync(segPath)) {
        res.warnings.push(`${segPath} is gone (deleted by --retain or --max-evidence): its packets are not in the export`);
        continue;
      }
      for (const row of list) {
        m = wanted.get(row.flowSeq)!;
        kept = 0;
        const r = readCaptureFile(segPath, onPacket, { startAt: row.firstOffset, endAt: row.lastOffset });
        for (const w of r.warnings) res.warnings.push(`${segPath}: ${w}`);
        res.packets += kept;
        res.perFlow.set(m.seq, (res.perFlow.get(m.seq) ?? 0) + kept);
      }
    }
  } finally {
    out.close();
  }
  return res;
}

/** Each segment's rows, by the offset of their flow's first packet. */
function rowsBySegment(rows: readonly ExportRow[]): Map<string, ExportRow[]> {
  const by = new Map<string, ExportRow[]>();
  for (const r of rows) {
    let list = by.get(r.segmentPath);
    if (!list) by.set(r.segmentPath, (list = []));
    list.push(r);
  }
  for (const list of by.values()) list.sort((a, b) => a.firstOffset - b.firstOffset);
  return by;
}

/** Segments in the caller's order, then any the order did not name (by path). */
function orderSegments(order: readonly string[], by: Map<string, ExportRow[]>): [string, ExportRow[]][] {
  const rank = new Map(order.map((p, i) => [p, i]));
  return [...by].sort(([a], [b]) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || a.localeCompare(b));
}

function interfaceFor(out: PcapngWriter, ifaces: Map<number, number>, p: Packet): number {
  const key = p.iface * 65536 + p.linktype;
  let id = ifaces.get(key);
  if (id === undefined) {
    id = out.addInterface({ linktype: p.linktype, snaplen: 262144 });
    ifaces.set(key, id);
  }
  return id;
}

function matches(m: FlowMatcher, buf: Buffer, d: Decoded): boolean {
  if (d.proto !== m.proto || d.addrLen !== m.initiatorAddr.length) return false;
  const icmp = d.proto === IPPROTO.ICMP || d.proto === IPPROTO.ICMPV6;
  // Both orders are tried even when the first addresses match: on loopback both ends are 127.0.0.1.
  const out = icmp || (d.srcPort === m.initiatorPort && d.dstPort === m.responderPort);
  if (out && sameAddr(buf, d.srcOff, m.initiatorAddr) && sameAddr(buf, d.dstOff, m.responderAddr)) return true;
  const back = icmp || (d.srcPort === m.responderPort && d.dstPort === m.initiatorPort);
  return back && sameAddr(buf, d.srcOff, m.responderAddr) && sameAddr(buf, d.dstOff, m.initiatorAddr);
}

function sameAddr(buf: Buffer, off: number, addr: Buffer): boolean {
  for (let i = 0; i < addr.length; i++) if (buf[off + i] !== addr[i]) return false;
  return true;
}
