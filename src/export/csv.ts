/**
 * CSV (RFC 4180): a header row, then one row per flow, CRLF line ends. A field holding a comma, a
 * double quote, CR or LF is quoted (quotes doubled). Text that came from the network or from
 * processes (names, paths, process names) could be a spreadsheet formula: following OWASP's CSV
 * injection advice, a text value starting with = + - @ TAB or CR gets a leading single quote (') and
 * is quoted. Numbers are written as they are. Otherwise every value keeps its exact characters.
 */
import type { ExportRow } from './export-row.js';

type Cell = string | number | boolean | null;

const COLUMNS: [name: string, value: (r: ExportRow) => Cell][] = [
  ['session_id', (r) => r.flow.session_id],
  ['flow_id', (r) => r.flow.id],
  ['first_seen', (r) => r.flow.first_seen],
  ['last_seen', (r) => r.flow.last_seen],
  ['duration_s', (r) => r.flow.duration_s],
  ['proto', (r) => r.flow.proto],
  ['initiator_addr', (r) => r.flow.initiator_addr],
  ['initiator_port', (r) => r.flow.initiator_port],
  ['responder_addr', (r) => r.flow.responder_addr],
  ['responder_port', (r) => r.flow.responder_port],
  ['packets_out', (r) => r.flow.packets_out],
  ['packets_in', (r) => r.flow.packets_in],
  ['bytes_out', (r) => r.flow.bytes_out],
  ['bytes_in', (r) => r.flow.bytes_in],
  ['conn_state', (r) => r.flow.conn_state],
  ['history', (r) => r.flow.history],
  ['hostname', (r) => r.flow.hostname],
  ['hostname_source', (r) => r.flow.hostname_source],
  ['sni', (r) => r.flow.sni],
  ['http_method', (r) => r.flow.http_method],
  ['http_host', (r) => r.flow.http_host],
  ['http_path', (r) => r.flow.http_path],
  ['http_status', (r) => r.flow.http_status],
  ['connect_host', (r) => r.flow.connect_host],
  ['dns_name', (r) => r.flow.dns_name],
  ['activity', (r) => r.flow.activity],
  ['activity_reason', (r) => r.flow.activity_reason],
  ['ollama', (r) => r.flow.ollama],
  ['community_id', (r) => r.flow.community_id],
  ['pid', (r) => r.flow.process?.pid ?? null],
  ['process_name', (r) => r.flow.process?.name ?? null],
  ['process_exe', (r) => r.flow.process?.exe ?? null],
  ['peer_pid', (r) => r.flow.peer_process?.pid ?? null],
  ['peer_process_name', (r) => r.flow.peer_process?.name ?? null],
  ['peer_process_exe', (r) => r.flow.peer_process?.exe ?? null],
];

/** One CSV field: null is empty; text is guarded against formulas and quoted when it must be. */
export function csvField(v: Cell): string {
  if (v === null) return '';
  if (typeof v !== 'string') return String(v);
  const guarded = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return guarded !== v || /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export function csvHeader(): string {
  return `${COLUMNS.map((c) => c[0]).join(',')}\r\n`;
}

export function csvLine(row: ExportRow): string {
  return `${COLUMNS.map((c) => csvField(c[1](row))).join(',')}\r\n`;
}
