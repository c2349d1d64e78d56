import type { Packet } from '../capture/packet.js';
import { IPPROTO, newDecoded, newSkipCounts, type Decoded, type SkipCounts } from '../decode/decoded.js';
import { lossOf, trackTcpLoss } from '../flows/tcp-loss.js';
import { decodePacket } from '../decode/decode-packet.js';
import type { Flow } from '../flows/flow.js';
import { createFlowTable, type EarlyExpiries, type FlowTableOptions } from '../flows/flow-table.js';
import { createEnricher } from '../enrich/enricher.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import { attributeFromComment } from '../attribution/packet-comment.js';
import { attributeFromPktap } from '../attribution/os/darwin/pktap-packet.js';
import { classifyFlow, type Classification } from '../classify/classify.js';
import { createClassifyMemory } from './classify-memory.js';
import { createFragmentTracker, type FragmentStats } from '../decode/ip-fragments.js';
import { newPacket } from '../capture/packet.js';
import { isDnsPort } from '../enrich/dns.js';
import { LINKTYPE } from '../capture/packet.js';
import { captureInterface } from '../decode/link.js';
import { fingerprintPacket } from '../decode/packet-fingerprint.js';
import { createDuplicateFilter } from './duplicate-filter.js';
import { EARLIEST_SANE_US, latestSaneUs } from '../capture/time-bounds.js';
import { boundHeapGrowth } from './heap-growth.js';

/** Where finished results go. Flows arrive once, when they close, already classified. */
export interface IngestSinks {
  flow(f: Flow, c: Classification): void;
  dns(rec: DnsRecord): void;
  http(rec: HttpRecord): void;
}

export interface IngestCounts {
  packets: number;
  /** Bytes on the wire of every packet counted in `packets` (what the --metrics byte counter reports). */
  bytes: number;
  decoded: number;
  /** µs of the earliest and latest packet (a session's window). */
  readonly firstTs: number | null;
  readonly lastTs: number | null;
  skips: SkipCounts;
  /** TCP bytes acknowledged, and of them never captured, over closed flows (src/flows/tcp-loss.ts). */
  tcpAcked: number;
  tcpMissed: number;
  /** IP fragment reassembly (src/decode/ip-fragments.ts). */
  readonly fragments: FragmentStats;
  /** Flows the table closed before their time (full table, half-open timeout). */
  readonly expiredEarly: EarlyExpiries;
}

export interface IngestOptions {
  /** Open flows at most (--max-flows); default DEFAULT_MAX_FLOWS of src/flows/flow-table.ts. */
  maxFlows?: number;
  /** Once this many flows are open, bound V8's heap growth for the rest of the process (heap-growth.ts). */
  boundHeapAtFlows?: number;
  /** A shorter close delay for rejected connection attempts under pressure (flow-table.ts FlowTableOptions.rejected). */
  rejected?: FlowTableOptions['rejected'];
}

export interface IngestOptions {
  /**
   * The wall clock when reading starts, µs (default: now): packets more than a day past it, or
   * before 1990, are skipped as 'bad-timestamp'. `tick` moves it on for a live capture.
   */
  nowUs?: number;
}

/**
 * Optional per-flow and per-packet hooks (the live daemon: attribution, evidence, dirty tracking).
 * Without onHeld, hooks get every flow as a Flow from its first packet. With onHeld, a flow the
 * table holds in its rows (flow-table.ts count(): bare SYNs, or one way only with no payload read)
 * is told by its slot (ingest.heldFlow, ingest.standIn), and gets its Flow when answered or closed.
 */
export interface IngestHooks {
  /** A flow's first packet, with its Flow (not for held flows: see onHeld). */
  onOpen?(f: Flow): void;
  /** A packet of a flow with its Flow. */
  onPacket?(f: Flow, dir: number, p: Packet, d: Decoded): void;
  /** A packet counted in a held flow's rows only: its slot (and idOf(slot)); `first`: the flow's first packet. */
  onHeld?(slot: number, first: boolean): void;
  /** A held flow got its Flow (answered, closed, adopted). */
  onHeldFlow?(f: Flow): void;
}

