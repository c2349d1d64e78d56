/**
 * Ollama's Host check (allowedHostsMiddleware and allowedHost, [src] server/routes.go; see
 * docs/ollama-network.md#listening): only applied when the listener is loopback, it lets
 * through a Host that is a loopback, private, unspecified or local-interface IP, empty,
 * `localhost`, the machine's hostname, or ends in .localhost/.local/.internal; anything else
 * gets 403 with an empty body. Go's IsPrivate is RFC 1918 and fc00::/7 only: a link-local or
 * CGNAT Host is refused unless it is one of the machine's own addresses.
 */
import { isLoopback, isUnspecified } from '../decode/addr.js';
import { parseAddr } from '../decode/addr-parse.js';
import { splitHostPort } from './ollama-host.js';

export interface HostCheckContext {
  /** os.hostname() of the machine running Ollama. */
  hostname: string;
  /** The machine's interface addresses as text. */
  localAddrs: readonly string[];
}

const LOCAL_TLDS = ['localhost', 'local', 'internal'];

function goIsPrivate(a: Uint8Array): boolean {
  const v4 = a.length === 4 ? a : a.length === 16 && a.slice(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff ? a.slice(12) : null;
  if (v4) return v4[0] === 10 || (v4[0] === 172 && (v4[1] & 0xf0) === 16) || (v4[0] === 192 && v4[1] === 168);
  return (a[0] & 0xfe) === 0xfc;
}

function sameIp(a: Uint8Array, text: string): boolean {
  const b = parseAddr(text);
  return b !== null && Buffer.from(b).equals(Buffer.from(a));
}

function allowedIp(ip: Uint8Array, ctx: HostCheckContext): boolean {
  return isLoopback(ip) || goIsPrivate(ip) || isUnspecified(ip) || ctx.localAddrs.some((t) => sameIp(ip, t));
}

function allowedName(host: string, ctx: HostCheckContext): boolean {
  const h = host.toLowerCase();
  if (h === '' || h === 'localhost') return true;
  if (ctx.hostname !== '' && h === ctx.hostname.toLowerCase()) return true;
  return LOCAL_TLDS.some((tld) => h.endsWith(`.${tld}`));
}

/** Would Ollama's Host check let this Host header through? null (no header) counts as empty. */
export function hostAllowed(hostHeader: string | null, ctx: HostCheckContext): boolean {
  const raw = (hostHeader ?? '').trim();
  const host = splitHostPort(raw)?.host ?? raw;
  // Go keeps "[::1]" (brackets, no port) whole, and netip.ParseAddr refuses it.
  const ip = host.startsWith('[') ? null : parseAddr(host);
  if (ip && allowedIp(ip, ctx)) return true;
  return allowedName(host, ctx);
}
