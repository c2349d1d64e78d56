/** Shared helpers for the evidence tests: hand-built TCP packets, a flow table feeding a writer. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { LINKTYPE, type Packet } from '../../src/capture/packet.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts, type Decoded } from '../../src/decode/decoded.js';
import { createFlowTable } from '../../src/flows/flow-table.js';
import type { Flow } from '../../src/flows/flow.js';
import type { EvidenceIndexRow, EvidenceWriter } from '../../src/store/evidence-writer.js';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { attributeFromComment } from '../../src/attribution/packet-comment.js';
import { eth, ipv4, packet, tcp } from '../decode/frames.js';

export const SEC = 1_000_000;
export const T0 = 1_700_000_000 * SEC;
export const SYN = 0x02;
export const ACK = 0x10;
export const PSH = 0x08;
/** Ethernet 14 + IPv4 20 + TCP 20. */
export const HDRS = 54;

export interface Ep { ip: string; port: number }

export function tmpDir(prefix = 'oa-evidence-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An Ethernet/IPv4/TCP packet from `from` to `to` carrying `payload`. */
export function tcpPacket(from: Ep, to: Ep, payload: Buffer | string = '', ts = T0, flags = ACK | PSH, seq = 0): Packet {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const seg = tcp({ sport: from.port, dport: to.port, flags, seq, payload: data });
  return packet(LINKTYPE.ETHERNET, eth(0x0800, ipv4({ src: from.ip, dst: to.ip, proto: 6, payload: seg })), { ts });
}

export function decoded(p: Packet): Decoded {
  const d = newDecoded();
  if (!decodePacket(p, d, newSkipCounts())) throw new Error('test packet did not decode');
  return d;
}

/** A flow table whose packets also go to `w`, the way the daemon will wire them. */
export function feeder(w: EvidenceWriter | null) {
  const table = createFlowTable();
  const d = newDecoded();
  const skips = newSkipCounts();
  return {
    table,
    feed(p: Packet, process: Flow['process'] = null): Flow {
      if (!decodePacket(p, d, skips)) throw new Error('test packet did not decode');
      const f = table.ingest(p, d);
      if (process !== null && f.process === null) f.process = process;
      w?.write(f, table.lastDir, p, d);
      return f;
    },
  };
}

export function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why a tshark test cannot run here (null: it can); under CI a missing tshark is a failure. */
export function tsharkMissing(): string | null {
  if (hasTshark()) return null;
  if (process.env.CI) throw new Error('tshark is required under CI');
  return 'tshark is not installed';
}

/**
 * Runs a capture file through decode, the flow table (and ptcpdump comments) into an evidence
 * writer, as the daemon does, then closes the writer. Returns the flows and every index row.
 * `dropComments`: the packets reach the writer without their comments (the flows keep what the
 * comments said), as live packets do: the writer must write its own.
 */
export function writeEvidenceFrom(file: string, w: EvidenceWriter, dropComments = false): { flows: Flow[]; rows: EvidenceIndexRow[] } {
  const flows: Flow[] = [];
  const table = createFlowTable({ onOpen: (f) => flows.push(f) });
  const d = newDecoded();
  const skips = newSkipCounts();
  readCaptureFile(file, (p) => {
    if (!decodePacket(p, d, skips)) return;
    const f = table.ingest(p, d);
    if (p.comment !== null) attributeFromComment(f, table.lastDir, p.comment);
    if (dropComments) p.comment = null;
    w.write(f, table.lastDir, p, d);
  });
  const rows = w.drainIndex();
  w.close();
  rows.push(...w.drainIndex());
  return { flows, rows };
}
