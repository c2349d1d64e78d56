import type { Flow } from '../flows/flow.js';

export type NameSource = 'sni' | 'connect' | 'http' | 'dns';

/**
 * Precedence of the sources that name a flow's far end. SNI is what the client's TLS stack
 * asked for at the far end itself; CONNECT is what it asked a proxy for; Host can be rewritten
 * by a proxy in the middle; a DNS answer only says the address was recently given that name
 * (a CDN address serves many names).
 */
const RANK: Record<NameSource, number> = { sni: 4, connect: 3, http: 2, dns: 1 };

/** Sets flow.hostname when `source` outranks what named the flow so far (first value of a source wins). */
export function offerHostname(flow: Flow, source: NameSource, name: string | null): void {
  if (name === null || name === '') return;
  const cur = flow.hostnameSource;
  if (cur !== null && RANK[cur] >= RANK[source]) return;
  flow.hostname = name;
  flow.hostnameSource = source;
}

/**
 * The host part of a Host header or CONNECT target: port removed, IPv6 brackets removed.
 * Returns the port too (NaN when there is none or it is not a number).
 */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return { host: hostPort, port: NaN };
    const rest = hostPort.slice(close + 1);
    return { host: hostPort.slice(1, close), port: rest.startsWith(':') ? portOf(rest.slice(1)) : NaN };
  }
  const colon = hostPort.lastIndexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon < 0 || hostPort.indexOf(':') !== colon) return { host: hostPort, port: NaN };
  return { host: hostPort.slice(0, colon), port: portOf(hostPort.slice(colon + 1)) };
}

function portOf(s: string): number {
  if (!/^[0-9]{1,5}$/.test(s)) return NaN;
  const n = Number(s);
  return n <= 65535 ? n : NaN;
}
