/**
 * The Exposure section as plain text pieces: a lead sentence, the findings, and one small table
 * per part of the audit (listeners, server environment, API clients, reverse proxies, the
 * Host-header trap). Shared by report.md and report.html; cells are unescaped text.
 */
import { formatBytes, formatTime } from '../text/format-values.js';
import { plural } from './coverage-view.js';
import type { ReportExposure } from './report-types.js';
import type { TextTable } from './text-table.js';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';

export interface ExposureView {
  lead: string;
  findings: { severity: string; code: string; message: string }[];
  tables: TextTable[];
  notes: string[];
}

type Exp = ReportExposure;

export function exposureView(e: Exp): ExposureView {
  const tables = [listeners(e), environment(e), clients(e), proxies(e), hostTrap(e)].filter((t): t is TextTable => t !== null);
  return { lead: leadSentence(e), findings: e.findings ?? [], tables, notes: e.notes ?? [] };
}

function leadSentence(e: Exp): string {
  const ports = e.api_ports?.length ? `API port${e.api_ports.length === 1 ? '' : 's'} ${e.api_ports.join(', ')}` : 'the API port';
  const from = e.live ? 'read live from /proc (listening sockets, OLLAMA_HOST) and from the stored traffic' : 'judged from the stored traffic only (not live: listening sockets and OLLAMA_HOST were not read)';
  const n = e.findings?.length ?? 0;
  return `Who could reach the Ollama ${ports} and who did, ${from}. ${n === 0 ? 'No finding.' : `${plural(n, 'finding')}:`}`;
}

/** Listening sockets are only known live: not live, there is no table rather than an empty one that reads as "none". */
function listeners(e: Exp): TextTable | null {
  if (!e.live || !e.listeners) return null;
  return {
    id: 'exposure-listeners', caption: 'Listening sockets of the Ollama tree', head: ['Address', 'Reachable from', 'API', 'Process', 'Network namespace'], code: [3],
    rows: e.listeners.map((l) => [
      l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`, l.scope, l.api ? 'yes' : 'no',
      `${l.comm} (${l.pid})${l.role ? `, ${l.role}` : ''}`, l.host_netns ? 'the host\'s' : 'another one',
    ]),
  };
}

function environment(e: Exp): TextTable | null {
  const servers = (e.processes ?? []).filter((p) => p.role === 'server');
  if (!e.live || servers.length === 0) return null;
  return {
    id: 'exposure-environment', caption: 'Server environment', head: ['Server', 'OLLAMA_HOST', 'OLLAMA_ORIGINS'], code: [1, 2],
    rows: servers.map((p) => p.env.readable
      ? [`${p.comm} (${p.pid})`, p.env.ollama_host ?? `(unset: 127.0.0.1:${OLLAMA_API_PORT})`, p.env.ollama_origins ?? '(unset)']
      : [`${p.comm} (${p.pid})`, `unreadable (${p.env.unreadable_reason ?? 'no reason given'})`, 'unreadable']),
  };
}

function clients(e: Exp): TextTable | null {
  if (!e.clients) return null;
  return {
    id: 'exposure-clients', caption: 'Clients of the API, by where they connect from',
    head: ['Clients', 'Flows', 'Addresses', 'First / last seen', 'Bytes from them / to them', 'Most active'],
    rows: e.clients.map((g) => [
      g.class, `${g.flows}`, `${g.clients}`, `${formatTime(g.first_seen)} / ${formatTime(g.last_seen)}`,
      `${formatBytes(g.bytes_out)} / ${formatBytes(g.bytes_in)}`,
      g.addresses.slice(0, 5).map((a) => `${a.address} (${plural(a.flows, 'flow')})`).join(', ') + (g.addresses.length > 5 ? `, and ${g.addresses.length - 5} more` : ''),
    ]),
  };
}

function proxies(e: Exp): TextTable | null {
  if (!e.proxies) return null;
  return {
    id: 'exposure-proxies', caption: 'Reverse proxies in front of the API', head: ['Proxy', 'Reached at', 'Seen by', 'API requests', 'Clients behind it'], code: [0],
    rows: e.proxies.map((p) => [
      p.name ?? 'unnamed proxy', p.front.join(', ') || '—', p.detected_by.join(', '), `${p.api_requests}`,
      p.clients.map((g) => `${g.class}: ${g.clients}`).join(', ') || 'none seen',
    ]),
  };
}

function hostTrap(e: Exp): TextTable | null {
  if (!e.host_trap?.length) return null;
  return {
    id: 'exposure-host-trap', caption: 'Requests refused by the Host check (403)', head: ['Through', 'Host header', '403 answers', 'Clients', 'Example'], code: [1, 4],
    rows: e.host_trap.map((t) => [t.via ?? 'no proxy', t.host ?? '(none)', `${t.requests}`, t.clients.join(', '), t.example]),
  };
}
