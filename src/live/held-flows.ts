import type { Attributor, ProcessInfo } from '../attribution/attributor.js';
import type { Classification } from '../classify/classify.js';
import type { Flow, FlowProcess } from '../flows/flow.js';

/**
 * The live engine's side of flows the flow table holds in its rows without a Flow object
 * (flow-table.ts count(): bare SYNs, a flow one way only whose payload nothing reads: a flood's
 * flows, ~250 bytes each instead of ~900). Such a flow is known by its slot and id. What the
 * engine would have kept on its Flow is kept here by id, compactly, and handed to the Flow once
 * the table makes it (answered, closed): that it changed since the last write (`touched`), the
 * owners attribution found for it (on a stand-in Flow given to the attributor at its first
 * packet), and the packets and classification of its last written row (so that a flow closing
 * with that row stored is not written again).
 *
 * A held flow's row is built from a Flow made for the purpose (`source.flowOf`), not kept: a
 * "transient". Its counters are those of when it was made.
 */
export interface HeldSource {
  /** Flow `id` in slot `slot`: 'held', its Flow once it has one, null once it closed. */
  find(slot: number, id: number): Flow | 'held' | null;
  /** A held flow as a Flow, as it stands now (not kept by the table). */
  flowOf(slot: number): Flow;
  /** A held flow's packets. */
  packets(slot: number): number;
}

/** A held flow among a write's changed open flows: made into a (transient) Flow only when its row is built. */
export class HeldKey {
  constructor(readonly slot: number, readonly id: number) {}
}

/** A changed open flow: a Flow, or a held flow's key. */
export type OpenEntry = Flow | HeldKey;

/** Owners attribution gave a held flow's stand-in, to be put on its Flow. */
interface Owners {
  process: FlowProcess | null;
  peerProcess: FlowProcess | null;
  info: ProcessInfo | null;
  peer: ProcessInfo | null;
}

/** A written row's packets, whether it named owners, and its interned classification in one number: packets below 2^21. */
const PACKETS_RANGE = 2 ** 21;
/** Distinct classifications interned at most (a reason names a port: ~65,000 kinds under a flood). */
const MAX_CLASSES = 100_000;

