/**
 * Live capture through `cap` (libpcap) on one or more interfaces, handing downstream the same
 * reused Packet the file readers produce. cap patched to level 2 (native/cap-patch) opens a
 * TPACKET_V3 ring and passes the kernel's timestamps; older builds give none, so packets are
 * stamped on arrival (live-clock.ts). cap gives no drop counters: the kernel's are read from the
 * capture socket (live-drops.ts). Measured precision and limits: native-notes/cap.md.
 */
import { newPacket, type InterfaceInfo, type Packet } from './packet.js';
import { listDevices, loadCap, type CapDevice, type CapHandle, type CapModule } from './live-cap-module.js';
import { anchorClock, driftUs, nowUs, type WallAnchor } from './live-clock.js';
import { accumulate, interfaceDrops, loadPacketStats, loopbackSent, newKernelCounters, type KernelCounters, type PacketStatsAddon } from './live-drops.js';
import { LiveCaptureError, noSuchDeviceError, openError } from './live-error.js';
import { linktypeFromCap } from './live-linktype.js';
import { ANY_DEVICE } from './link-types.js';
import { isLoopbackDevice, newPacketSocketFd, socketFds } from './live-packet-socket.js';
import { DEFAULTS } from '../settings.js';

export { LiveCaptureError } from './live-error.js';

export interface LiveCaptureOptions {
  /** Device names; default ['any'] (all interfaces, Linux cooked headers). */
  interfaces?: string[];
  /** BPF filter expression (tcpdump syntax). */
  filter?: string;
  /** Kernel ring size asked of libpcap per interface; default DEFAULTS.captureBufferBytes (what it holds: native-notes/cap.md). */
  bufferBytes?: number;
  /** Bytes kept of each packet (the kernel cuts there; with a level-1 build it also sizes the ring's frames); default DEFAULTS.snaplen by device. Needs cap with native/cap-patch (else 65535, with a warning at start). */
  snaplen?: number;
  /**
   * libpcap's buffer timeout in ms: the TPACKET_V3 ring's block timeout (native/cap-patch level 2);
   * 0: immediate mode, a TPACKET_V2 ring of one frame a packet (what older builds have). Default
   * DEFAULTS.captureBufferTimeoutMs.
   */
  bufferTimeoutMs?: number;
  /**
   * With a TPACKET_V3 ring, the most ms stop() lets the event loop read what the ring still holds
   * before it closes (default 3 × the buffer timeout; 0 closes at once). The kernel hands a block
   * over only when it is full or at its timer's next tick, so a capture closed at once loses the
   * last 0–timeout ms of packets: counted as drops off `any`, lost without a count on it.
   */
  stopDrainMs?: number;
  /** What to tell a user who may not capture (default Linux's: root or setcap; macOS: sudo or access_bpf). */
  permissionHint?: string;
}

export interface LiveCounts {
  /** Packets handed to onPacket. */
  delivered: number;
  /** Packets that arrived before start() (cap consumes them; nobody saw them). */
  beforeStart: number;
  /** Packets that passed the filter in the kernel, dropped ones included; null when unknown. */
  kernelPackets: number | null;
  /**
   * Packets the kernel dropped because the capture ring was full, and, once the capture is closed,
   * those it had put in the ring that were never read (a backlog at the stop; not on `any`, where
   * the kernel also counts loopback's sent copies that libpcap throws away); null when unknown.
   */
  kernelDrops: number | null;
  /** Interface drops since open (rx_missed_errors + rx_fifo_errors, as libpcap); null for `any` or unknown. */
  ifDrops: number | null;
}

export interface LiveInterfaceStats extends LiveCounts {
  name: string;
  /** Why a counter is unknown or what qualifies it; null when there is nothing to say. */
  note: string | null;
}

export interface LiveStats {
  interfaces: LiveInterfaceStats[];
  /** Sums over interfaces; a counter is null when it is unknown on any interface. */
  total: LiveCounts;
  /** Wall clock minus the capture clock in µs (Date.now() resolution: ±1000). */
  clockDriftUs: number;
}

