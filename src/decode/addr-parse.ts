import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP address text back to the 4 or 16 bytes a packet holds: the inverse of addrToString, for
 * addresses the store keeps as text, DNS answers, Host headers and OLLAMA_HOST. Brackets and a
 * %zone are accepted; a name is not an address (null: no resolution, ever). Per flow or record,
 * never per packet.
 */
export function parseAddr(text: string): Buffer | null {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (isIPv4(t)) return v4Bytes(t);
  if (!isIPv6(t)) return null;
  return v6Bytes(t);
}

/**
 * Dotted-quad text (isIPv4 said so) to its 4 bytes, digit by digit: split/map/Buffer.from made
 * five objects per DNS answer an import reads, and Buffer.from of an array, shared with Node's
 * other callers of it, was thrown away and compiled again for an array kind it had not seen.
 */
function v4Bytes(t: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  let at = 0;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x2e) {
      out[at++] = n;
      n = 0;
    } else n = n * 10 + (c - 0x30);
  }
  out[at] = n;
  return out;
}

function v6Bytes(t: string): Buffer {
  const out = Buffer.alloc(16);
  let tail: number[] = [];
  const lastColon = t.lastIndexOf(':');
  if (t.includes('.', lastColon)) {
    tail = t.slice(lastColon + 1).split('.').map(Number);
    t = `${t.slice(0, lastColon + 1)}0:0`; // the embedded IPv4 stands for the last two words
  }
  const [head, rest] = t.split('::');
  const words = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'));
  const h = words(head);
  const r = words(rest);
  const all = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  all.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16), 2 * i));
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

/** parseAddr for text the store wrote itself: anything else is a bug, not input. */
export function addrBytes(text: string): Buffer {
  const b = parseAddr(text);
  if (b === null) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  return b;
}
