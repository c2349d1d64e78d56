/**
 * A report's evidence.pcapng: only the packets of the finding flows, from wherever the store
 * says they are. Imported sessions: the source capture is read again (sessions.source). Live
 * sessions: the evidence segments, through the store's index (evidenceForFlows + exportFlows).
 * Either way every packet goes through the same cut (evidence-cut.ts), so no API or runner
 * body reaches the report, whatever policy the segments were written under.
 *
 * Missing packets are never silent: a source file that is gone, unreadable or changed since
 * import, deleted segments, or a flow with fewer packets than the store counted each give a
 * warning, and with no packet at all no file is written.
 */
import * as fs from 'node:fs';
import { basename } from 'node:path';
import type { Packet } from '../capture/packet.js';
import { createPcapngWriter, type PcapngWriter } from '../capture/pcapng-writer.js';
import { readCaptureFile } from '../capture/read-file.js';
import { decodePacket } from '../decode/decode-packet.js';
import { newDecoded, newSkipCounts } from '../decode/decoded.js';
import type { Db } from '../store/open-db.js';
import { exportFlows, type FlowMatcher } from '../store/evidence-export.js';
import { removeIfPresent } from '../store/safe-files.js';
import { evidenceForFlows } from '../store/evidence-store.js';
import { HEAD_BYTES } from '../store/evidence-policy.js';
import { addrBytes } from '../decode/addr-parse.js';
import { createEvidenceCutter, type EvidenceCutter, type KeepPacket } from './evidence-cut.js';
import type { FindingFlow } from '../store/read/report-rows.js';
import type { SessionRow } from '../store/read/sessions.js';
import type { EvidenceSummary } from './report-types.js';

const SNAPLEN = 262144;

export function evidencePolicyText(apiPorts: readonly number[]): string {
  return `Ollama API ports (${apiPorts.join(', ')}) and runner connections: request and response heads only, bodies cut; ` +
    `other flows: whole packets (as far as the capture's snapshot length kept them) for the first ${HEAD_BYTES / 1024} KiB of payload each way, then headers only. ` +
    'Packet comments keep the PID and Cmd lines only.';
}

/** Writes `outPath` (0600) with the findings' packets, or nothing when there are none. */
export function writeEvidenceFile(
  db: Db, outPath: string, sessions: readonly SessionRow[], findings: readonly FindingFlow[], apiPorts: readonly number[],
): EvidenceSummary {
  const policy = evidencePolicyText(apiPorts);
  if (findings.length === 0) return { file: null, packets: 0, flows: [], complete: true, warnings: [], policy };
  const partial = `${outPath}.partial`;
  const out = createPcapngWriter(partial, { mode: 0o600, userAppl: 'ollama-audit report evidence' });
  const warnings: string[] = [];
  const flows: EvidenceSummary['flows'] = [];
  let packets = 0;
  try {
    for (const s of sessions) {
      const mine = findings.filter((f) => f.session_id === s.id);
      if (mine.length === 0) continue;
      const cutter = createEvidenceCutter(mine, apiPorts, keeper(out, s, () => packets++));
      if (s.kind === 'import') fromSourceFile(s, cutter, warnings);
      else fromSegments(db, s, cutter, `${outPath}.session-${s.id}.tmp`, warnings);
      for (const t of cutter.targets) {
        flows.push({ flow_id: t.flow.id, expected: t.flow.packets, written: t.written });
        if (t.written < t.flow.packets) warnings.push(`flow ${t.flow.id}: ${t.written} of its ${t.flow.packets} packets are in the evidence file`);
      }
    }
  } finally {
    out.close();
  }
  if (packets === 0) {
    fs.rmSync(partial, { force: true });
    warnings.push('no packet of the finding flows could be found: no evidence file was written');
  } else {
    fs.renameSync(partial, outPath);
  }
  const file = packets === 0 ? null : basename(outPath);
  return { file, packets, flows, complete: warnings.length === 0, warnings, policy };
}

