import type { Flow } from '../flows/flow.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import type { InterfaceInfo } from '../capture/packet.js';
import { addrToString } from '../decode/addr.js';
import { lossOf } from '../flows/tcp-loss.js';
import { connStateOf, historyOf, type ConnSource } from '../flows/conn-state.js';
import { communityIdOf, type CommunityIdSource } from '../flows/community-id.js';

/**
 * Rows for one session, as plain arrays in the column order of the INSERTs below. An import's
 * flow rows are built on its writer thread (writer-thread.ts) from numbers the capture thread
 * packs (flow-pack.ts); every other row is built on the capture thread.
 */
export type Row = (string | number | null)[];

export const INSERT_FLOW = `INSERT INTO flows (
    session_id, seq, proto, ip_version, initiator_addr, initiator_port, responder_addr, responder_port,
    initiator_by, iface, first_seen, last_seen, packets_out, packets_in, bytes_out, bytes_in,
    payload_out, payload_in, tcp_state, missed_bytes, community_id, hostname, hostname_source, sni, alpn,
    http_method, http_path, http_host, http_status, connect_host, connect_port, dns_name,
    activity, activity_reason, ollama, process_seq, peer_process_seq, conn_state, history, ifaces, effective_process_seq)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/**
 * Live sessions write open flows every second: the same row, updated in place until the flow closes.
 * One more parameter after the row: write_seq, the session's write that wrote it (schema 14).
 */
export const UPSERT_FLOW = `${INSERT_FLOW.replace('effective_process_seq)', 'effective_process_seq, write_seq)').replace(/\?\)$/, '?, ?)')}
  ON CONFLICT (session_id, seq) DO UPDATE SET write_seq = excluded.write_seq,
    first_seen = excluded.first_seen, last_seen = excluded.last_seen,
    packets_out = excluded.packets_out, packets_in = excluded.packets_in, bytes_out = excluded.bytes_out,
    bytes_in = excluded.bytes_in, payload_out = excluded.payload_out, payload_in = excluded.payload_in,
    tcp_state = excluded.tcp_state, missed_bytes = excluded.missed_bytes, hostname = excluded.hostname,
    hostname_source = excluded.hostname_source, sni = excluded.sni, alpn = excluded.alpn,
    http_method = excluded.http_method, http_path = excluded.http_path, http_host = excluded.http_host,
    http_status = excluded.http_status, connect_host = excluded.connect_host, connect_port = excluded.connect_port,
    dns_name = excluded.dns_name, activity = excluded.activity, activity_reason = excluded.activity_reason,
    ollama = excluded.ollama, process_seq = excluded.process_seq, peer_process_seq = excluded.peer_process_seq,
    conn_state = excluded.conn_state, history = excluded.history, ifaces = excluded.ifaces,
    effective_process_seq = excluded.effective_process_seq`;
export const INSERT_DNS = `INSERT INTO dns (session_id, flow_seq, ts, response_ts, transport, txid, query, qtype, rcode, answers)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const INSERT_HTTP = `INSERT INTO http (session_id, flow_seq, ts, response_ts, method, path, version, host, user_agent, status, response_length, location, is_connect,
    model, model_status)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const INSERT_PROCESS = `INSERT INTO processes (session_id, seq, pid, start_time, ppid, comm, exe, exe_sha256, cmdline, uid, role, ollama_tree, source, exe_uuid)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const UPSERT_PROCESS = `${INSERT_PROCESS}
  ON CONFLICT (session_id, seq) DO UPDATE SET exe_sha256 = excluded.exe_sha256, role = excluded.role`;
export const INSERT_SESSION = `INSERT INTO sessions (kind, source, format, interfaces, filter, recorded_at) VALUES (?, ?, ?, '[]', ?, ?)`;
/** ended_at stays NULL until the capture ends cleanly: a reader (or a kill -9) can tell a capture that never finished. */
export const PROGRESS_SESSION = `UPDATE sessions SET packets = ?, started_at = ?, drops = ?,
    loss_estimate = ?, skipped = ?, gaps = ?, expired_early = ?, written_at = ?, attribution = coalesce(?, attribution) WHERE id = ?`;