/** What a capture run by another program (macOS tcpdump) reports on its own. */
export interface LiveCaptureEvents {
  /** The capture ended by itself (the program exited, or wrote what cannot be read): the session must stop. */
  onFailed?(err: LiveCaptureError): void;
  /** One sentence for the user (a stream that ended mid-block, packets the program captured that never arrived). */
  onWarning?(text: string): void;
}

export interface LiveCapture {
  /** Every interface described so far (a pcapng stream describes its interfaces as it goes). */
  interfaces: InterfaceInfo[];
  /** What the session's source names, when the interface list is not yet known at start (macOS: "pktap,all"). */
  source?: string;
  /** Call in the same tick as openLiveCapture: packets that arrive before are counted as beforeStart. */
  start(onPacket: (p: Packet) => void, events?: LiveCaptureEvents): void;
  stats(): LiveStats;
  /**
   * Reads the final counters and closes every handle. Idempotent. A capture run by another program
   * returns a promise that resolves once it has exited and its last packets and counters are in.
   */
  stop(): void | Promise<void>;
}

/** cap 0.2.1's own snaplen, and the most the patched build takes; the copy buffer holds that, or cap truncates the copy. */
const CAP_SNAPLEN = 65535;
/** native/cap-patch's level with the buffer timeout (TPACKET_V3) and kernel timestamps. */
const V3_PATCH = 2;

/**
 * A handle whose open failed must never be closed nor collected: cap 0.2.1 then calls
 * uv_poll_stop on a poll handle it never initialised and crashes (measured: segfault). Closed
 * handles are kept too: a process that loads this module more than once (the test runner's shared
 * fork re-imports it for every file) ended with a closed IPC channel right after a file that had
 * captured live, its handles collected with the module that held them. The list lives on the
 * process, not on this module, so no instance of the module can orphan it; a handle is a few
 * hundred bytes and a process opens a handful.
 */
const keptHandles: CapHandle[] = ((globalThis as { __ollamaAuditCapHandles?: CapHandle[] }).__ollamaAuditCapHandles ??= []);
const failedHandles = keptHandles;

interface Source {
  device: string;
  handle: CapHandle;
  delivered: number;
  beforeStart: number;
  kernel: KernelCounters;
  ifDropsAtOpen: number | null;
  /** Interface drops read when the handle closed. */
  ifDropsAtClose: number | null;
  /** Packets left unread in the ring when the handle closed (0 where the counters cannot tell). */
  unreadAtClose: number;
  /**
   * What the kernel had put in the ring when stop() was called (putInRing), null before it or where
   * the counters cannot tell: packets that came after are past the session's end, read or not.
   */
  putAtStop: number | null;
  /** On `any` without a filter: loopback's sent packets at open (loopbackSent), which putInRing takes out; else null. */
  loopbackSentAtOpen: number | null;
  closed: boolean;
  note: string | null;
}

