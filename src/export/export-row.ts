import type { FlowRecord } from '../store/read/flows.js';
import type { FlowExtras, SessionCoverageRow } from '../store/read/export-rows.js';

/** One flow as every export format reads it: the flow record, its extra columns, its session's coverage. */
export interface ExportRow {
  flow: FlowRecord;
  extras: FlowExtras;
  session: SessionCoverageRow;
}

/**
 * The application protocol the stored facts show (TLS ClientHello, an HTTP message or CONNECT, a
 * DNS flow), or null. Zeek calls TLS `ssl` in conn.log's service; ECS's network.protocol says `tls`.
 */
export function appProtocol(f: FlowRecord): 'tls' | 'http' | 'dns' | null {
  if (f.sni !== null) return 'tls';
  if (f.http_method !== null || f.connect_host !== null) return 'http';
  if (f.activity === 'dns') return 'dns';
  return null;
}
