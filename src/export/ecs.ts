/**
 * Elastic Common Schema documents: one per flow (as it stood when exported) and one per claim
 * verdict change. Every field is an ECS field of a compatible type, or lives under the one custom
 * namespace `ollama_audit` (test/export/ecs-fields.test.ts checks each against ECS's own list).
 * Strings from the capture keep their exact value: JSON escapes them, nothing is cut or replaced.
 */
import type { ClaimResult, Verdict } from '../claims/evaluate.js';
import { isoMicrosOrNull } from '../store/format-time.js';
import { appProtocol, type ExportRow } from './export-row.js';

/** The ECS version whose field list the documents were checked against (fixtures/ecs/README.md). */
export const ECS_VERSION = '9.5.0-dev';

type Doc = Record<string, unknown>;

/** Leaves out null and undefined values (and objects left empty by that), so a document holds only what is known. */
function compact(o: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object' && !Array.isArray(v)) {
      const inner = compact(v as Doc);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else out[k] = v;
  }
  return out;
}

function processFields(row: ExportRow): Doc | null {
  const p = row.flow.process;
  if (p === null) return null;
  const x = row.extras;
  return {
    pid: p.pid,
    name: p.name,
    executable: p.exe,
    start: x.process_start === null ? null : isoMicrosOrNull(x.process_start),
    parent: { pid: x.ppid },
    hash: { sha256: x.exe_sha256 },
    user: { id: x.uid === null ? null : String(x.uid) },
  };
}

/** Coverage is the session's: parsed once per session row, not once per flow. */
const coverageOf = new WeakMap<ExportRow['session'], Doc>();

function coverageFields(row: ExportRow): Doc {
  const s = row.session;
  const known = coverageOf.get(s);
  if (known !== undefined) return known;
  const gaps = s.gaps === null ? 0 : (JSON.parse(s.gaps) as unknown[]).length;
  const early = Object.values(JSON.parse(s.expired_early) as Record<string, number>).reduce((a, b) => a + b, 0);
  const fields = { session_kind: s.kind, kernel_drops: s.drops, loss_estimate_pct: s.loss_estimate, store_gaps: gaps, flows_expired_early: early };
  coverageOf.set(s, fields);
  return fields;
}

/**
 * ECS url.*: the request target exactly as sent (url.original), its path without the query, and
 * the Host header split into domain and port ("[2001:db8::1]:8080", "example.org:8080").
 */
function urlFields(host: string | null, target: string | null): Doc {
  const m = host === null ? null : /^\[([^\]]+)\](?::(\d{1,5}))?$|^([^:]*):(\d{1,5})$/.exec(host);
  return {
    original: target,
    path: target !== null && target.startsWith('/') ? target.split('?')[0] : null,
    domain: m === null ? host : (m[1] ?? m[3]),
    port: m === null ? null : (m[2] ?? m[4]) === undefined ? null : Number(m[2] ?? m[4]),
  };
}

/** A flow version's id: the same flow at the same last packet is the same document (a shipper may use it as _id). */
export function flowEventId(row: ExportRow): string {
  return `flow-${row.flow.session_id}-${row.flow.id}-${row.extras.last_seen_us}`;
}

export function flowToEcs(row: ExportRow): Doc {
  const f = row.flow;
  const x = row.extras;
  const protocol = appProtocol(f);
  return compact({
    '@timestamp': f.last_seen ?? f.first_seen,
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      dataset: 'ollama_audit.flow',
      module: 'ollama_audit',
      id: flowEventId(row),
      start: f.first_seen,
      end: f.last_seen,
      duration: f.first_seen !== null && f.last_seen !== null ? (x.last_seen_us - x.first_seen_us) * 1000 : null,
    },
    source: { ip: f.initiator_addr, port: f.initiator_port, bytes: f.bytes_out, packets: f.packets_out },
    destination: { ip: f.responder_addr, port: f.responder_port, bytes: f.bytes_in, packets: f.packets_in, domain: f.hostname },
    network: {
      transport: f.proto,
      type: x.ip_version === 6 ? 'ipv6' : 'ipv4',
      community_id: f.community_id,
      bytes: f.bytes_out + f.bytes_in,
      packets: f.packets_out + f.packets_in,
      protocol,
    },
    process: processFields(row),
    tls: { client: { server_name: f.sni } },
    http: { request: { method: f.http_method }, response: { status_code: f.http_status } },
    url: urlFields(f.http_host, f.http_path),
    ollama_audit: {
      session_id: f.session_id,
      flow_id: f.id,
      activity: f.activity,
      ollama: f.ollama,
      reason: f.activity_reason,
      hostname_source: f.hostname_source,
      initiator_by: f.initiator_by,
      conn_state: f.conn_state,
      history: f.history,
      missed_bytes: f.missed_bytes,
      payload_bytes_out: x.payload_out,
      payload_bytes_in: x.payload_in,
      alpn: f.alpn,
      connect: { host: f.connect_host, port: f.connect_port },
      dns_name: f.dns_name,
      peer_process: f.peer_process === null ? null : { pid: f.peer_process.pid, name: f.peer_process.name, executable: f.peer_process.exe },
      effective_process: f.effective_process,
      coverage: coverageFields(row),
    },
  });
}

const OUTCOME: Record<Verdict, string> = { holds: 'success', violated: 'failure', inconclusive: 'unknown', 'not exercised': 'unknown' };

/**
 * A claim whose verdict changed (or was first seen): an alert when it is now violated, else a
 * state event. `at` is when the export judged it (ISO 8601).
 */
export function verdictToEcs(claim: ClaimResult, previous: Verdict | null, at: string): Doc {
  return compact({
    '@timestamp': at,
    ecs: { version: ECS_VERSION },
    message: `${claim.id}: ${claim.verdict} — ${claim.reason}`,
    event: {
      kind: claim.verdict === 'violated' ? 'alert' : 'state',
      category: ['network'],
      type: ['info'],
      dataset: 'ollama_audit.verdict',
      module: 'ollama_audit',
      outcome: OUTCOME[claim.verdict],
      reason: claim.reason,
    },
    rule: { id: claim.id, name: claim.title, reference: claim.source },
    ollama_audit: {
      claim: {
        verdict: claim.verdict,
        previous_verdict: previous,
        scope: claim.scope,
        evidence_flow_ids: claim.evidence.flow_ids.length ? claim.evidence.flow_ids : null,
        evidence_count: claim.evidence.count,
      },
    },
  });
}