export function createHeldFlows(attributor: Attributor, source: () => HeldSource) {
  /** Held flows changed since the last take: slot → id. */
  const dirty = new Map<number, number>();
  const transients = new WeakSet<Flow>();
  /**
   * Held flows' last written row, by slot: the flow's id (0: none) and packets + class index ×
   * PACKETS_RANGE. Typed arrays, not a Map by id: under a flood every held flow has a row (~500,000),
   * and a Map entry with its boxed number cost ~55 bytes of heap a flow, against 16 here per slot.
   */
  let writtenIds = new Float64Array(1024);
  let writtenCodes = new Float64Array(1024);
  const classIndex = new Map<string, number>();
  const classes: Classification[] = [];
  /** Owners found while a flow was held: id → owners. */
  const owners = new Map<number, Owners>();
  /** Flows made after their stand-in was gone: the owners copied onto them. */
  const copied = new WeakMap<Flow, Owners>();

  /** The code of flow `id`'s last written row, if its slot holds one for it. */
  function writtenCode(slot: number, id: number): number | undefined {
    return slot < writtenIds.length && writtenIds[slot] === id ? writtenCodes[slot] : undefined;
  }

  function setWritten(slot: number, id: number, code: number): void {
    if (slot >= writtenIds.length) {
      let n = writtenIds.length;
      while (n <= slot) n *= 2;
      const ids = new Float64Array(n);
      ids.set(writtenIds);
      const codes = new Float64Array(n);
      codes.set(writtenCodes);
      writtenIds = ids;
      writtenCodes = codes;
    }
    writtenIds[slot] = id;
    writtenCodes[slot] = code;
  }

  function forgetWritten(slot: number, id: number): void {
    if (slot < writtenIds.length && writtenIds[slot] === id) writtenIds[slot] = 0;
  }

  function intern(cls: Classification): number {
    const i = classIndex.get(cls.reason);
    if (i !== undefined) {
      const known = classes[i];
      return known.activity === cls.activity && known.ollama === cls.ollama ? i : -1;
    }
    if (classes.length >= MAX_CLASSES) return -1;
    classIndex.set(cls.reason, classes.length);
    classes.push(cls);
    return classes.length - 1;
  }

  /** Owners recorded for a held flow go onto a Flow of it that lacks them (not the stand-in itself: the attributor's). */
  function putOwners(f: Flow, o: Owners | undefined): void {
    if (o === undefined || f.process !== null || f.peerProcess !== null) return;
    f.process = o.process;
    f.peerProcess = o.peerProcess;
    copied.set(f, o);
  }

  /** A held flow as a transient Flow now, or the Flow it has had made since (null: closed). */
  function flowAt(slot: number, id: number): Flow | null {
    const found = source().find(slot, id);
    if (found !== 'held') return found === null || found.closed ? null : found;
    const t = source().flowOf(slot);
    transients.add(t);
    putOwners(t, owners.get(id));
    return t;
  }

  /** An entry as it is now: a held flow's key while it is held, else its open Flow; null once closed. */
  function entryNow(e: OpenEntry): OpenEntry | null {
    if (e instanceof HeldKey) {
      const found = source().find(e.slot, e.id);
      return found === 'held' ? e : found === null || found.closed ? null : found;
    }
    if (!transients.has(e)) return e.closed ? null : e;
    const found = source().find(e.at, e.id);
    return found === 'held' ? new HeldKey(e.at, e.id) : found === null || found.closed ? null : found;
  }

  return {
    /** A packet was counted in held flow `id` at `slot`. */
    touched(slot: number, id: number): void {
      dirty.set(slot, id);
    },

    /** Attribution named the owners of a flow still held, on its stand-in: kept by id, the flow's row is written again. */
    attributed(standIn: Flow): void {
      owners.set(standIn.id, { process: standIn.process, peerProcess: standIn.peerProcess, info: attributor.processOf(standIn), peer: attributor.peerOf(standIn) });
      dirty.set(standIn.at, standIn.id);
    },

    /**
     * A held flow got its Flow (at the table's slot `f.at`): its owners go onto it; returns the
     * packets and classification of its last written row, if any, and whether it was changed since.
     */
    gotFlow(f: Flow): { row: { packets: number; cls: Classification; process: ProcessInfo | null; peer: ProcessInfo | null } | null; dirty: boolean } {
      const o = owners.get(f.id);
      owners.delete(f.id);
      putOwners(f, o);
      const w = writtenCode(f.at, f.id);
      forgetWritten(f.at, f.id);
      const wasDirty = dirty.get(f.at) === f.id;
      if (wasDirty) dirty.delete(f.at);
      if (w === undefined) return { row: null, dirty: wasDirty };
      const code = Math.floor(w / PACKETS_RANGE);
      // A row that named owners named those kept for the flow then (new owners make it changed again).
      const named = code % 2 === 1;
      const row = { packets: w % PACKETS_RANGE, cls: classes[Math.floor(code / 2)], process: named ? o?.info ?? null : null, peer: named ? o?.peer ?? null : null };
      return { row, dirty: wasDirty };
    },

    /** Adds the held flows changed since the last take to `open`, by key (gotFlow took those that have a Flow since). */
    take(open: OpenEntry[]): void {
      for (const [slot, id] of dirty) open.push(new HeldKey(slot, id));
      dirty.clear();
    },

    /** An entry as a Flow to build its row from (a held flow's transient), or null once it closed. */
    flowOf: (e: OpenEntry): Flow | null => (e instanceof HeldKey ? flowAt(e.slot, e.id) : e.closed ? null : e),
    entryNow,

    /** The store holds a held flow's latest counters. */
    keyStored(k: HeldKey): boolean {
      const w = writtenCode(k.slot, k.id);
      return w !== undefined && w % PACKETS_RANGE === source().packets(k.slot);
    },

    isTransient: (f: Flow) => transients.has(f),

    /** What a row is kept by (store-gaps.ts): a Flow, or a flow's id while it is held (or once it closed, held). */
    rowKey(f: Flow): Flow | number {
      if (!transients.has(f)) return f;
      const found = source().find(f.at, f.id);
      return found === 'held' || found === null ? f.id : found;
    },

    /** A held flow's key or transient whose row could not be written: its flow is changed still. */
    putBack(e: HeldKey | Flow): void {
      if (e instanceof HeldKey) dirty.set(e.slot, e.id);
      else dirty.set(e.at, e.id);
    },

    /**
     * A transient's row is in the store. Returns the Flow its flow has had made since (whose
     * written row this now is), or null: kept here by id while the flow is held, dropped if it
     * closed since (its Flow's row is written again when it closes).
     */
    wrote(f: Flow, packets: number, cls: Classification, process: ProcessInfo | null, peer: ProcessInfo | null): Flow | null {
      const found = source().find(f.at, f.id);
      if (found !== 'held') return found;
      const o = owners.get(f.id);
      const named = process !== null || peer !== null;
      // A row naming owners other than those kept (they changed on the way) is not the flow's row: not kept.
      const c = packets >= PACKETS_RANGE || (named && (process !== (o?.info ?? null) || peer !== (o?.peer ?? null))) ? -1 : intern(cls);
      if (c >= 0) setWritten(f.at, f.id, (2 * c + (named ? 1 : 0)) * PACKETS_RANGE + packets);
      else forgetWritten(f.at, f.id);
      return null;
    },

    /** Packets of a transient's last written row, or -1. */
    writtenPackets(f: Flow): number {
      const w = writtenCode(f.at, f.id);
      return w === undefined ? -1 : w % PACKETS_RANGE;
    },

    processOf: (f: Flow): ProcessInfo | null => attributor.processOf(f) ?? copied.get(f)?.info ?? null,
    peerOf: (f: Flow): ProcessInfo | null => attributor.peerOf(f) ?? copied.get(f)?.peer ?? null,
  };
}

export type HeldFlows = ReturnType<typeof createHeldFlows>;
