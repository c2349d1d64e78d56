/**
 * Shared by the differential tests (in-memory pipeline and import -> SQLite -> flows --json):
 * what each fixture's scenario has, and conversations in a form both sides can be compared in.
 */
import { expect } from 'vitest';
import type { Conversation } from '../helpers/tshark.js';

/** A conversation with its ends in a fixed order, so direction guesses (UDP) do not matter. */
export function undirected(proto: string, a: string, ap: number, b: string, bp: number, aPk: number, aBy: number, bPk: number, bBy: number): string {
  const ea = `${a}#${ap} sent ${aPk}/${aBy}`;
  const eb = `${b}#${bp} sent ${bPk}/${bBy}`;
  return `${proto} ${[ea, eb].sort().join(' | ')}`;
}

export const fromTshark = (c: Conversation): string =>
  undirected(c.proto, c.initiatorAddr, c.initiatorPort, c.responderAddr, c.responderPort, c.packetsOut, c.bytesOut, c.packetsIn, c.bytesIn);

export const endpoints = (a: string, ap: number, b: string, bp: number): string => `${a}#${ap} > ${b}#${bp}`;
export const sorted = <T>(xs: T[]): T[] => [...xs].sort();

export type Traffic = 'conversations' | 'syn' | 'sni' | 'dns' | 'http' | 'connect';
const ALL: Traffic[] = ['conversations', 'syn', 'sni', 'dns', 'http', 'connect'];
/**
 * What each scenario has, from how it was made (fixtures/README.md), not from tshark or us: where
 * it has that traffic the oracle's list must not be empty (else the comparison is empty against
 * empty), and where it has none the oracle must find none. A new fixture needs a line here.
 */
export const SCENARIO: Record<string, Traffic[]> = {
  'pull-any-sll2.pcap': ALL,
  'pull-dumpcap.pcapng': ALL,
  'pull-eth-nano.pcap': ALL,
  'demo/ollama-pull.pcapng': ALL,
  // ping, dig A and AAAA over UDP, HTTP GET / over IPv6 and over IPv4: no TLS, no proxy.
  'vlan-qinq.pcap': ['conversations', 'syn', 'dns', 'http'],
  // One curl connection to the plain-HTTP API on loopback: no DNS, TLS or proxy.
  'api-keepalive.pcap': ['conversations', 'syn', 'http'],
  // Five curl POSTs to the plain-HTTP API on loopback, one forwarded over TLS (SNI ollama.com) by address: no DNS or proxy.
  'api-models.pcap': ['conversations', 'syn', 'sni', 'http'],
  // Three dig queries over UDP and pings: no TCP at all.
  'dns-fragments.pcap': ['conversations', 'dns'],
  // ping, curl to example.org over HTTP, an HTTPS manifest fetch from registry.ollama.ai, a server
  // that resets, refused and unanswered connections, each name looked up over UDP DNS: no proxy.
  'conn-states.pcap': ['conversations', 'syn', 'sni', 'dns', 'http'],
  // One curl to 203.0.113.80 by address (HTTP) and 600 unanswered SYNs: no DNS, TLS or proxy.
  'syn-flood.pcap': ['conversations', 'syn', 'http'],
  // UDP one way to 203.0.113.99, an answered UDP echo, a DNS query nothing answers, a ping: no TCP, no DNS response.
  'udp-flood.pcap': ['conversations'],
};

/** The oracle's list for one kind of traffic: non-empty exactly when the scenario has that traffic. */
export function oracle<T>(file: string, kind: Traffic, list: T[]): T[] {
  const name = file.slice(file.lastIndexOf('fixtures/') + 9);
  const has = SCENARIO[name];
  expect(has, `${name}: say in SCENARIO what traffic the scenario has`).toBeDefined();
  if (has.includes(kind)) expect(list.length, `${name} has ${kind} traffic, but tshark found none`).toBeGreaterThan(0);
  else expect(list, `${name} has no ${kind} traffic`).toEqual([]);
  return list;
}
