/**
 * Ports that mean something to the auditor. [src] envconfig/config.go Host() for the API port
 * (the default OLLAMA_HOST is 127.0.0.1:11434; the port claimed in the wild, 8000, is judged as a
 * claim in claims.ts); the DNS ports are conventions ([inferred] RFC 1035, 6762, 4795). Proxies
 * are recognised by CONNECT, not by port.
 */

export const OLLAMA_API_PORT = 11434;
/** DNS, multicast DNS, LLMNR. */
export const DNS_PORTS: readonly number[] = [53, 5353, 5355];

export function isDnsPort(port: number): boolean {
  return DNS_PORTS.includes(port);
}
