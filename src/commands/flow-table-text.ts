import type { FlowRecord } from '../store/read/flows.js';
import { humanBytes } from './progress.js';
import { connText } from '../text/format-values.js';
import { INVALID_TIME } from '../store/format-time.js';
import { visible } from '../text/visible.js';

/**
 * The human table of `flows`: one line per flow, widths fitted to the content of this page. A SESSION column
 * appears when the flows come from more than one session (flow ids alone do not say which
 * capture a flow is from). Names and process names came from outside: shown with visible().
 */
export function formatFlowTable(flows: FlowRecord[]): string {
  const { header, rows } = flowCells(flows, new Set(flows.map((f) => f.session_id)).size > 1);
  // A loop, not Math.max(...rows): spreading a large page overflows the call stack.
  const widths = header.map((h) => h.length);
  for (const r of rows) r.forEach((c, i) => { if (c.length > widths[i]) widths[i] = c.length; });
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function flowCells(flows: FlowRecord[], withSession: boolean): { header: string[]; rows: string[][] } {
  const header = ['ID', ...(withSession ? ['SESSION'] : []), 'FIRST SEEN (UTC)', 'PROTO', 'INITIATOR', 'RESPONDER', 'STATE (HISTORY)', 'NAME (SOURCE)', 'ACTIVITY', 'PKTS OUT/IN', 'BYTES OUT/IN', 'PROCESS'];
  const rows = flows.map((f) => [
    String(f.id),
    ...(withSession ? [String(f.session_id)] : []),
    f.first_seen === null ? INVALID_TIME : f.first_seen.replace('T', ' ').slice(0, 23),
    f.proto,
    endpoint(f.initiator_addr, f.initiator_port, f.proto),
    endpoint(f.responder_addr, f.responder_port, f.proto),
    connText(f),
    f.hostname ? `${visible(clip(f.hostname, 48))} (${f.hostname_source})` : '-',
    f.activity,
    `${f.packets_out}/${f.packets_in}`,
    `${humanBytes(f.bytes_out)}/${humanBytes(f.bytes_in)}`,
    processText(f),
  ]);
  return { header, rows };
}

/**
 * `curl[12]`, and for a flow between two local processes `curl[12]→ollama[7]` (the responder after
 * the arrow); a daemon that sent for another app (macOS pktap) `nsurlsessiond[90](for Safari[61])`.
 */
function processText(f: FlowRecord): string {
  const one = (p: { pid: number; name: string } | null) => (p ? `${visible(p.name)}[${p.pid}]` : '-');
  const own = f.effective_process ? `${one(f.process)}(for ${one(f.effective_process)})` : one(f.process);
  return f.peer_process ? `${own}→${one(f.peer_process)}` : own;
}

function endpoint(addr: string, port: number, proto: string): string {
  const hasPorts = proto === 'tcp' || proto === 'udp';
  if (!hasPorts) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
