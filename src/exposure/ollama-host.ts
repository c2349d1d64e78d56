/**
 * OLLAMA_HOST as `ollama serve` reads it ([src] envconfig/config.go Host(), see
 * docs/ollama-network.md#listening): quotes and spaces trimmed; no scheme means http and
 * port 11434; an explicit `http://` defaults to port 80 and `https://` to 443; `:9000` binds
 * every interface on 9000; a bare host or IP gets the default port; a bad port falls back to it.
 */
import { OLLAMA_API_PORT } from '../knowledge/ports.js';

export interface OllamaHost {
  scheme: string;
  /** Listen host: '' for every interface, an IP (brackets removed) or a name. */
  host: string;
  port: number;
  /** The value was unset or empty: the default 127.0.0.1:11434. */
  isDefault: boolean;
}

/** Go's net.SplitHostPort, for what OLLAMA_HOST can hold; null where Go returns an error. */
export function splitHostPort(hostport: string): { host: string; port: string } | null {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || hostport[end + 1] !== ':') return null;
    const host = hostport.slice(1, end);
    const port = hostport.slice(end + 2);
    return host.includes('[') || host.includes(']') || port.includes(':') ? null : { host, port };
  }
  const colon = hostport.lastIndexOf(':');
  if (colon < 0) return null; // missing port
  const host = hostport.slice(0, colon);
  if (host.includes(':')) return null; // too many colons
  return { host, port: hostport.slice(colon + 1) };
}

function validPort(text: string): number | null {
  if (!/^[+-]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : null;
}

export function parseOllamaHost(value: string | null | undefined): OllamaHost {
  const s = (value ?? '').trim().replace(/^["']+|["']+$/g, '').trim();
  let scheme = 'http';
  let hostport = s;
  let defaultPort = OLLAMA_API_PORT;
  const cut = s.indexOf('://');
  if (cut >= 0) {
    scheme = s.slice(0, cut);
    hostport = s.slice(cut + 3);
    if (scheme === 'http') defaultPort = 80;
    else if (scheme === 'https') defaultPort = 443;
  }
  const slash = hostport.indexOf('/');
  if (slash >= 0) hostport = hostport.slice(0, slash); // a path is kept for clients, not for listening
  const split = splitHostPort(hostport);
  let host: string;
  let port: number | null;
  if (split) {
    host = split.host;
    port = validPort(split.port);
  } else {
    host = hostport === '' ? '127.0.0.1' : hostport.replace(/^\[|\]$/g, '');
    port = defaultPort;
  }
  return { scheme, host, port: port ?? defaultPort, isDefault: s === '' };
}
