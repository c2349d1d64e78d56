import type { Db } from './open-db.js';
import type { Flow } from '../flows/flow.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import type { InterfaceInfo } from '../capture/packet.js';
import { addrToString } from '../decode/addr.js';
import { processRole } from '../knowledge/processes.js';

export interface SessionStart {
  kind: 'import' | 'live';
  source: string;
  format: string | null;
  filter?: string | null;
}

export interface SessionEnd {
  interfaces: InterfaceInfo[];
  packets: number;
  startedAt: number | null;
  endedAt: number | null;
  drops: number | null;
  lossEstimate: number | null;
  skipped: Record<string, number>;
  warnings: string[];
  stoppedAt: number | null;
}

/**
 * Writes one import session as a single transaction: either the whole session lands or,
 * on any failure (or abort), nothing of it does and earlier sessions are untouched.
 */
export function beginSession(db: Db, start: SessionStart) {
  db.exec('BEGIN IMMEDIATE');
  const sessionId = Number(
    db.prepare(
      `INSERT INTO sessions (kind, source, format, interfaces, filter, recorded_at) VALUES (?, ?, ?, '[]', ?, ?)`,
    ).run(start.kind, start.source, start.format, start.filter ?? null, Date.now() * 1000).lastInsertRowid,
  );
  const insertFlow = db.prepare(`INSERT INTO flows (
      session_id, seq, proto, ip_version, initiator_addr, initiator_port, responder_addr, responder_port,
      initiator_by, iface, first_seen, last_seen, packets_out, packets_in, bytes_out, bytes_in,
      payload_out, payload_in, tcp_state, community_id, hostname, hostname_source, sni, alpn,
      http_method, http_path, http_host, http_status, connect_host, connect_port, dns_name,
      activity, activity_reason, ollama, process_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertDns = db.prepare(`INSERT INTO dns (session_id, flow_seq, ts, response_ts, transport, txid, query, qtype, rcode, answers)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertHttp = db.prepare(`INSERT INTO http (session_id, flow_seq, ts, response_ts, method, path, version, host, user_agent, status, location, is_connect)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertProcess = db.prepare(`INSERT INTO processes (session_id, pid, start_time, comm, exe, role, source)
    VALUES (?, ?, NULL, ?, ?, ?, 'pcapng-comment')`);
  const processIds = new Map<string, number>();
  let open = true;

  function processId(p: NonNullable<Flow['process']>): number {
    const key = `${p.pid}\0${p.name}`;
    let id = processIds.get(key);
    if (id === undefined) {
      id = Number(insertProcess.run(sessionId, p.pid, p.name, p.exe, processRole(p.name)).lastInsertRowid);
      processIds.set(key, id);
    }
    return id;
  }

  function flow(f: Flow, c: Classification): void {
    insertFlow.run(
      sessionId, f.id, f.proto, f.ipVersion, addrToString(f.initiatorAddr), f.initiatorPort,
      addrToString(f.responderAddr), f.responderPort, f.initiatorBy, f.iface, Math.round(f.firstSeen),
      Math.round(f.lastSeen), f.packetsOut, f.packetsIn, f.bytesOut, f.bytesIn, f.payloadOut, f.payloadIn,
      f.tcpState, f.communityId, f.hostname, f.hostnameSource, f.sni, f.alpn ? JSON.stringify(f.alpn) : null,
      f.httpMethod, f.httpPath, f.httpHost, f.httpStatus, f.connectHost, f.connectPort, f.dnsName,
      c.activity, c.reason, c.ollama ? 1 : 0, f.process ? processId(f.process) : null,
    );
  }

  function dns(r: DnsRecord): void {
    insertDns.run(sessionId, r.flowId, Math.round(r.ts), r.responseTs === null ? null : Math.round(r.responseTs),
      r.transport, r.txid, r.query, r.qtype, r.rcode, JSON.stringify(r.answers));
  }

  function http(r: HttpRecord): void {
    insertHttp.run(sessionId, r.flowId, Math.round(r.ts), r.responseTs === null ? null : Math.round(r.responseTs),
      r.method, r.path, r.version, r.host, r.userAgent, r.status, r.location, r.isConnect ? 1 : 0);
  }

  function commit(end: SessionEnd): number {
    db.prepare(`UPDATE sessions SET interfaces = ?, packets = ?, started_at = ?, ended_at = ?, drops = ?,
        loss_estimate = ?, skipped = ?, warnings = ?, stopped_at = ? WHERE id = ?`).run(
      JSON.stringify(end.interfaces.map((i) => ({ index: i.index, name: i.name, linktype: i.linktype }))),
      end.packets, end.startedAt === null ? null : Math.round(end.startedAt), end.endedAt === null ? null : Math.round(end.endedAt),
      end.drops, end.lossEstimate, JSON.stringify(end.skipped), JSON.stringify(end.warnings), end.stoppedAt, sessionId,
    );
    db.exec('COMMIT');
    open = false;
    return sessionId;
  }

  function abort(): void {
    if (!open) return;
    open = false;
    if (db.inTransaction) db.exec('ROLLBACK');
  }

  return { sessionId, flow, dns, http, commit, abort };
}

export type SessionWriter = ReturnType<typeof beginSession>;