/**
 * The per-packet pipeline shared by file import and live capture:
 * decode -> flow table -> TCP loss -> enrich (naming) -> comment attribution -> hooks;
 * classification when a flow closes. `packet` is the hot path: it allocates nothing for a
 * packet of a known flow.
 *
 * IP fragments (src/decode/ip-fragments.ts): a later fragment counts in its datagram's flow
 * (it carries no ports of its own), also when it came before the first fragment; a DNS datagram
 * reaches naming once all its fragments are in. A fragment whose first fragment never shows up
 * stays counted as skipped ('ip-fragment').
 *
 * Several interfaces (a capture on `any`, a pcapng with several interfaces, a live capture on
 * several devices): a forwarding host captures each forwarded packet on every interface it
 * crosses. The copies after the first are counted once, as skipped ('duplicate-other-interface'),
 * and each flow keeps the interfaces it was seen on (Flow.ifaces). A macOS pktap capture shows each
 * lo0 packet going out and coming in: the in copy is skipped as 'duplicate-loopback-in', its process
 * tag kept (the receiver's). See native-notes/dedup.md.
 *
 * A packet whose time is not sane (capture/time-bounds.ts: a file's own clock can say anything)
 * is counted as skipped ('bad-timestamp') before it touches the window, the flow table or expiry.
 */
