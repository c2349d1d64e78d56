/**
 * IP address text (as the store keeps it, or as a Host header or OLLAMA_HOST holds it) back to
 * bytes, so the address classes of src/decode/addr.ts can judge it. No name resolution: a name
 * is not an address and yields null.
 */
import { isIPv4, isIPv6 } from 'node:net';

function v4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

function v6Bytes(text: string): number[] | null {
  let t = text;
  let tail: number[] = [];
  const lastColon = t.lastIndexOf(':');
  if (t.slice(lastColon + 1).includes('.')) {
    tail = v4Bytes(t.slice(lastColon + 1));
    t = `${t.slice(0, lastColon + 1)}0:0`; // the embedded IPv4 stands for the last two words
  }
  const [head, rest] = t.split('::');
  const words = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'));
  const h = words(head);
  const r = words(rest);
  const all = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  if (all.length !== 8) return null;
  const out = all.flatMap((w) => {
    const n = parseInt(w, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length === 4) out.splice(12, 4, ...tail);
  return out;
}

/** 4 bytes for IPv4, 16 for IPv6 (brackets and a %zone allowed); null for anything that is not an IP. */
export function parseIp(text: string): Uint8Array | null {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  t = t.replace(/%.*$/, '');
  if (isIPv4(t)) return Uint8Array.from(v4Bytes(t));
  if (!isIPv6(t)) return null;
  const b = v6Bytes(t);
  return b ? Uint8Array.from(b) : null;
}

/** 0.0.0.0, ::, and ::ffff:0.0.0.0: the address that binds every interface. */
export function isUnspecified(a: Uint8Array): boolean {
  const mapped = a.length === 16 && a.slice(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
  const bytes = mapped ? a.slice(12) : a;
  return bytes.every((x) => x === 0);
}