export const FINISH_SESSION = `UPDATE sessions SET format = coalesce(?, format), interfaces = ?, packets = ?, started_at = ?, ended_at = ?, drops = ?,
    loss_estimate = ?, skipped = ?, warnings = ?, stopped_at = ?, expired_early = ?, source_sha256 = ? WHERE id = ?`;
/** The earliest other session that imported a file with these bytes (checked inside the import's own transaction). */
export const FIND_IMPORT_BY_SHA256 = `SELECT id, recorded_at, source FROM sessions WHERE source_sha256 = ? AND id <> ? ORDER BY id LIMIT 1`;

export interface SessionStart {
  kind: 'import' | 'live';
  source: string;
  format: string | null;
  filter?: string | null;
}

export interface SessionEnd {
  /** 'pcap' | 'pcapng' once an import knows it; absent keeps what the session began with. */
  format?: string | null;
  interfaces: InterfaceInfo[];
  packets: number;
  startedAt: number | null;
  endedAt: number | null;
  drops: number | null;
  lossEstimate: number | null;
  skipped: Record<string, number>;
  warnings: string[];
  stoppedAt: number | null;
  /** Flows closed before their time, by kind (expiredEarlyRecord in src/flows/flow-table.ts). */
  expiredEarly?: Record<string, number>;
  /** Hex SHA-256 of an imported file's bytes; null (or absent) for live sessions. An import's is
   * filled in by the writer thread, which hashes the bytes it was fed (session-writer fileBytes). */
  sourceSha256?: string | null;
}

/**
 * The session id is filled in by the writer thread (it is the first column of every row).
 * processSeq / peerProcessSeq / effectiveProcessSeq: the processes rows of flow.process,
 * flow.peerProcess and flow.effectiveProcess.
 */
export function flowRow(
  f: Flow, c: Classification, processSeq: number | null, peerProcessSeq: number | null, effectiveProcessSeq: number | null = null,
): Row {
  const row: Row = new Array(FLOW_COLUMNS);
  flowRowInto(row, 0, f, c, missedBytes(f), processSeq, peerProcessSeq, effectiveProcessSeq);
  return row;
}

/**
 * What a flow row is built from: a Flow (the live engine builds its rows on the capture thread),
 * or the import writer thread's view of a flow sent to it as numbers (flow-pack.ts), which
 * builds the strings (addresses, Community ID, conn_state, history) there.
 */
export type FlowRowSource = ConnSource & CommunityIdSource & Pick<Flow,
  'id' | 'ipVersion' | 'initiatorBy' | 'iface' | 'firstSeen' | 'lastSeen' | 'bytesOut' | 'bytesIn' | 'tcpState' | 'hostname'
  | 'hostnameSource' | 'sni' | 'alpn' | 'httpMethod' | 'httpPath' | 'httpHost' | 'httpStatus' | 'connectHost' | 'connectPort'
  | 'dnsName' | 'ifaces'>;

/** Columns of INSERT_FLOW (its parameters per row). */
export const FLOW_COLUMNS = 41;

/**
 * Writes the flow row into `out` from index `at` on (INSERT_FLOW's column order, the session id's
 * column 0; missed: the loss estimate's gaps, both ways): the import's writer thread fills a multi-row INSERT's parameter list in place, with
 * no array per row for its collector (50,000 of 41 values on the benchmark's file).
 */