/** Writes kept packets, one interface block per (session, interface, link type), named as the session recorded. */
function keeper(out: PcapngWriter, s: SessionRow, counted: () => void): KeepPacket {
  const names = new Map((JSON.parse(s.interfaces) as { index: number; name: string | null }[]).map((i) => [i.index, i.name]));
  const ids = new Map<number, number>();
  return (p: Packet, keep: number, comment: string | null) => {
    const key = p.iface * 65536 + p.linktype;
    let id = ids.get(key);
    if (id === undefined) {
      id = out.addInterface({ linktype: p.linktype, snaplen: SNAPLEN, name: names.get(p.iface) ?? undefined });
      ids.set(key, id);
    }
    out.writePacket(id, p.ts, p.buf, p.off, keep, p.origLen, comment);
    counted();
  };
}

/**
 * Feeds every decodable packet of `path` to the cutter. Returns the packet count and the times of
 * the first and last packet in file order, which is what an import records for its session.
 */
function feed(path: string, cutter: EvidenceCutter): { packets: number; firstTs: number | null; lastTs: number | null } {
  const d = newDecoded();
  const skips = newSkipCounts();
  let firstTs: number | null = null;
  let lastTs: number | null = null;
  const r = readCaptureFile(path, (p) => {
    // The session's window is its earliest..latest packet (a merged pcapng is not in time order).
    if (firstTs === null || p.ts < firstTs) firstTs = p.ts;
    if (lastTs === null || p.ts > lastTs) lastTs = p.ts;
    if (decodePacket(p, d, skips)) cutter.offer(p, d);
  });
  return { packets: r.packets, firstTs, lastTs };
}

function fromSourceFile(s: SessionRow, cutter: EvidenceCutter, warnings: string[]): void {
  const n = cutter.targets.length;
  if (!fs.existsSync(s.source)) {
    warnings.push(`session ${s.id}: its capture file ${s.source} is gone: the packets of ${n} finding flow(s) are not in the evidence file`);
    return;
  }
  let seen: ReturnType<typeof feed>;
  try {
    seen = feed(s.source, cutter);
  } catch (err) {
    warnings.push(`session ${s.id}: its capture file ${s.source} can no longer be read (${(err as Error).message}): the evidence file lacks its findings`);
    return;
  }
  const sameSpan = roundedOrNull(seen.firstTs) === s.started_at && roundedOrNull(seen.lastTs) === s.ended_at;
  if (seen.packets !== s.packets || !sameSpan) {
    warnings.push(`session ${s.id}: its capture file ${s.source} changed since it was imported ` +
      `(${seen.packets} packets now, ${s.packets} then${sameSpan ? '' : ', other first/last packet times'}): the evidence may not match the store`);
  }
}

function roundedOrNull(ts: number | null): number | null {
  return ts === null ? null : Math.round(ts);
}

function fromSegments(db: Db, s: SessionRow, cutter: EvidenceCutter, tmp: string, warnings: string[]): void {
  const { segmentOrder, rows } = evidenceForFlows(db, s.id, cutter.targets.map((t) => t.flow.seq));
  if (rows.length === 0) {
    warnings.push(`session ${s.id}: no evidence segment holds its finding flows (evidence was off, \`--evidence none\`, or deleted)`);
    return;
  }
  const matchers: FlowMatcher[] = cutter.targets.map((t) => ({
    seq: t.flow.seq, proto: t.flow.proto, initiatorAddr: addrBytes(t.flow.initiator_addr), initiatorPort: t.flow.initiator_port,
    responderAddr: addrBytes(t.flow.responder_addr), responderPort: t.flow.responder_port,
  }));
  removeIfPresent(tmp); // left by an interrupted report; the folder was checked (safe-files.ts)
  try {
    const res = exportFlows(segmentOrder, rows, matchers, tmp);
    for (const w of res.warnings) warnings.push(`session ${s.id}: ${w}`);
    if (res.packets > 0) feed(tmp, cutter);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
