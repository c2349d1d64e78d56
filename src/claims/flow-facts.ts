/**
 * A session's flow facts in columns: a store may hold millions of flows, and one object per flow
 * (about 330 bytes each) took over 300 MB at a million. What differs from flow to flow (id, seq,
 * times, bytes, addresses, far port) lives in typed arrays, about 50 bytes a flow; what a million
 * flows mostly share (activity, names, owner, state, processes: a "kind") is one object per
 * distinct combination. Addresses are numbers into a table of distinct address strings.
 *
 * Claims look at every flow through `scan`/`some`/`pick`, whose predicate gets one reused view
 * (never kept); `pick` keeps positions (4 bytes a flow), and `at` hands out a real FlowFact object,
 * made only for the few flows a reason or an evidence list shows.
 */
import type { FlowFact } from './session-facts.js';

/** The fields of a FlowFact that many flows share. */
export type FlowKind = Omit<FlowFact, PerFlow>;
type PerFlow = 'id' | 'seq' | 'firstSeen' | 'lastSeen' | 'bytes' | 'initiatorAddr' | 'responderAddr' | 'farAddr' | 'farPort';

/** One flow's own values, as the loader hands them in. */
export interface FlowValues {
  id: number; seq: number; firstSeen: number; lastSeen: number; bytes: number;
  initiatorAddr: string; responderAddr: string; farPort: number;
}

export class FlowFacts {
  private n = 0;
  private id: Float64Array;
  private seqs: Float64Array;
  private first: Float64Array;
  private last: Float64Array;
  private bytes: Float64Array;
  private initiator: Uint32Array;
  private responder: Uint32Array;
  private farPort: Uint16Array;
  private kindOf: Uint32Array;
  private readonly kinds: FlowKind[] = [];
  private readonly kindIndex = new Map<string, number>();
  private readonly addrs: string[] = [];
  private readonly addrIndex = new Map<string, number>();
  /** The view predicates get: loaded in place for each flow. */
  private readonly view = {} as FlowFact;
  /** pick()'s working space, reused: one selection is copied out of it at a time. */
  private picked = new Uint32Array(0);

  /** Room for `capacity` flows (the loader counts them first, so the columns need not grow). */
  constructor(capacity: number) {
    this.id = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.first = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.bytes = new Float64Array(capacity);
    this.initiator = new Uint32Array(capacity);
    this.responder = new Uint32Array(capacity);
    this.farPort = new Uint16Array(capacity);
    this.kindOf = new Uint32Array(capacity);
  }

  get length(): number {
    return this.n;
  }

  /**
   * Adds a flow; `kindKey` names its kind exactly (equal keys, equal kinds), `makeKind` is called
   * only for a key not seen before.
   */
  push(v: FlowValues, kindKey: string, makeKind: () => FlowKind): void {
    if (this.n >= this.id.length) this.grow();
    let k = this.kindIndex.get(kindKey);
    if (k === undefined) {
      k = this.kinds.length;
      this.kinds.push(makeKind());
      this.kindIndex.set(kindKey, k);
    }
    const i = this.n++;
    this.id[i] = v.id;
    this.seqs[i] = v.seq;
    this.first[i] = v.firstSeen;
    this.last[i] = v.lastSeen;
    this.bytes[i] = v.bytes;
    this.initiator[i] = this.addr(v.initiatorAddr);
    this.responder[i] = this.addr(v.responderAddr);
    this.farPort[i] = v.farPort;
    this.kindOf[i] = k;
  }

  /**
   * The flow at position `i` (time order) as its own object: its own values on an object whose
   * prototype is its kind (about 100 bytes, not 330: claims may keep many).
   */
  at(i: number): FlowFact {
    const f = Object.create(this.kinds[this.kindOf[i]]) as FlowFact;
    this.loadOwn(f, i);
    return f;
  }

  seq(i: number): number {
    return this.seqs[i];
  }

  /** Calls `fn` with each flow in time order; the view it gets is reused: copy what you keep (`at(i)`). */
  scan(fn: (view: Readonly<FlowFact>, i: number) => void): void {
    for (let i = 0; i < this.n; i++) fn(this.load(this.view, i), i);
  }

  some(pred: (view: Readonly<FlowFact>) => boolean): boolean {
    for (let i = 0; i < this.n; i++) if (pred(this.load(this.view, i))) return true;
    return false;
  }

  /**
   * The positions (in the order given: time order by default) of the flows the predicate keeps,
   * among `from` or all: what claims keep of a selection, 4 bytes a flow instead of an object.
   */
  pick(pred: (view: Readonly<FlowFact>) => boolean, from?: Uint32Array): Uint32Array {
    if (this.picked.length < this.n) this.picked = new Uint32Array(this.id.length);
    let k = 0;
    if (from) {
      for (let j = 0; j < from.length; j++) if (pred(this.load(this.view, from[j]))) this.picked[k++] = from[j];
    } else {
      for (let i = 0; i < this.n; i++) if (pred(this.load(this.view, i))) this.picked[k++] = i;
    }
    return this.picked.slice(0, k);
  }

  /** The flow at position `i` in the reused view: read it before the next view or scan. */
  viewAt(i: number): Readonly<FlowFact> {
    return this.load(this.view, i);
  }

  idAt(i: number): number {
    return this.id[i];
  }

  firstSeenAt(i: number): number {
    return this.first[i];
  }

  /** More flows than counted: a live capture wrote some between the count and the read. */
  private grow(): void {
    const size = Math.max(16, Math.ceil(this.id.length * 1.5));
    const more = <T extends Float64Array | Uint32Array | Uint16Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.id = more(this.id);
    this.seqs = more(this.seqs);
    this.first = more(this.first);
    this.last = more(this.last);
    this.bytes = more(this.bytes);
    this.initiator = more(this.initiator);
    this.responder = more(this.responder);
    this.farPort = more(this.farPort);
    this.kindOf = more(this.kindOf);
  }

  private addr(text: string): number {
    let a = this.addrIndex.get(text);
    if (a === undefined) {
      a = this.addrs.length;
      this.addrs.push(text);
      this.addrIndex.set(text, a);
    }
    return a;
  }

  /** Every field, kind included, into `into` (the reused view). A new FlowFact field goes here too. */
  private load(into: FlowFact, i: number): FlowFact {
    const k = this.kinds[this.kindOf[i]];
    into.proto = k.proto;
    into.responderPort = k.responderPort;
    into.activity = k.activity;
    into.hostname = k.hostname;
    into.names = k.names;
    into.dnsQueries = k.dnsQueries;
    into.direction = k.direction;
    into.viaProxy = k.viaProxy;
    into.answered = k.answered;
    into.connState = k.connState;
    into.history = k.history;
    into.outcome = k.outcome;
    into.owner = k.owner;
    into.attributable = k.attributable;
    into.process = k.process;
    into.peerProcess = k.peerProcess;
    into.isApi = k.isApi;
    this.loadOwn(into, i);
    return into;
  }

  /** The flow's own values; farAddr needs `direction` (own, or the kind's through the prototype). */
  private loadOwn(into: FlowFact, i: number): void {
    into.id = this.id[i];
    into.seq = this.seqs[i];
    into.firstSeen = this.first[i];
    into.lastSeen = this.last[i];
    into.bytes = this.bytes[i];
    into.initiatorAddr = this.addrs[this.initiator[i]];
    into.responderAddr = this.addrs[this.responder[i]];
    into.farAddr = into.direction === 'inbound' ? into.initiatorAddr : into.responderAddr;
    into.farPort = this.farPort[i];
  }
}