export function flowRowInto(
  out: Row, at: number, f: FlowRowSource, c: Pick<Classification, 'activity' | 'reason' | 'ollama'>, missed: number,
  processSeq: number | null, peerProcessSeq: number | null, effectiveProcessSeq: number | null,
): void {
  out[at] = 0;
  out[at + 1] = f.id;
  out[at + 2] = f.proto;
  out[at + 3] = f.ipVersion;
  out[at + 4] = addrToString(f.initiatorAddr);
  out[at + 5] = f.initiatorPort;
  out[at + 6] = addrToString(f.responderAddr);
  out[at + 7] = f.responderPort;
  out[at + 8] = f.initiatorBy;
  out[at + 9] = f.iface;
  out[at + 10] = Math.round(f.firstSeen);
  out[at + 11] = Math.round(f.lastSeen);
  out[at + 12] = f.packetsOut;
  out[at + 13] = f.packetsIn;
  out[at + 14] = f.bytesOut;
  out[at + 15] = f.bytesIn;
  out[at + 16] = f.payloadOut;
  out[at + 17] = f.payloadIn;
  out[at + 18] = f.tcpState;
  out[at + 19] = missed;
  out[at + 20] = communityIdOf(f);
  out[at + 21] = f.hostname;
  out[at + 22] = f.hostnameSource;
  out[at + 23] = f.sni;
  out[at + 24] = f.alpn ? JSON.stringify(f.alpn) : null;
  out[at + 25] = f.httpMethod;
  out[at + 26] = f.httpPath;
  out[at + 27] = f.httpHost;
  out[at + 28] = f.httpStatus;
  out[at + 29] = f.connectHost;
  out[at + 30] = f.connectPort;
  out[at + 31] = f.dnsName;
  out[at + 32] = c.activity;
  out[at + 33] = c.reason;
  out[at + 34] = c.ollama ? 1 : 0;
  out[at + 35] = processSeq;
  out[at + 36] = peerProcessSeq;
  out[at + 37] = connStateOf(f);
  out[at + 38] = historyOf(f);
  out[at + 39] = ifacesJson(f);
  out[at + 40] = effectiveProcessSeq;
}

/** The interfaces a flow crossed, when more than one (a forwarded flow); NULL for one or unknown. */
function ifacesJson(f: Pick<Flow, 'ifaces'>): string | null {
  return f.ifaces !== null && f.ifaces.length > 1 ? JSON.stringify(f.ifaces) : null;
}

export function dnsRow(r: DnsRecord): Row {
  return [0, r.flowId, Math.round(r.ts), r.responseTs === null ? null : Math.round(r.responseTs),
    r.transport, r.txid, r.query, r.qtype, r.rcode, JSON.stringify(r.answers)];
}

export function httpRow(r: HttpRecord): Row {
  return [0, r.flowId, Math.round(r.ts), r.responseTs === null ? null : Math.round(r.responseTs),
    r.method, r.path, r.version, r.host, r.userAgent, r.status, r.responseLength, r.location, r.isConnect ? 1 : 0,
    r.model, r.modelStatus];
}

export interface ProcessRecord {
  pid: number;
  startTime: number | null;
  ppid: number | null;
  comm: string;
  exe: string | null;
  exeSha256: string | null;
  cmdline: string | null;
  uid: number | null;
  role: string | null;
  ollamaTree: boolean;
  /** 'lsof': an lsof lookup named pid, command and user (macOS without pktap). */
  source: 'procfs' | 'pcapng-comment' | 'pktap' | 'kernel-event' | 'lsof';
  /** Executable UUID (macOS pktap). */
  exeUuid?: string | null;
}

export function processRow(seq: number, p: ProcessRecord): Row {
  return [0, seq, p.pid, p.startTime, p.ppid, p.comm, p.exe, p.exeSha256, p.cmdline, p.uid, p.role, p.ollamaTree ? 1 : 0, p.source,
    p.exeUuid ?? null];
}

export function sessionEndRow(end: SessionEnd): Row {
  return [
    end.format ?? null, JSON.stringify(end.interfaces.map((i) => ({ index: i.index, name: i.name, linktype: i.linktype }))),
    end.packets, end.startedAt === null ? null : Math.round(end.startedAt), end.endedAt === null ? null : Math.round(end.endedAt),
    // source_sha256 stays last: the writer thread fills it in there (writer-thread.js).
    end.drops, end.lossEstimate, JSON.stringify(end.skipped), JSON.stringify(end.warnings), end.stoppedAt,
    JSON.stringify(end.expiredEarly ?? {}), end.sourceSha256 ?? null,
  ];
}

/** The loss estimate's gaps of a flow, both ways (Zeek's missed_bytes). */
export function missedBytes(f: Flow): number {
  const l = lossOf(f);
  return l.gapOut + l.gapIn;
}
