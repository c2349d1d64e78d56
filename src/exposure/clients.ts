/**
 * Inbound API clients, grouped by the class of their address (loopback / private / public),
 * with counts, time span and bytes. A flow's initiator is the client: the store already
 * decided who opened the connection. A client on this host is named by its process (the flow's
 * process, never its peer: that is the server).
 */
import { isoMicros } from '../store/format-time.js';
import { clientClass, type ClientClass } from './scope.js';
import { clientProcess, type FlowRow } from './store-rows.js';

export interface ClientAddress {
  address: string;
  flows: number;
  first_seen: string;
  last_seen: string;
  bytes_out: number;
  bytes_in: number;
  /** The programs on this host that made these flows, when attribution knows them (pid order); empty otherwise. */
  processes: { pid: number; name: string }[];
}

export interface ClientGroup {
  class: ClientClass;
  flows: number;
  /** Distinct client addresses. */
  clients: number;
  first_seen: string;
  last_seen: string;
  /** Bytes from the clients (IP level) and to them. */
  bytes_out: number;
  bytes_in: number;
  /** Most active first. */
  addresses: ClientAddress[];
}

const CLASS_ORDER: readonly ClientClass[] = ['public', 'private', 'loopback'];

interface Acc { flows: number; first: number; last: number; out: number; in: number; procs: Map<number, string> }

function add(acc: Acc | undefined, f: FlowRow): Acc {
  const p = clientProcess(f);
  if (!acc) {
    return { flows: 1, first: f.first_seen, last: f.last_seen, out: f.bytes_out, in: f.bytes_in, procs: new Map(p ? [[p.pid, p.name]] : []) };
  }
  if (p) acc.procs.set(p.pid, p.name);
  acc.flows++;
  acc.first = Math.min(acc.first, f.first_seen);
  acc.last = Math.max(acc.last, f.last_seen);
  acc.out += f.bytes_out;
  acc.in += f.bytes_in;
  return acc;
}

/** Clients tallied one flow at a time (a store's flows are read as they come, never held). */
export class ClientTally {
  private readonly byClass = new Map<ClientClass, Map<string, Acc>>();

  add(f: FlowRow): void {
    const cls = clientClass(f.initiator_addr);
    let addrs = this.byClass.get(cls);
    if (!addrs) this.byClass.set(cls, (addrs = new Map()));
    addrs.set(f.initiator_addr, add(addrs.get(f.initiator_addr), f));
  }

  /** By class, the widest reach first (public, private, loopback); empty classes left out. */
  groups(): ClientGroup[] {
    return CLASS_ORDER.filter((c) => this.byClass.has(c)).map((c) => group(c, this.byClass.get(c)!));
  }
}

function group(cls: ClientClass, addrs: Map<string, Acc>): ClientGroup {
  const list = [...addrs.entries()].sort((a, b) => b[1].flows - a[1].flows || a[0].localeCompare(b[0]));
  const total = list.reduce<Acc | undefined>((t, [, a]) => (t
    ? { flows: t.flows + a.flows, first: Math.min(t.first, a.first), last: Math.max(t.last, a.last), out: t.out + a.out, in: t.in + a.in, procs: t.procs }
    : { ...a }), undefined)!;
  return {
    class: cls, flows: total.flows, clients: list.length, first_seen: isoMicros(total.first), last_seen: isoMicros(total.last),
    bytes_out: total.out, bytes_in: total.in,
    addresses: list.map(([address, a]) => ({
      address, flows: a.flows, first_seen: isoMicros(a.first), last_seen: isoMicros(a.last), bytes_out: a.out, bytes_in: a.in,
      processes: [...a.procs].sort((x, y) => x[0] - y[0]).map(([pid, name]) => ({ pid, name })),
    })),
  };
}
