/**
 * Ports that mean something to the auditor. [src] envconfig/config.go Host() for the API port
 * (the default OLLAMA_HOST is 127.0.0.1:11434; the port claimed in the wild, 8000, is judged as a
 * claim in claims.ts); the DNS ports are conventions ([inferred] RFC 1035, 6762, 4795). Proxies
 * are recognised by CONNECT, not by port.
 */

export const OLLAMA_API_PORT = 11434;

/** DNS (53), multicast DNS (5353) or LLMNR (5355); compares, not searches: called per packet. */
export function isDnsPort(port: number): boolean {
  return port === 53 || port === 5353 || port === 5355;
}

/** IP protocol numbers the readers and the classifier test for. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
