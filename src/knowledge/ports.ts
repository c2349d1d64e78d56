/**
 * Ports that mean something to the auditor. [src] envconfig/config.go Host() for the API port;
 * the proxy and DNS ports are conventions ([inferred]): a proxy is recognised by CONNECT, not port.
 */

export type PortRole = 'ollama-api' | 'proxy' | 'dns' | 'mdns' | 'llmnr';

export interface PortEntry {
  port: number;
  transport: 'tcp' | 'udp' | 'tcp+udp';
  role: PortRole;
  what: string;
  since: string | null;
  source: string;
  /** False for the port only claimed in the wild. */
  supported: boolean;
}

export const OLLAMA_API_PORT = 11434;
export const PROXY_PORTS: readonly number[] = [3128, 8080];
export const DNS_PORTS: readonly number[] = [53, 5353, 5355];

export const PORTS: readonly PortEntry[] = [
  { port: OLLAMA_API_PORT, transport: 'tcp', role: 'ollama-api',
    what: 'Ollama API (plain HTTP; default OLLAMA_HOST 127.0.0.1:11434)', since: null,
    source: '[src] envconfig/config.go Host()', supported: true },
  { port: 3128, transport: 'tcp', role: 'proxy', what: 'HTTP proxy (Squid default)', since: null,
    source: '[inferred] common proxy port', supported: true },
  { port: 8080, transport: 'tcp', role: 'proxy', what: 'HTTP proxy (common alternative)', since: null,
    source: '[inferred] common proxy port', supported: true },
  { port: 53, transport: 'tcp+udp', role: 'dns', what: 'DNS', since: null, source: '[inferred] RFC 1035',
    supported: true },
  { port: 5353, transport: 'udp', role: 'mdns', what: 'multicast DNS', since: null, source: '[inferred] RFC 6762',
    supported: true },
  { port: 5355, transport: 'tcp+udp', role: 'llmnr', what: 'LLMNR', since: null, source: '[inferred] RFC 4795',
    supported: true },
  // Claimed in the wild as the default API port; the real default is 11434.
  { port: 8000, transport: 'tcp', role: 'ollama-api', what: 'claimed default API port', since: null,
    source: '[claim] not in the source; envconfig/config.go defaults to 11434', supported: false },
];

/** What a port is, ignoring claims; null for ports we know nothing about. */
export function portRole(port: number): PortEntry | null {
  return PORTS.find((p) => p.port === port && p.supported) ?? null;
}

/** One of DNS_PORTS (DNS, mDNS, LLMNR); compares, not searches: called per packet. */
export function isDnsPort(port: number): boolean {
  return port === 53 || port === 5353 || port === 5355;
}

/** IP protocol numbers the readers and the classifier test for. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
