/**
 * Who can reach a listening socket, judged from the address it is bound to.
 * Private and link-local addresses (src/decode/addr.ts isPrivate) count as `lan`.
 */
import { isLoopback, isPrivate, isUnspecified } from '../decode/addr.js';
import { parseAddr } from '../decode/addr-parse.js';

export type ListenScope = 'loopback' | 'lan' | 'all-interfaces' | 'public';

export function judgeListenAddr(addr: Uint8Array): ListenScope {
  if (isUnspecified(addr)) return 'all-interfaces';
  if (isLoopback(addr)) return 'loopback';
  if (isPrivate(addr)) return 'lan';
  return 'public';
}

/**
 * The scope an OLLAMA_HOST host asks for: '' binds every interface (Go's net.Listen(":port")),
 * `localhost` is loopback; any other name depends on what it resolves to ('name').
 */
export function judgeHostSetting(host: string): ListenScope | 'name' {
  if (host === '') return 'all-interfaces';
  if (host.toLowerCase() === 'localhost') return 'loopback';
  const ip = parseAddr(host);
  return ip ? judgeListenAddr(ip) : 'name';
}

export type ClientClass = 'loopback' | 'private' | 'public';

/** Class of a client address as the store writes it; text that is not an IP counts as public (unknown reach). */
export function clientClass(addrText: string): ClientClass {
  const ip = parseAddr(addrText);
  if (ip === null) return 'public';
  if (isLoopback(ip)) return 'loopback';
  return isPrivate(ip) ? 'private' : 'public';
}