export function openLiveCapture(opts: LiveCaptureOptions = {}): LiveCapture {
  const devices = opts.interfaces?.length ? opts.interfaces : [ANY_DEVICE];
  const filter = opts.filter ?? '';
  const ring = opts.bufferBytes ?? DEFAULTS.captureBufferBytes;
  // Several interfaces: each handle's V3 ring hands its blocks over on its own timer, so the copies
  // of one forwarded packet would be read up to a block timeout of traffic apart, where the
  // duplicate filter's direct-mapped fingerprints (src/pipeline/duplicate-filter.ts) lose some of
  // them and count a copy again. Immediate mode (TPACKET_V2) reads them as they come, as before.
  const several = (opts.interfaces?.length ?? 0) > 1;
  const timeoutMs = opts.bufferTimeoutMs ?? (several ? 0 : DEFAULTS.captureBufferTimeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 60_000) {
    throw new LiveCaptureError(`buffer timeout must be a whole number of ms from 0 to 60000, got ${timeoutMs}`);
  }
  if (!Number.isInteger(ring) || ring <= 0 || ring > 0xffffffff) {
    throw new LiveCaptureError(`capture buffer size must be a positive whole number of bytes, got ${ring}`);
  }
  const cap = loadCap();
  const known = listDevices(cap);
  for (const d of devices) {
    if (known !== null && !known.some((k) => k.name === d)) throw noSuchDeviceError(d, known.map((k) => k.name));
  }
  const stats = loadPacketStats();
  const anchor = anchorClock();
  // One Packet and one Buffer for every interface: cap emits synchronously after copying, and
  // handles never interleave inside one emit, so the buffer holds exactly the packet being handed on.
  const packet = newPacket();
  packet.buf = Buffer.alloc(CAP_SNAPLEN + 1);
  const sources: Source[] = [];
  const interfaces: InterfaceInfo[] = [];
  let warning = olderPatchWarning(cap);
  let sink: ((p: Packet) => void) | null = null;
  let stopping: Promise<void> | null = null;
  // Level 2 passes the kernel's timestamps (whatever the ring), and makes a V3 ring with a buffer timeout.
  const kernelStamps = (cap.snaplenPatch ?? 0) >= V3_PATCH;
  const drainMs = kernelStamps && timeoutMs > 0 ? (opts.stopDrainMs ?? 3 * timeoutMs) : 0;
  try {
    for (let i = 0; i < devices.length; i++) {
      const snaplen = snaplenFor(cap, opts.snaplen ?? defaultSnaplen(devices[i]));
      warning = snaplen.warning || warning;
      const { source, linktype } = openOne(cap, devices[i], { filter, ring, snaplen: snaplen.value, timeoutMs, hint: opts.permissionHint }, packet.buf, stats.value, stats.why, known);
      sources.push(source);
      interfaces.push(describe(i, devices[i], linktype, snaplen.value, known));
      listen(source, i, linktype, packet, kernelStamps ? null : anchor, () => sink);
    }
  } catch (e) {
    for (const s of sources) closeSource(s, stats.value);
    throw e;
  }
  return {
    interfaces,
    start(onPacket, events) {
      sink = onPacket;
      if (warning) events?.onWarning?.(warning);
    },
    stats() {
      for (const s of sources) if (!s.closed) accumulate(s.kernel, stats.value);
      return summarize(sources, anchor);
    },
    stop() {
      if (stopping === null) {
        for (const s of sources) {
          accumulate(s.kernel, stats.value);
          if (!s.closed) s.putAtStop = putInRing(s);
        }
      }
      const closeAll = () => { for (const s of sources) closeSource(s, stats.value); };
      if (drainMs === 0) return closeAll();
      stopping ??= drainRing(sources, timeoutMs, drainMs).then(closeAll);
      return stopping;
    },
  };
}

/**
 * Lets the event loop read what a V3 ring held at the stop, for at most `drainMs`: until every
 * interface has handed over as many packets as its kernel counters said were in it then (putAtStop;
 * the ring is first in, first out), and where the counters cannot tell (`any` with a filter, unknown
 * counters), until one block timer period has passed and nothing more came for 10 ms. A flood
 * that kept the daemon behind leaves more than the budget reads: what is left is counted at close.
 */
async function drainRing(sources: Source[], timeoutMs: number, drainMs: number): Promise<void> {
  const t0 = performance.now();
  const mustSettle = sources.some((s) => s.putAtStop === null);
  let delivered = -1;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= drainMs) return;
    const readToEnd = sources.every((s) => s.putAtStop === null || s.delivered >= s.putAtStop);
    const now = sources.reduce((n, s) => n + s.delivered, 0);
    const settled = !mustSettle || (elapsed > timeoutMs + 10 && now === delivered);
    if (readToEnd && settled) return;
    delivered = now;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** DEFAULTS.snaplen for a device: loopback's for lo and for `any` (which carries lo's traffic). */
function defaultSnaplen(device: string): number {
  return device === ANY_DEVICE || isLoopbackDevice(device) ? DEFAULTS.snaplen.loopback : DEFAULTS.snaplen.device;
}

/**
 * The snaplen the capture will have: the one asked when cap carries native/cap-patch, else cap's
 * fixed 65535 and a warning (64 KiB ring frames: the ring holds 16 times fewer packets).
 */
