/**
 * Address text as the store keeps it (dotted quad, RFC 5952 IPv6, `::ffff:a.b.c.d`) back to
 * the 4 or 16 bytes a decoded packet holds, so packets can be matched to stored flows without
 * making a string per packet. The inverse of src/decode/addr.ts addrToString.
 */
export function addrFromText(text: string): Buffer {
  const v4 = parseV4(text);
  if (v4) return v4;
  const v6 = parseV6(text);
  if (v6) return v6;
  throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
}

function parseV4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return Buffer.from(parts.map(Number));
}

function parseV6(text: string): Buffer | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const words = (s: string): number[] | null => (s === '' ? [] : wordsOf(s));
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

/** Hex words; a trailing dotted quad counts as two words. */
function wordsOf(s: string): number[] | null {
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p);
      if (!v4) return null;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
      out.push(parseInt(p, 16));
    } else {
      return null;
    }
  }
  return out;
}
