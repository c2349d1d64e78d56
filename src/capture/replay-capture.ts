/**
 * A capture file replayed as if it were being captured now (`demo --watch`): the LiveCapture
 * interface over the project's file readers, handing packets to onPacket at the file's own pace
 * scaled by 1/speed. It needs no privileges: nothing is opened but the file.
 *
 * Time: each packet is stamped with the moment the replay hands it on, i.e. its offset from the
 * file's first packet divided by `speed`, added to the wall clock at start(). Not the file's own
 * timestamps: the live engine expires idle flows and the dashboard computes ages, rates and the
 * SILENT timer against the wall clock, so packets from another day would show as days old and be
 * expired at the first tick. Spacing is kept (scaled), so what the dashboard shows is what a live
 * capture of the same traffic played `speed` times faster would show. Packets keep the file's
 * order; one stamped earlier than the one before it (dumpcap writes each interface's packets as
 * they come) is handed on at once, with its own (earlier) stamp, as an import reads it.
 *
 * The packets are read into memory first (one Buffer of their bytes plus a few numbers each), so
 * that handing them on is a pointer move with no allocation: fine for the bundled capture (80 KB of
 * packets); a large file would want the pcapng block-range reader instead.
 */
import { readCaptureFile } from './read-file.js';
import { newPacket, type InterfaceInfo, type Packet, type PktapProcess } from './packet.js';
import type { LiveCapture, LiveCounts, LiveStats } from './live-capture.js';

/** The clock and timer the replay paces itself by; tests inject a fake one. */
export interface ReplayClock {
  /** Wall clock, ms since the epoch. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface ReplayOptions {
  /** Playback speed: 2 plays twice as fast as captured. A positive finite number; default 1. */
  speed?: number;
  clock?: ReplayClock;
}

export interface ReplayCapture extends LiveCapture {
  /** Resolves once the last packet was handed on (or stop() came first): the session can end. */
  readonly ended: Promise<void>;
}

const SYSTEM_CLOCK: ReplayClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The file's packets, held for replay: bytes in one Buffer, the rest in parallel arrays. */
interface Held {
  bytes: Buffer;
  /** Per packet: offset into bytes, captured and wire length, link type, interface, file timestamp (µs). */
  off: number[]; caplen: number[]; origLen: number[]; linktype: number[]; iface: number[]; ts: number[];
  comment: (string | null)[];
  /** pktap fields and epb direction (see Packet), per packet. */
  pktap: Int32Array;
  pktapProcesses: readonly PktapProcess[] | null;
}

const PKTAP_FIELDS = 5;

/** Throws CaptureFileError when the file is no capture (read-file.ts). */
export function openReplayCapture(path: string, opts: ReplayOptions = {}): ReplayCapture {
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`replay speed must be a positive finite number, got ${speed}`);
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const { held, interfaces, drops, warnings } = holdPackets(path);
  const n = held.off.length;
  const packet = newPacket();
  packet.buf = held.bytes;
  packet.pktapProcesses = held.pktapProcesses;
  let next = 0;
  let delivered = 0;
  let timer: unknown = null;
  let startMs = 0;
  let stopped = false;
  let sink: ((p: Packet) => void) | null = null;
  let endedNow: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => { endedNow = resolve; });
  const t0 = n > 0 ? held.ts[0] : 0;
  /** When packet i is due, ms on the replay clock. */
  const dueMs = (i: number) => startMs + (held.ts[i] - t0) / 1000 / speed;

  function hand(i: number): void {
    packet.ts = startMs * 1000 + (held.ts[i] - t0) / speed;
    packet.caplen = held.caplen[i];
    packet.origLen = held.origLen[i];
    packet.linktype = held.linktype[i];
    packet.iface = held.iface[i];
    packet.off = held.off[i];
    packet.comment = held.comment[i];
    const k = i * PKTAP_FIELDS;
    packet.pktapProcess = held.pktap[k];
    packet.pktapEffective = held.pktap[k + 1];
    packet.serviceClass = held.pktap[k + 2];
    packet.pktapFlags = held.pktap[k + 3];
    packet.direction = held.pktap[k + 4];
    delivered++;
    sink!(packet);
  }

  /** Hands on every packet that is due, then waits for the next one. */
  function step(): void {
    timer = null;
    if (stopped) return;
    const now = clock.now();
    while (next < n && dueMs(next) <= now) hand(next++);
    if (next < n) timer = clock.setTimer(step, dueMs(next) - now);
    else endedNow();
  }

  function stats(): LiveStats {
    const counts: LiveCounts = { delivered, beforeStart: 0, kernelPackets: null, kernelDrops: drops, ifDrops: null };
    const note = drops === null
      ? 'replay of a capture file: the replay drops nothing; the file does not say what its capture dropped'
      : 'replay of a capture file: the drops are those the file records (pcapng statistics); the replay drops nothing';
    return { interfaces: [{ name: 'replay', ...counts, note }], total: counts, clockDriftUs: 0 };
  }

  return {
    interfaces,
    source: `replay of ${path} at ${speed}x`,
    ended,
    start(onPacket, events) {
      sink = onPacket;
      // A truncated or damaged file replays what was readable, as an import does.
      for (const w of warnings) events?.onWarning?.(`replayed file: ${w}`);
      startMs = clock.now();
      step();
    },
    stats,
    stop() {
      stopped = true;
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      endedNow();
    },
  };
}

/** Reads every packet of the file into one Buffer and per-packet arrays (not per packet on replay). */
function holdPackets(path: string): { held: Held; interfaces: InterfaceInfo[]; drops: number | null; warnings: string[] } {
  const chunks: Buffer[] = [];
  const off: number[] = [];
  const caplen: number[] = [];
  const origLen: number[] = [];
  const linktype: number[] = [];
  const iface: number[] = [];
  const ts: number[] = [];
  const comment: (string | null)[] = [];
  const pktap: number[] = [];
  let size = 0;
  let processes: readonly PktapProcess[] | null = null;
  const result = readCaptureFile(path, (p) => {
    off.push(size);
    chunks.push(Buffer.from(p.buf.subarray(p.off, p.off + p.caplen))); // a copy: the reader reuses its buffer
    size += p.caplen;
    caplen.push(p.caplen);
    origLen.push(p.origLen);
    linktype.push(p.linktype);
    iface.push(p.iface);
    ts.push(p.ts);
    comment.push(p.comment);
    pktap.push(p.pktapProcess, p.pktapEffective, p.serviceClass, p.pktapFlags, p.direction);
    processes = p.pktapProcesses;
  });
  const held: Held = {
    bytes: Buffer.concat(chunks, size), off, caplen, origLen, linktype, iface, ts, comment,
    pktap: Int32Array.from(pktap), pktapProcesses: processes,
  };
  return { held, interfaces: result.interfaces, drops: result.drops, warnings: result.warnings };
}
