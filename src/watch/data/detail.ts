/**
 * The detail of one flow (Enter): its process chain (both ends), what named it, why it was
 * classified so, the claims that cite it. Every outside string made visible.
 */
import type { FlowRecord } from '../../store/read/flows.js';
import { connText, endpoint, formatBytes, formatTime } from '../../text/format-values.js';
import { visible } from '../../text/visible.js';

function proc(p: { pid: number; name: string; exe?: string | null } | null): string {
  if (!p) return 'unknown';
  return `${visible(p.name)}[${p.pid}]${p.exe ? ` ${visible(p.exe)}` : ''}`;
}

export function detailLines(f: FlowRecord, citedBy: readonly string[]): string[] {
  const naming = ([['sni', f.sni], ['dns', f.dns_name], ['http host', f.http_host], ['connect', f.connect_host]] as const)
    .filter(([, v]) => v).map(([k, v]) => `${k} ${visible(v)}`);
  return [
    `flow #${f.id} ${f.proto} ${endpoint(f.initiator_addr, f.initiator_port, f.proto)} → ${endpoint(f.responder_addr, f.responder_port, f.proto)}  ${connText(f)}`,
    `first ${formatTime(f.first_seen)}  last ${formatTime(f.last_seen)}  ↑ ${formatBytes(f.bytes_out)} ↓ ${formatBytes(f.bytes_in)}`,
    `process (initiator's end): ${proc(f.process)}`,
    `peer process (responder's end): ${f.peer_process ? proc(f.peer_process) : 'not on this host or unknown'}`,
    ...(f.effective_process ? [`on behalf of: ${proc(f.effective_process)}`] : []),
    `name: ${f.hostname ? `${visible(f.hostname)} (${f.hostname_source})` : 'none'}${naming.length ? `  evidence: ${naming.join(', ')}` : ''}`,
    ...(f.http_method ? [`http: ${visible(f.http_method)} ${visible(f.http_path ?? '')}${f.http_status !== null ? ` → ${f.http_status}` : ''}`] : []),
    `activity: ${visible(f.activity)}${f.ollama ? ' (Ollama tree)' : ''}`,
    `why: ${visible(f.activity_reason)}`,
    `claims citing it: ${citedBy.length ? citedBy.join(', ') : 'none'}`,
    `community id: ${f.community_id}`,
  ];
}
