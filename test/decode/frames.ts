/**
 * Hand-built packet bytes for decoder and flow-table tests. Every field is written explicitly
 * (no checksums: nothing here reads them), so a test can work its expected values out from
 * the numbers it passes in, independently of the decoder.
 */
import { isIPv4 } from 'node:net';
import { newPacket, type Packet } from '../../src/capture/packet.js';

export function ip4(text: string): Buffer {
  if (!isIPv4(text)) throw new Error(`not IPv4: ${text}`);
  return Buffer.from(text.split('.').map(Number));
}

/** Parses full or ::-compressed IPv6 text (no embedded IPv4) into 16 bytes. */
export function ip6(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = tail === null ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (words.length !== 8) throw new Error(`bad IPv6: ${text}`);
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), 2 * i));
  return b;
}

export interface TcpOpts {
  sport: number; dport: number; seq?: number; ack?: number; flags: number;
  options?: Buffer; payload?: Buffer; dataOffsetWords?: number; window?: number;
}

export function tcp(o: TcpOpts): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE(o.seq ?? 0, 4);
  h.writeUInt32BE(o.ack ?? 0, 8);
  h[12] = (o.dataOffsetWords ?? (20 + opts.length) / 4) << 4;
  h[13] = o.flags;
  h.writeUInt16BE(o.window ?? 65535, 14);
  opts.copy(h, 20);
  return Buffer.concat([h, o.payload ?? Buffer.alloc(0)]);
}

export function udp(sport: number, dport: number, payload: Buffer, lenField?: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(lenField ?? 8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function icmp(type: number, code: number, rest: Buffer = Buffer.alloc(4), payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([type, code, 0, 0]), rest, payload]);
}

export interface Ipv4Opts {
  src: string; dst: string; proto: number; payload: Buffer;
  options?: Buffer; mf?: boolean; fragOffset8?: number; totalLen?: number; ihl?: number; version?: number; id?: number;
}

export function ipv4(o: Ipv4Opts): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = ((o.version ?? 4) << 4) | (o.ihl ?? (20 + opts.length) / 4);
  h.writeUInt16BE(o.totalLen ?? h.length + o.payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE((o.mf ? 0x2000 : 0) | (o.fragOffset8 ?? 0), 6);
  h[8] = 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  opts.copy(h, 20);
  return Buffer.concat([h, o.payload]);
}

/** ext: extension headers already built (each with its own next-header byte), in order. */
export function ipv6(src: string, dst: string, nextHeader: number, payload: Buffer, payloadLen?: number): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payloadLen ?? payload.length, 4);
  h[6] = nextHeader;
  h[7] = 64;
  ip6(src).copy(h, 8);
  ip6(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** Hop-by-hop / destination options / routing: next header, length in 8-octet units beyond the first 8. */
export function ext8(nextHeader: number, lenUnits = 0): Buffer {
  const b = Buffer.alloc((lenUnits + 1) * 8);
  b[0] = nextHeader;
  b[1] = lenUnits;
  if (b.length > 2) { b[2] = 1; b[3] = b.length - 4; } // one PadN option filling the rest
  return b;
}

export function fragHdr(nextHeader: number, offset8: number, more: boolean, id = 0xabcd): Buffer {
  const b = Buffer.alloc(8);
  b[0] = nextHeader;
  b.writeUInt16BE((offset8 << 3) | (more ? 1 : 0), 2);
  b.writeUInt32BE(id, 4);
  return b;
}

export const MAC_A = Buffer.from('020000000001', 'hex');
export const MAC_B = Buffer.from('020000000002', 'hex');

export function eth(type: number, payload: Buffer, tags: { tpid: number; vid: number }[] = []): Buffer {
  const parts: Buffer[] = [MAC_B, MAC_A];
  for (const t of tags) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(t.tpid, 0);
    tag.writeUInt16BE(t.vid, 2);
    parts.push(tag);
  }
  const tb = Buffer.alloc(2);
  tb.writeUInt16BE(type, 0);
  parts.push(tb, payload);
  return Buffer.concat(parts);
}

export function sll(protocol: number, payload: Buffer, arphrd = 1): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(4, 0);        // sent by us
  h.writeUInt16BE(arphrd, 2);
  h.writeUInt16BE(6, 4);
  MAC_A.copy(h, 6);
  h.writeUInt16BE(protocol, 14);
  return Buffer.concat([h, payload]);
}

export function sll2(protocol: number, payload: Buffer, arphrd = 1): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(protocol, 0);
  h.writeUInt32BE(3, 4);        // ifindex
  h.writeUInt16BE(arphrd, 8);
  h[10] = 0;                    // to us
  h[11] = 6;
  MAC_A.copy(h, 12);
  return Buffer.concat([h, payload]);
}

export function bsdNull(af: number, bigEndian: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  if (bigEndian) h.writeUInt32BE(af, 0);
  else h.writeUInt32LE(af, 0);
  return Buffer.concat([h, payload]);
}

/** A Packet over `bytes`, placed at a non-zero offset inside a larger buffer to catch offset bugs. */
export function packet(linktype: number, bytes: Buffer, opts: { caplen?: number; ts?: number; iface?: number } = {}): Packet {
  const p = newPacket();
  const lead = 7;
  p.buf = Buffer.concat([Buffer.alloc(lead, 0xee), bytes, Buffer.alloc(5, 0xee)]);
  p.off = lead;
  p.caplen = opts.caplen ?? bytes.length;
  p.origLen = bytes.length;
  p.linktype = linktype;
  p.ts = opts.ts ?? 1_700_000_000_000_000;
  p.iface = opts.iface ?? 0;
  return p;
}
