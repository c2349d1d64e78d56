import type { Packet } from '../capture/packet.js';
import { IPPROTO, newDecoded, newSkipCounts, type Decoded, type SkipCounts } from '../decode/decoded.js';
import { lossOf, trackTcpLoss } from '../flows/tcp-loss.js';
import { decodePacket } from '../decode/decode-packet.js';
import type { Flow } from '../flows/flow.js';
import { createFlowTable } from '../flows/flow-table.js';
import { createEnricher } from '../enrich/enricher.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import { attributeFromComment } from '../attribution/packet-comment.js';
import { classifyFlow, type Classification } from '../classify/classify.js';
import { createClassifyMemory } from './classify-memory.js';

/** Where finished results go. Flows arrive once, when they close, already classified. */
export interface IngestSinks {
  flow(f: Flow, c: Classification): void;
  dns(rec: DnsRecord): void;
  http(rec: HttpRecord): void;
}

export interface IngestCounts {
  packets: number;
  decoded: number;
  readonly firstTs: number | null;
  readonly lastTs: number | null;
  skips: SkipCounts;
  /** TCP bytes acknowledged, and of them never captured, over closed flows (src/flows/tcp-loss.ts). */
  tcpAcked: number;
  tcpMissed: number;
}

/** Optional per-flow and per-packet hooks (the live daemon: attribution, evidence, dirty tracking). */
export interface IngestHooks {
  onOpen?(f: Flow): void;
  onPacket?(f: Flow, dir: number, p: Packet, d: Decoded): void;
}

/**
 * The per-packet pipeline shared by file import and live capture:
 * decode -> flow table -> TCP loss -> enrich (naming) -> comment attribution -> hooks;
 * classification when a flow closes. `packet` is the hot path: it allocates nothing for a
 * packet of a known flow.
 */
export function createIngest(sinks: IngestSinks, hooks: IngestHooks = {}) {
  const decoded = newDecoded();
  // First and last capture time. In a typed array, not in `counts`: a field that starts as null
  // holds a double as a fresh heap number, so writing the time there allocated once per packet.
  const span = new Float64Array([NaN, NaN]);
  const counts: IngestCounts = {
    packets: 0, decoded: 0, skips: newSkipCounts(), tcpAcked: 0, tcpMissed: 0,
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

  const table = createFlowTable({
    onOpen: (f) => {
      enricher.onFlowOpen(f);
      hooks.onOpen?.(f);
    },
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
  // Idle expiry runs once per second of capture time, not per packet.
  let nextExpiry = 0;

  function packet(p: Packet): void {
    counts.packets++;
    if (counts.packets === 1) span[0] = p.ts;
    span[1] = p.ts;
    if (p.ts >= nextExpiry) {
      table.expire(p.ts);
      nextExpiry = p.ts + 1_000_000;
    }
    if (!decodePacket(p, decoded, counts.skips)) return;
    counts.decoded++;
    const flow = table.ingest(p, decoded);
    if (decoded.proto === IPPROTO.TCP) trackTcpLoss(flow, table.lastDir, decoded);
    enricher.onPacket(flow, table.lastDir, p, decoded);
    if (p.comment !== null) attributeFromComment(flow, p.comment);
    onPacket?.(flow, table.lastDir, p, decoded);
  }

  /** Expires idle flows by wall-clock time, for a live capture that has gone quiet. */
  function tick(nowUs: number): void {
    table.expire(nowUs);
  }

  /** The classification an open flow has now (a live capture writes open flows every second). */
  function classify(f: Flow): Classification {
    return classifyFlow(f, memory.contextFor(f));
  }

  /** Closes every open flow (end of file, or the capture stopped). */
  function finish(): IngestCounts {
    table.closeAll();
    return counts;
  }

  return { packet, finish, tick, classify, openFlows: () => table.flows(), counts };
}

export type Ingest = ReturnType<typeof createIngest>;
