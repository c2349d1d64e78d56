/**
 * Parsing of /proc/net/{tcp,tcp6,udp,udp6}. The kernel prints each address as 32-bit words
 * with %08X in host byte order (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c
 * get_tcp6_sock) and ports already converted to host order, so only addresses need swapping.
 * Every address is widened to 16 bytes (IPv4 as ::ffff:a.b.c.d) so that an IPv4 flow finds
 * both an AF_INET socket and a dual-stack AF_INET6 socket that carries it.
 */
import { endianness } from 'node:os';

export const TCP_LISTEN = 0x0a;

export interface SocketEntry {
  /** IP protocol: 6 for tcp/tcp6, 17 for udp/udp6. */
  proto: number;
  /** 16 bytes; IPv4 as IPv4-mapped IPv6. */
  localAddr: Buffer;
  localPort: number;
  remoteAddr: Buffer;
  remotePort: number;
  /** TCP state number (TCP_LISTEN = 0x0a); 0x07 (TCP_CLOSE) for an unconnected UDP socket. */
  state: number;
  uid: number;
  /** 0 for sockets no file holds (TIME_WAIT, SYN_RECV request socks). */
  inode: number;
}

const HOST_LE = endianness() === 'LE';

function putWord(out: Buffer, off: number, hex: string, littleEndian: boolean): void {
  const w = parseInt(hex, 16) >>> 0;
  if (littleEndian) out.writeUInt32LE(w, off);
  else out.writeUInt32BE(w, off);
}

/** "0100007F" (4-byte) or 32 hex digits (16-byte) as a 16-byte address; null if malformed. */
export function parseHexAddr(hex: string, littleEndian = HOST_LE): Buffer | null {
  if (!/^[0-9A-Fa-f]+$/.test(hex)) return null;
  const out = Buffer.alloc(16);
  if (hex.length === 8) {
    out[10] = 0xff;
    out[11] = 0xff;
    putWord(out, 12, hex, littleEndian);
    return out;
  }
  if (hex.length !== 32) return null;
  for (let i = 0; i < 4; i++) putWord(out, 4 * i, hex.slice(8 * i, 8 * i + 8), littleEndian);
  return out;
}

/** A flow's 4- or 16-byte address in the 16-byte form the tables use. */
export function widenAddr(addr: Uint8Array): Buffer {
  if (addr.length === 16) return Buffer.from(addr);
  if (addr.length !== 4) throw new RangeError(`address length ${addr.length}: expected 4 or 16`);
  // From the pool (two per new flow): Buffer.alloc gives each its own backing store, a cost the GC feels under a flood.
  const out = Buffer.allocUnsafe(16).fill(0, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(addr, 12);
  return out;
}

function parseEndpoint(text: string, littleEndian: boolean): { addr: Buffer; port: number } | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const addr = parseHexAddr(text.slice(0, colon), littleEndian);
  const port = parseInt(text.slice(colon + 1), 16);
  if (addr === null || !Number.isInteger(port) || port < 0 || port > 0xffff) return null;
  return { addr, port };
}

// sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ... (the same columns for tcp and udp)
const LINE = /^\s*\d+: ([0-9A-Fa-f]+):([0-9A-Fa-f]{4}) ([0-9A-Fa-f]+):([0-9A-Fa-f]{4}) ([0-9A-Fa-f]{2}) \S+ \S+ \S+\s+(\d+)\s+-?\d+\s+(\d+)/;

/** One table line (without the header); null for anything that does not parse. */
export function parseProcNetLine(line: string, proto: number, littleEndian = HOST_LE): SocketEntry | null {
  return parseMatch(LINE.exec(line), proto, littleEndian);
}

function parseMatch(m: RegExpExecArray | null, proto: number, littleEndian: boolean): SocketEntry | null {
  if (!m) return null;
  const localAddr = parseHexAddr(m[1], littleEndian);
  const remoteAddr = parseHexAddr(m[3], littleEndian);
  if (!localAddr || !remoteAddr) return null;
  return {
    proto, localAddr, localPort: parseInt(m[2], 16), remoteAddr, remotePort: parseInt(m[4], 16),
    state: parseInt(m[5], 16), uid: Number(m[6]), inode: Number(m[7]),
  };
}

/**
 * A whole /proc/net/{tcp,udp}{,6} file. `withInodeZero` false drops sockets no file holds
 * (TIME_WAIT, request socks) before decoding them: on a busy host they are most of the table.
 */
export function parseProcNet(text: string, proto: number, littleEndian = HOST_LE, withInodeZero = true): SocketEntry[] {
  const out: SocketEntry[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const m = LINE.exec(lines[i]);
    if (!m || (!withInodeZero && m[7] === '0')) continue;
    const e = parseMatch(m, proto, littleEndian);
    if (e) out.push(e);
  }
  return out;
}

/** The four tables and the protocol each holds. */
export const PROC_NET_TABLES: ReadonlyArray<readonly [string, number]> = [
  ['tcp', 6], ['tcp6', 6], ['udp', 17], ['udp6', 17],
];
