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
}

/** Owners attribution gave a held flow's stand-in, to be put on its Flow. */
interface Owners {
  process: FlowProcess | null;
  peerProcess: FlowProcess | null;
  info: ProcessInfo | null;
  peer: ProcessInfo | null;
}

/** A written row's packets and interned classification in one number: packets below 2^21. */
const PACKETS_RANGE = 2 ** 21;
/** Distinct classifications interned at most (a reason names a port: ~65,000 kinds under a flood). */
const MAX_CLASSES = 100_000;

export function createHeldFlows(attributor: Attributor, source: () => HeldSource) {
  /** Held flows changed since the last take: slot → id. */
  const dirty = new Map<number, number>();
  const transients = new WeakSet<Flow>();
  /** Held flows' last written row: id → packets + class index × PACKETS_RANGE. */
  const written = new Map<number, number>();
  const classIndex = new Map<string, number>();
  const classes: Classification[] = [];
  /** Owners found while a flow was held: id → owners. */
  const owners = new Map<number, Owners>();
  /** Flows made after their stand-in was gone: the owners copied onto them. */
  const copied = new WeakMap<Flow, Owners>();

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

  /** The flow a transient stood for, as it is now: a new transient while held, its Flow, or null once closed. */
  function current(f: Flow): Flow | null {
    if (!transients.has(f)) return f.closed ? null : f;
    const found = source().find(f.at, f.id);
    if (found !== 'held') return found === null || found.closed ? null : found;
    const t = source().flowOf(f.at);
    transients.add(t);
    putOwners(t, owners.get(t.id));
    return t;
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
    gotFlow(f: Flow): { row: { packets: number; cls: Classification } | null; dirty: boolean } {
      const o = owners.get(f.id);
      owners.delete(f.id);
      putOwners(f, o);
      const w = written.get(f.id);
      written.delete(f.id);
      const wasDirty = dirty.get(f.at) === f.id;
      if (wasDirty) dirty.delete(f.at);
      const row = w === undefined ? null : { packets: w % PACKETS_RANGE, cls: classes[Math.floor(w / PACKETS_RANGE)] };
      return { row, dirty: wasDirty };
    },

    /** Adds the held flows changed since the last take to `open`, each as a transient. */
    take(open: Flow[]): void {
      for (const [slot, id] of dirty) {
        const found = source().find(slot, id);
        if (found !== 'held') continue; // it got its Flow since (which was marked changed) or closed
        const t = source().flowOf(slot);
        transients.add(t);
        putOwners(t, owners.get(id));
        open.push(t);
      }
      dirty.clear();
    },

    isTransient: (f: Flow) => transients.has(f),

    /** What a row is kept by (store-gaps.ts): a Flow, or a flow's id while it is held (or once it closed, held). */
    rowKey(f: Flow): Flow | number {
      if (!transients.has(f)) return f;
      const found = source().find(f.at, f.id);
      return found === 'held' || found === null ? f.id : found;
    },
    current,

    /** A transient's row could not be written: its flow is changed still. */
    putBack(f: Flow): void {
      dirty.set(f.at, f.id);
    },

    /**
     * A transient's row is in the store. Returns the Flow its flow has had made since (whose
     * written row this now is), or null: kept here while the flow is held (a row naming owners is
     * not kept: such a flow is written again when it closes), dropped if it closed since.
     */
    wrote(f: Flow, packets: number, cls: Classification, named: boolean): Flow | null {
      const found = source().find(f.at, f.id);
      if (found !== 'held') return found;
      const c = named || packets >= PACKETS_RANGE ? -1 : intern(cls);
      if (c >= 0) written.set(f.id, c * PACKETS_RANGE + packets);
      return null;
    },

    /** Packets of a transient's last written row, or -1. */
    writtenPackets(f: Flow): number {
      const w = written.get(f.id);
      return w === undefined ? -1 : w % PACKETS_RANGE;
    },

    processOf: (f: Flow): ProcessInfo | null => attributor.processOf(f) ?? copied.get(f)?.info ?? null,
    peerOf: (f: Flow): ProcessInfo | null => attributor.peerOf(f) ?? copied.get(f)?.peer ?? null,
  };
}

export type HeldFlows = ReturnType<typeof createHeldFlows>;