function snaplenFor(cap: CapModule, asked: number): { value: number; warning: string } {
  if (!Number.isInteger(asked) || asked < 1 || asked > CAP_SNAPLEN) {
    throw new LiveCaptureError(`snapshot length must be a whole number of bytes from 1 to ${CAP_SNAPLEN}, got ${asked}`);
  }
  if ((cap.snaplenPatch ?? 0) >= 1 || asked === CAP_SNAPLEN) return { value: asked, warning: '' };
  return {
    value: CAP_SNAPLEN,
    warning: `the cap addon was built without native/cap-patch: snaplen ${CAP_SNAPLEN} instead of ${asked}, so each ring frame takes 64 KiB and the ring holds ~16 times fewer packets (rebuild: npm run build:native)`,
  };
}

/** A build with level 1 of native/cap-patch only: it works, with the ring and stamps of before. */
function olderPatchWarning(cap: CapModule): string {
  if (cap.snaplenPatch !== 1) return '';
  return `the cap addon was built with an older native/cap-patch (level 1): a TPACKET_V2 ring (one frame a packet, so it holds ~13 times fewer small packets) and packets stamped on arrival instead of by the kernel (rebuild: npm run build:native)`;
}

function openOne(
  cap: CapModule,
  device: string,
  { filter, ring, snaplen, timeoutMs, hint }: { filter: string; ring: number; snaplen: number; timeoutMs: number; hint: string | undefined },
  buf: Buffer,
  stats: PacketStatsAddon | null,
  statsWhy: string,
  known: CapDevice[] | null,
): { source: Source; linktype: number } {
  const handle = new cap.Cap();
  // cap keeps a raw pointer to `buf` without keeping it alive; a collected buffer means cap
  // writes packets into freed memory (measured: heap corruption, segfault under a flood).
  (handle as CapHandle & { keepAlive?: Buffer }).keepAlive = buf;
  const before = socketFds();
  // Read before the socket exists, so that loopback packets sent meanwhile can only make the unread figure smaller.
  const loopbackSentAtOpen = device === ANY_DEVICE && filter === '' ? loopbackSent() : null;
  let text: string;
  try {
    const level = cap.snaplenPatch ?? 0;
    if (level >= V3_PATCH) text = handle.open(device, filter, ring, buf, snaplen, timeoutMs);
    else text = level >= 1 ? handle.open(device, filter, ring, buf, snaplen) : handle.open(device, filter, ring, buf);
  } catch (e) {
    failedHandles.push(handle);
    throw openError(device, filter, e, known?.map((k) => k.name) ?? null, hint);
  }
  const fd = stats === null ? null : newPacketSocketFd(before);
  const kernel = newKernelCounters(fd, statsWhy);
  const note = kernel.unknown || loopbackOnce(device, kernel, stats);
  const source: Source = {
    device,
    handle,
    delivered: 0,
    beforeStart: 0,
    kernel,
    ifDropsAtOpen: interfaceDrops(device),
    ifDropsAtClose: null,
    unreadAtClose: 0,
    putAtStop: null,
    loopbackSentAtOpen,
    closed: false,
    note: note || null,
  };
  const linktype = linktypeFromCap(text);
  if (linktype < 0) {
    closeSource(source, stats);
    throw new LiveCaptureError(`cannot capture on ${device}: libpcap reports a link type the decoder does not know (${text})`);
  }
  return { source, linktype };
}

/**
 * On loopback each packet passes the packet socket twice (sent, then received) and libpcap drops
 * the sent copy in user space, after the kernel counted (and maybe dropped) both. Asking the
 * kernel to skip sent packets on loopback changes nothing that is delivered and makes the
 * counters count each packet once. Returns a note when that is not possible.
 */
function loopbackOnce(device: string, kernel: KernelCounters, stats: PacketStatsAddon | null): string {
  if (kernel.fd === null || stats === null || !isLoopbackDevice(device)) return '';
  try {
    stats.ignoreOutgoing(kernel.fd);
    return '';
  } catch (e) {
    return `loopback: the kernel counts each packet twice (${(e as Error).message})`;
  }
}

function describe(index: number, name: string, linktype: number, snaplen: number, known: CapDevice[] | null): InterfaceInfo {
  const description = known?.find((d) => d.name === name)?.description ?? null;
  return { index, linktype, name, description, snaplen };
}

/**
 * The per-packet path: fills the shared Packet in place, allocates nothing. `anchor` null: the
 * build passes the kernel's timestamps (level 2: a V3 block reaches us up to the buffer timeout
 * after its first packet); else packets are stamped on arrival.
 */
