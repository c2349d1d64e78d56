/**
 * Apple's pcapng extensions, written by macOS/iOS `tcpdump -k` over pktap (`-i pktap,all`): a
 * Process Information Block per process, and Enhanced Packet Block options pointing at them.
 *
 * Sources: Apple's libpcap (`libpcap/pcap/pcap-ng.h`, `pcap-darwin.c`, apple-oss-distributions/libpcap)
 * and Wireshark's `wiretap/pcapng-darwin-custom.c`; the layout is summarised with the real
 * captures in fixtures/README.md (radar-*.pcapng).
 *
 * - PIB, block type 0x80000001: u32 pid, then options: 2 name (UTF-8, at most 16 bytes: p_comm;
 *   libpcap 1.9.1 writes a trailing NUL), 3 path, 4 executable UUID (16 raw bytes, never swapped).
 * - EPB options 0x8001 process, 0x8003 effective process (u32 PIB index, 0-based in the section:
 *   the count restarts at every Section Header Block), 0x8002 service class, 0x8004 flags,
 *   0x8005 flow id, 0x8006-0x800A (trace tag, drop reason/line/function, compression generation:
 *   skipped by their length); standard option 2 epb_flags gives the direction.
 * Every number is in the section's byte order. The same pid may have two PIBs (with and without a
 * UUID), so packets are resolved by index, never by pid.
 */
import type { Packet, PktapProcess } from './packet.js';
import { u16, u32 } from './byte-order.js';

export const BT_DARWIN_PROCESS = 0x80000001;

const OPT_ENDOFOPT = 0;
const EPB_FLAGS = 2;
const PIB_NAME = 2;
const PIB_PATH = 3;
const PIB_UUID = 4;
const EPB_PROCESS = 0x8001;
const EPB_SERVICE_CLASS = 0x8002;
const EPB_EFFECTIVE_PROCESS = 0x8003;
const EPB_DARWIN_FLAGS = 0x8004;

/** Per-read PIB tables: every PIB of the file, and where the current section's start. */
export interface DarwinState {
  processes: PktapProcess[];
  /** Index in `processes` of the current section's PIB 0. */
  sectionBase: number;
}

export function newDarwinState(): DarwinState {
  return { processes: [], sectionBase: 0 };
}

/** A new section: its packets count PIBs from 0 again. */
export function darwinSection(d: DarwinState): void {
  d.sectionBase = d.processes.length;
}

/** True once the current section has a PIB: only then are EPB options read for pktap fields. */
export function sectionHasProcesses(d: DarwinState): boolean {
  return d.processes.length > d.sectionBase;
}

/**
 * Reads a PIB from the block body [body, end); returns a problem (one line, without the byte
 * offset) or null. Options that run past the block end the option list, as for other blocks.
 */
export function readProcessBlock(d: DarwinState, b: Buffer, body: number, end: number, le: boolean): string | null {
  if (end - body < 4) return `corrupt process information block: ${end - body} body bytes, a pid needs 4`;
  const proc: PktapProcess = { pid: u32(b, body, le), name: '', path: null, uuid: null };
  let o = body + 4;
  while (o + 4 <= end) {
    const code = u16(b, o, le);
    const olen = u16(b, o + 2, le);
    const v = o + 4;
    if (code === OPT_ENDOFOPT || v + olen > end) break;
    if (code === PIB_NAME) proc.name = text(b, v, olen);
    else if (code === PIB_PATH) proc.path = text(b, v, olen) || null;
    else if (code === PIB_UUID && olen === 16) proc.uuid = uuidText(b, v);
    o = v + ((olen + 3) & ~3);
  }
  d.processes.push(proc);
  return null;
}

/**
 * Sets the packet's pktap fields from the EPB options in [o, end). Called only for sections
 * with PIBs; an index naming no PIB of the section reads as none (-1).
 */
export function readPacketOptions(d: DarwinState, p: Packet, b: Buffer, o: number, end: number, le: boolean): void {
  const count = d.processes.length - d.sectionBase;
  while (o + 4 <= end) {
    const code = u16(b, o, le);
    const olen = u16(b, o + 2, le);
    const v = o + 4;
    if (code === OPT_ENDOFOPT || v + olen > end) break;
    if (olen >= 4) {
      const value = u32(b, v, le);
      if (code === EPB_PROCESS) p.pktapProcess = value < count ? d.sectionBase + value : -1;
      else if (code === EPB_EFFECTIVE_PROCESS) p.pktapEffective = value < count ? d.sectionBase + value : -1;
      else if (code === EPB_SERVICE_CLASS) p.serviceClass = value;
      else if (code === EPB_DARWIN_FLAGS) p.pktapFlags = value;
      else if (code === EPB_FLAGS) p.direction = value & 3;
    }
    o = v + ((olen + 3) & ~3);
  }
}

/** Resets the pktap fields (every packet, so none carries the previous packet's). */
export function clearPacketOptions(p: Packet): void {
  p.pktapProcess = -1;
  p.pktapEffective = -1;
  p.serviceClass = -1;
  p.pktapFlags = -1;
  p.direction = -1;
}

/** UTF-8 text without the trailing NULs libpcap 1.9.1 writes. */
function text(b: Buffer, v: number, len: number): string {
  let e = v + len;
  while (e > v && b[e - 1] === 0) e--;
  return b.toString('utf8', v, e);
}

function uuidText(b: Buffer, v: number): string {
  const h = b.toString('hex', v, v + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
