/**
 * IP address text (as the store keeps it, or as a Host header or OLLAMA_HOST holds it) back to
 * bytes, so the address classes of src/decode/addr.ts can judge it. No name resolution: a name
 * is not an address and yields null.
 */
import { parseAddr } from '../decode/addr-parse.js';

/** 4 bytes for IPv4, 16 for IPv6 (brackets and a %zone allowed); null for anything that is not an IP. */
export function parseIp(text: string): Uint8Array | null {
  return parseAddr(text);
}

/** 0.0.0.0, ::, and ::ffff:0.0.0.0: the address that binds every interface. */
export function isUnspecified(a: Uint8Array): boolean {
  const mapped = a.length === 16 && a.slice(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
  const bytes = mapped ? a.slice(12) : a;
  return bytes.every((x) => x === 0);
}
