/**
 * The audit's conclusions as findings: what is exposed, to whom, and what is broken.
 * Severity: high = the API is reachable beyond this machine without authentication, or was
 * used from a public address; medium = reachable from the LAN only, or a misconfiguration
 * that breaks or loosens access; info = context worth knowing.
 */
import type { ClientGroup } from './clients.js';
import { hostTrapMessage, proxyLabel, type HostTrapGroup } from './host-trap.js';
import { fullyVisible, type Listener, type TreeProcess, type Visibility } from './listeners.js';
import type { ProxyReport } from './proxies.js';

export interface Finding {
  severity: 'high' | 'medium' | 'info';
  code: string;
  message: string;
}

export interface FindingInput {
  processes: readonly TreeProcess[];
  listeners: readonly Listener[];
  visibility: Visibility | null;
  clients: readonly ClientGroup[];
  proxies: readonly ProxyReport[];
  hostTrap: readonly HostTrapGroup[];
}

const SCOPE_TEXT = { 'all-interfaces': 'every interface', lan: 'a LAN address', public: 'a public address', loopback: 'loopback' } as const;

function endpoint(l: Listener): string {
  return l.ip_version === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

function listenerFindings(listeners: readonly Listener[]): Finding[] {
  return listeners.filter((l) => l.scope !== 'loopback').map((l) => ({
    severity: l.scope === 'lan' ? 'medium' : 'high',
    code: 'no-auth-on-network',
    message: `${l.comm} (pid ${l.pid}) listens on ${endpoint(l)} (${SCOPE_TEXT[l.scope]})${l.host_netns ? '' : ' in another network namespace'}: `
      + `no Host check and no authentication, anyone who can reach ${l.api ? 'the API port' : 'this port'} can use it`,
  }));
}

const HOW_TO_SEE = 'run as root (sudo ollama-audit exposure) or give node cap_dac_read_search and cap_sys_ptrace to see them';

/**
 * What procfs hid, so an empty listener list is never read as "nothing listens". Medium when a
 * hidden socket on an API port is reachable beyond loopback: the port is open, whoever holds it.
 */
function visibilityFindings(v: Visibility | null): Finding[] {
  if (v === null || fullyVisible(v)) return [];
  const uid = process.getuid?.();
  const parts = [
    ...v.unreadable.map((p) => `the sockets of ${p.comm} (pid ${p.pid}${p.uid === null || p.uid < 0 ? '' : `, uid ${p.uid}`}) cannot be read (/proc/${p.pid}/fd: permission denied)`),
    ...v.unowned.map((l) => `${l.ip_version === 6 ? `[${l.address}]` : l.address}:${l.port} (${SCOPE_TEXT[l.scope]}) listens on an API port for uid ${l.uid}, whose process cannot be seen`),
    ...(v.hidepid === null ? [] : [`/proc is mounted with hidepid=${v.hidepid}: other users' processes are invisible`]),
  ];
  const open = v.unowned.some((l) => l.scope !== 'loopback');
  return [{
    severity: open ? 'medium' : 'info', code: 'not-visible',
    message: `procfs hides part of what listens from this user${uid === undefined ? '' : ` (uid ${uid})`}: ${parts.join('; ')}; ${HOW_TO_SEE}`,
  }];
}

function envFindings(processes: readonly TreeProcess[]): Finding[] {
  const out: Finding[] = [];
  for (const p of processes) {
    if (p.role !== 'server') continue;
    if (!p.env.readable) {
      out.push({ severity: 'info', code: 'env-unreadable', message: `cannot read /proc/${p.pid}/environ of ${p.comm}: ${p.env.unreadable_reason}; OLLAMA_HOST/OLLAMA_ORIGINS unknown` });
      continue;
    }
    const origins = (p.env.ollama_origins ?? '').split(',').map((o) => o.trim());
    if (origins.includes('*')) {
      out.push({ severity: 'medium', code: 'origins-wildcard', message: `${p.comm} (pid ${p.pid}) has OLLAMA_ORIGINS=${p.env.ollama_origins}: any web page open in a browser on a machine that reaches the API may call it` });
    }
  }
  return out;
}

function clientFindings(clients: readonly ClientGroup[]): Finding[] {
  const out: Finding[] = [];
  for (const g of clients) {
    if (g.class === 'loopback') continue;
    const who = g.addresses.slice(0, 5).map((a) => a.address).join(', ') + (g.clients > 5 ? ', ...' : '');
    out.push({
      severity: g.class === 'public' ? 'high' : 'medium', code: `api-clients-${g.class}`,
      message: `${g.flows} API connection(s) from ${g.clients} ${g.class} address(es) (${who}) between ${g.first_seen} and ${g.last_seen}`,
    });
  }
  return out;
}

function proxyFindings(proxies: readonly ProxyReport[]): Finding[] {
  return proxies.map((p) => {
    const behind = p.clients.map((g) => `${g.clients} ${g.class}`).join(', ') || 'none seen';
    const open = p.clients.some((g) => g.class !== 'loopback');
    return {
      severity: open ? 'medium' : 'info', code: 'reverse-proxy',
      message: `${proxyLabel(p)} forwards to the API (${p.detected_by.join(', ')}; ${p.api_requests} request(s)); clients behind it: ${behind}. `
        + 'Ollama has no authentication: the proxy is the only place to add it',
    };
  });
}

export function exposureFindings(input: FindingInput): Finding[] {
  const all = [
    ...listenerFindings(input.listeners),
    ...visibilityFindings(input.visibility),
    ...envFindings(input.processes),
    ...clientFindings(input.clients),
    ...proxyFindings(input.proxies),
    ...input.hostTrap.map((g): Finding => ({ severity: 'medium', code: 'host-check-403', message: hostTrapMessage(g) })),
  ];
  const rank = { high: 0, medium: 1, info: 2 } as const;
  return all.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