export function createIngest(sinks: IngestSinks, hooks: IngestHooks = {}, opts: IngestOptions = {}) {
  const decoded = newDecoded();
  // First and last capture time. In a typed array, not in `counts`: a field that starts as null
  // holds a double as a fresh heap number, so writing the time there allocated once per packet.
  const span = new Float64Array([NaN, NaN]);
  // Earliest and latest sane packet time; typed array for the same reason as span.
  const saneTs = new Float64Array([EARLIEST_SANE_US, latestSaneUs(opts.nowUs ?? Date.now() * 1000)]);
  const frags = createFragmentTracker();
  const counts: IngestCounts = {
    fragments: frags.stats,
    get expiredEarly() { return table.expiredEarly; },
    packets: 0, bytes: 0, decoded: 0, skips: newSkipCounts(), tcpAcked: 0, tcpMissed: 0,
    get firstTs() { return Number.isNaN(span[0]) ? null : span[0]; },
    get lastTs() { return Number.isNaN(span[1]) ? null : span[1]; },
  };
  const memory = createClassifyMemory();

  const enricher = createEnricher({
    dns(rec) {
      memory.noteDns(rec);
      sinks.dns(rec);
    },
    http(rec) {
      memory.noteHttp(rec);
      sinks.http(rec);
    },
  });

  let boundHeapAt = opts.boundHeapAtFlows ?? Infinity;
  // Without per-flow hooks nothing needs a flow's Flow object at a bare SYN, or at a packet one way
  // whose payload nothing reads: the table holds such flows in its rows until they are answered or
  // close (a flood's flows: ~230 instead of ~870 bytes each). Hooks that take a Flow per packet
  // (evidence) get a Flow always; onHeld takes a held flow's slot instead.
  const bareSyns = hooks.onHeld !== undefined || (hooks.onOpen === undefined && hooks.onPacket === undefined);
  const onHeld = hooks.onHeld;
  const table = createFlowTable({
    maxFlows: opts.maxFlows,
    rejected: opts.rejected,
    onOpen: (f, held, synSeq) => {
      enricher.onFlowOpen(f, held, synSeq);
      if (!held) hooks.onOpen?.(f);
      else hooks.onHeldFlow?.(f);
    },
    // The enricher reads UDP payload on DNS ports only (enricher.ts initialState).
    readsPayload: (d) => d.proto === IPPROTO.UDP && (isDnsPort(d.srcPort) || isDnsPort(d.dstPort)),
    nameAtOpen: (p, d) => enricher.dnsCache.nameFor(p.buf, d.addrLen, p.ts, d.dstOff),
    onClose: (f) => {
      enricher.onFlowClose(f);
      const loss = lossOf(f);
      counts.tcpAcked += loss.ackedOut + loss.ackedIn;
      counts.tcpMissed += loss.gapOut + loss.gapIn;
      sinks.flow(f, classifyFlow(f, memory.contextFor(f)));
      memory.forget(f);
    },
  });

  const onPacket = hooks.onPacket;
  // Stands in for later fragments that came before their first: their bytes are gone, their counts are not.
  const heldPkt = newPacket();
  // Idle expiry runs once per second of capture time, not per packet.
  let nextExpiry = 0;
  // Copies of one packet on several interfaces: checked only once the capture has more than one.
  const duplicates = createDuplicateFilter();
  const fingerprint = new Int32Array(2);
  let severalIfaces = false;

  function packet(p: Packet): void {
    counts.packets++;
    counts.bytes += p.origLen;
    // Written so that NaN fails too: plain number compares, nothing allocated.
    if (!(p.ts >= saneTs[0] && p.ts <= saneTs[1])) {
      counts.skips['bad-timestamp']++;
      return;
    }
    // Earliest and latest, not first and last in the file: a capture merged from several
    // interfaces (dumpcap, ptcpdump) is not in time order at its end.
    if (!(p.ts >= span[0])) span[0] = p.ts;
    if (!(p.ts <= span[1])) span[1] = p.ts;
    if (p.ts >= nextExpiry) {
      table.expire(p.ts);
      frags.expire(p.ts);
      nextExpiry = p.ts + 1_000_000;
    }
    // p.direction > 0: a macOS pktap capture, where lo0 shows each packet twice (out, then in).
    const multi = severalIfaces || p.iface !== 0 || p.linktype === LINKTYPE.LINUX_SLL2 || p.linktype === LINKTYPE.LINUX_SLL
      || p.direction > 0;
    if (!decodePacket(p, decoded, counts.skips)) {
      if (decoded.fragment !== 2) return;
      if (multi && isCopy(p)) {
        counts.skips['ip-fragment']--;
        return;
      }
      laterFragment(p);
      return;
    }
    if (multi && isCopy(p)) return;
    counts.decoded++;
    // A packet with a process tag, or of a capture with several interfaces, needs its Flow.
    const flow = bareSyns && !multi && p.comment === null && p.pktapProcess < 0 ? table.count(p, decoded) : table.ingest(p, decoded);
    if (table.lastNew && table.size >= boundHeapAt) {
      boundHeapGrowth();
      boundHeapAt = Infinity;
    }
    if (flow === null) {
      // Held in the table's rows: nothing else reads the packet.
      if (onHeld !== undefined) onHeld(table.lastSlot, table.lastNew);
      return;
    }
    const dir = table.lastDir;
    if (multi) {
      noteInterface(flow, p);
      duplicates.setOwnerOfLast(flow, dir);
    }
    if (decoded.proto === IPPROTO.TCP) trackTcpLoss(flow, dir, decoded);
    enricher.onPacket(flow, dir, p, decoded);
    if (p.comment !== null) attributeFromComment(flow, dir, p.comment);
    if (p.pktapProcess >= 0) attributeFromPktap(flow, dir, p);
    onPacket?.(flow, dir, p, decoded);
    if (decoded.fragment === 1) firstFragment(flow, dir, p);
  }

  /** A copy of a packet already counted on another interface: counted as skipped, once. */
  function isCopy(p: Packet): boolean {
    severalIfaces = true;
    const iface = captureInterface(p.buf, p.off, p.caplen, p.linktype, p.iface);
    fingerprintPacket(p.buf, Math.min(p.off + p.caplen, p.buf.length), decoded, fingerprint);
    if (!duplicates.isCopy(p, fingerprint, iface)) return false;
    counts.skips[duplicates.lastWasLoopbackIn() ? 'duplicate-loopback-in' : 'duplicate-other-interface']++;
    const flow = duplicates.ownerOfLast();
    if (flow !== null) {
      // The flow crossed this interface too: before the first copy's when stamped before it.
      noteInterface(flow, p, duplicates.lastCopyWasEarlier() ? duplicates.firstIfaceOfLast() : -1);
      // A pktap loopback packet's in copy names its receiver: the flow's other end.
      if (p.pktapProcess >= 0) attributeFromPktap(flow, duplicates.ownerDirOfLast(), p);
    }
    return true;
  }

  /**
   * Adds the packet's interface to its flow's list (an allocation only for a flow's first, or a new,
   * interface): at the end, or just before interface `before` (>= 0) when the packet is a copy
   * stamped before that interface's copy, so the list stays in the order the flow crossed them.
   */
  function noteInterface(flow: Flow, p: Packet, before = -1): void {
    const iface = captureInterface(p.buf, p.off, p.caplen, p.linktype, p.iface);
    const seen = flow.ifaces;
    if (seen === null) {
      // A flow that began before the capture showed a second interface began on its first
      // packet's interface (cooked `any` captures are checked from their first packet on).
      const cooked = p.linktype === LINKTYPE.LINUX_SLL2 || p.linktype === LINKTYPE.LINUX_SLL;
      const first = cooked ? iface : flow.iface;
      flow.ifaces = first === iface ? [iface] : before === first ? [iface, first] : [first, iface];
    } else if (seen[seen.length - 1] !== iface && !seen.includes(iface)) {
      const at = before < 0 ? -1 : seen.indexOf(before);
      if (at < 0) seen.push(iface);
      else seen.splice(at, 0, iface);
    }
  }

  function firstFragment(flow: Flow, dir: number, p: Packet): void {
    const udp = decoded.proto === IPPROTO.UDP;
    const keep = udp && (isDnsPort(decoded.srcPort) || isDnsPort(decoded.dstPort));
    frags.first(p, decoded, udp ? decoded.payloadOff - 8 : decoded.fragDataOff, keep);
    const released = frags.released;
    const datagram = frags.datagram;
    if (released.length > 0) {
      heldPkt.buf = p.buf;
      heldPkt.iface = p.iface;
      heldPkt.linktype = p.linktype;
      for (const h of released) {
        heldPkt.ts = h.ts;
        asLaterFragment(h.ipLen, h.dataLen, 0);
        countFragment();
        table.ingest(heldPkt, decoded);
      }
    }
    if (datagram !== null) deliver(flow, dir, datagram, p.ts);
  }

  function laterFragment(p: Packet): void {
    if (!frags.later(p, decoded)) return; // held until its first fragment comes
    const datagram = frags.datagram;
    asLaterFragment(decoded.ipLen, decoded.fragDataWireLen, decoded.fragDataLen);
    decoded.payloadOff = decoded.fragDataOff;
    countFragment();
    const flow = table.ingest(p, decoded);
    const dir = table.lastDir;
    if (severalIfaces) {
      noteInterface(flow, p);
      duplicates.setOwnerOfLast(flow, dir);
    }
    if (p.comment !== null) attributeFromComment(flow, dir, p.comment);
    if (p.pktapProcess >= 0) attributeFromPktap(flow, dir, p);
    onPacket?.(flow, dir, p, decoded);
    if (datagram !== null) deliver(flow, dir, datagram, p.ts);
  }

  /** Makes `decoded` describe a later fragment: no transport header, all of it payload. */
  function asLaterFragment(ipLen: number, wireLen: number, capturedLen: number): void {
    decoded.fragment = 2;
    decoded.ipLen = ipLen;
    decoded.payloadWireLen = wireLen;
    decoded.payloadLen = capturedLen;
    decoded.tcpFlags = 0;
    decoded.tcpSeq = 0;
    decoded.tcpAck = 0;
    decoded.tcpWindow = -1; // no TCP header: no window to judge (0 would read as a zero-window advertisement)
  }

  /** A fragment counted in a flow after all: decodePacket had counted it as skipped. */
  function countFragment(): void {
    counts.skips['ip-fragment']--;
    counts.decoded++;
  }

  /** A whole datagram of a DNS flow: its UDP payload goes to naming. */
  function deliver(flow: Flow, dir: number, datagram: Buffer, ts: number): void {
    if (datagram.length < 8) return;
    const udpLen = (datagram[4] << 8) | datagram[5];
    const end = udpLen >= 8 && udpLen <= datagram.length ? udpLen : datagram.length;
    enricher.onDatagram(flow, dir, datagram.subarray(8, end), ts);
  }

  /** Expires idle flows by wall-clock time, for a live capture that has gone quiet; moves the latest sane packet time on. */
  function tick(nowUs: number): void {
    saneTs[1] = Math.max(saneTs[1], latestSaneUs(nowUs));
    table.expire(nowUs);
  }

  /** The classification an open flow has now (a live capture writes open flows every second). */
  function classify(f: Flow): Classification {
    return classifyFlow(f, memory.contextFor(f));
  }

  /**
   * Closes every open flow (end of file, or the capture stopped). With `stopWhen` (the daemon's
   * stop deadline) it closes answered flows first and stops once stopWhen() is true: the flows
   * left open are never handed to sinks (unclosedAtStop says how many).
   */
  function finish(stopWhen?: () => boolean): IngestCounts {
    unclosedAtStop = table.closeAll(stopWhen);
    frags.flush();
    return counts;
  }
  let unclosedAtStop = 0;

  /**
   * The source has more than one interface (a live capture on several devices; a file whose second
   * interface was described before its packets): look for copies from the first packet on.
   */
  function severalInterfaces(): void {
    severalIfaces = true;
  }

  /** The held flow in a slot as a Flow, as it stands now, named as its Flow will be; not kept by the table. */
  function heldFlow(slot: number): Flow {
    const f = table.peek(slot, false);
    enricher.onFlowOpen(f, true, -1);
    return f;
  }

  return {
    packet, finish, tick, classify, severalInterfaces, openFlows: () => table.flows(), counts, heldFlow,
    /** The id of the flow in a slot (onHeld's). */
    idOf: (slot: number) => table.idAt(slot),
    /** Flow `id` in slot `slot`: 'held', its Flow, or null once it closed. */
    findHeld: (slot: number, id: number) => table.find(slot, id),
    /** The packets of the held flow in a slot. */
    heldPackets: (slot: number) => table.heldPackets(slot),
    /** A held flow's Flow for attribution at its first packet: the flow's own Flow if it gets one while this is kept (flow-table.ts peek). */
    standIn: (slot: number) => table.peek(slot, true),
    /** Flows finish(stopWhen) left open. */
    unclosedAtStop: () => unclosedAtStop,
  };
}

export type Ingest = ReturnType<typeof createIngest>;