function listen(s: Source, iface: number, linktype: number, p: Packet, anchor: WallAnchor | null, sink: () => ((p: Packet) => void) | null): void {
  s.handle.on('packet', (nbytes: number, _truncated: boolean, origLen?: number, tsSec?: number, tsUsec?: number) => {
    const onPacket = sink();
    if (onPacket === null) {
      s.beforeStart++;
      return;
    }
    p.ts = anchor === null ? tsSec! * 1_000_000 + tsUsec! : nowUs(anchor);
    p.caplen = nbytes;
    // The patched cap passes the wire length (pkt_hdr->len); cap 0.2.1 only the captured one, whose
    // snaplen 65535 cuts nothing. Flows count the decoder's IP lengths either way (Decoded.ipLen).
    p.origLen = origLen === undefined ? nbytes : origLen;
    p.linktype = linktype;
    p.iface = iface;
    p.off = 0;
    p.comment = null;
    s.delivered++;
    onPacket(p);
  });
}

function closeSource(s: Source, stats: PacketStatsAddon | null): void {
  if (s.closed) return;
  s.closed = true;
  accumulate(s.kernel, stats);
  // Closed without a stop() (a failed start, a dead capture): what the ring holds now.
  const put = s.putAtStop ?? putInRing(s);
  s.unreadAtClose = put === null ? 0 : Math.max(0, put - s.delivered);
  s.ifDropsAtClose = ifDropsSince(s);
  s.kernel.fd = null; // once cap closes it, the fd number may be reused by anything
  s.handle.removeAllListeners('packet');
  s.handle.close();
  keptHandles.push(s.handle);
}

/**
 * What the kernel has put in the ring since open, for the ring's unread part (that less what cap
 * handed over): its packets less its drops less those read before start(). A TPACKET_V3 ring holds
 * seconds of a flood, so a daemon that fell behind closes with a backlog in it: lost as surely as a
 * drop. On `any` the kernel also counts loopback's sent copies, which libpcap throws away: without a
 * filter every one of them, so loopback's sent count since open is taken out (read before the socket
 * opened and after its counters, so a packet sent in between makes the figure smaller, never larger);
 * null (cannot tell) on `any` with a filter (how many passed it?), where the counters are unknown, and
 * where loopback's sent copies stay on (the note).
 */
function putInRing(s: Source): number | null {
  if (s.kernel.unknown || s.note) return null;
  const put = s.kernel.packets - s.kernel.drops - s.beforeStart;
  if (s.device !== ANY_DEVICE) return put;
  const sentNow = s.loopbackSentAtOpen === null ? null : loopbackSent();
  return sentNow === null ? null : put - (sentNow - s.loopbackSentAtOpen!);
}

function ifDropsSince(s: Source): number | null {
  const now = interfaceDrops(s.device);
  return now === null || s.ifDropsAtOpen === null ? null : now - s.ifDropsAtOpen;
}

function summarize(sources: Source[], anchor: WallAnchor): LiveStats {
  const interfaces = sources.map(interfaceStats);
  const total: LiveCounts = { delivered: 0, beforeStart: 0, kernelPackets: 0, kernelDrops: 0, ifDrops: 0 };
  for (const s of interfaces) {
    total.delivered += s.delivered;
    total.beforeStart += s.beforeStart;
    total.kernelPackets = sumOrNull(total.kernelPackets, s.kernelPackets);
    total.kernelDrops = sumOrNull(total.kernelDrops, s.kernelDrops);
    total.ifDrops = sumOrNull(total.ifDrops, s.ifDrops);
  }
  return { interfaces, total, clockDriftUs: driftUs(anchor) };
}

function interfaceStats(s: Source): LiveInterfaceStats {
  const known = s.kernel.unknown === '';
  return {
    name: s.device,
    delivered: s.delivered,
    beforeStart: s.beforeStart,
    kernelPackets: known ? s.kernel.packets : null,
    kernelDrops: known ? s.kernel.drops + s.unreadAtClose : null,
    ifDrops: s.closed ? s.ifDropsAtClose : ifDropsSince(s),
    note: s.kernel.unknown || s.note,
  };
}

function sumOrNull(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}
