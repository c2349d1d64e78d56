/**
 * The plain data a report is made of. `report.json` is a ReportData as JSON; the Markdown and
 * HTML renderers read nothing else. Times are ISO 8601 UTC strings (as `flows --json`).
 *
 * ReportClaim and ReportCoverage are this stage's own view of a claims engine's result, so the
 * report does not depend on the engine's files: the caller maps its results onto them.
 */
import type { FlowRecord } from '../store/read/flows.js';
import type { SessionCoverage } from '../claims/coverage.js';

/** A sequence of flows that belong together (e.g. DNS answer -> TLS to that address -> redirect -> CDN). */
export interface ReportChain {
  flow_ids: number[];
  label?: string;
}

export interface ReportClaim {
  id: string;
  title: string;
  /** Where the claim comes from (document, file, rule set); shown as text, never as a link. */
  source: string;
  /** The engine's word for the outcome, shown as given ('holds', 'violated', 'inconclusive'...). */
  verdict: string;
  reason: string;
  evidence: {
    flow_ids: number[];
    count: number;
    first_seen?: string | null;
    chains?: ReportChain[];
  };
}

/**
 * What one session could see, as the claims engine judged it (its `claims --json` coverage
 * session). Percent fields are 0..100, `attributed_share` 0..1.
 */
export type ReportCoverageSession = Pick<SessionCoverage, 'session_id' | 'duration_s' | 'packets' | 'drops' | 'drop_percent' |
  'loss_estimate' | 'attribution' | 'attributed_share' | 'off_host_visible' | 'loopback_visible' | 'problems'>;

/**
 * What the capture could and could not see: `gaps` (one line each), the sessions' coverage and
 * the thresholds that stop a `holds`. The renderers show known fields as sentences and tables;
 * report.json keeps whatever else the engine adds.
 */
export interface ReportCoverage {
  gaps?: string[];
  sessions?: ReportCoverageSession[];
  thresholds?: { max_loss_percent: number; max_drop_percent: number; request_grace_s: number };
  [key: string]: unknown;
}

/**
 * The exposure audit's result (`exposure --json`), as far as the renderers read it; every part
 * optional so a partial result still renders. report.json keeps it whole.
 */
export interface ReportExposure {
  live?: boolean;
  api_ports?: number[];
  listeners?: { pid: number; comm: string; role: string | null; address: string; port: number; scope: string; api: boolean; host_netns: boolean }[];
  processes?: {
    pid: number; comm: string; role: string | null;
    env: { readable: boolean; unreadable_reason?: string | null; ollama_host: string | null; ollama_origins: string | null };
  }[];
  clients?: {
    class: string; flows: number; clients: number; first_seen: string; last_seen: string; bytes_out: number; bytes_in: number;
    addresses: { address: string; flows: number }[];
  }[];
  proxies?: { name: string | null; front: string[]; detected_by: string[]; api_requests: number; clients: { class: string; clients: number }[] }[];
  host_trap?: { via: string | null; host: string | null; requests: number; clients: string[]; example: string }[];
  findings?: { severity: string; code: string; message: string }[];
  notes?: string[];
}

export interface ReportSession {
  id: number;
  kind: string;
  source: string;
  format: string | null;
  interfaces: { index: number; name: string | null; linktype: number }[];
  started_at: string | null;
  ended_at: string | null;
  packets: number;
  /** Kernel drops the source reported; null = unknown. */
  drops: number | null;
  /** Estimated capture loss in %; null = unknown. */
  loss_estimate: number | null;
  skipped: Record<string, number>;
  warnings: string[];
  stopped_at: number | null;
}

export interface ReportFlow extends FlowRecord {
  /** The flow is cited as evidence by at least one claim: its packets are in evidence.pcapng. */
  finding: boolean;
  /** Ids of the claims citing it. */
  claims: string[];
}

/** A process from the store. The command line is left out on purpose: it can hold a prompt. */
export interface ReportProcess {
  session_id: number;
  pid: number;
  name: string;
  exe: string | null;
  exe_sha256: string | null;
  role: string | null;
  ollama: boolean;
  source: string;
  flows: number;
  bytes_out: number;
  bytes_in: number;
}

/** DNS lookups grouped by name and type. */
export interface ReportDnsName {
  query: string;
  qtype: string;
  first_seen: string;
  count: number;
  rcodes: string[];
  /** Distinct answer data (addresses, CNAME targets). */
  answers: string[];
}

/** One HTTP/1.x request: start line, status and the model it named only, never headers beyond Host, never bodies. */
export interface ReportHttp {
  session_id: number;
  flow_id: number | null;
  ts: string;
  method: string;
  path: string | null;
  host: string | null;
  status: number | null;
  /** The model a request to a model route on the API port named (http.model), and why there is none (http.model_status; null: not read). */
  model: string | null;
  model_status: string | null;
}

export interface Timeline {
  /** Start of the first bucket (aligned to the bucket size), null when there is no traffic. */
  start: string | null;
  start_us: number | null;
  bucket_s: number;
  buckets: number;
  /** Activities in legend order; `api:/api/pull` and friends are counted under `api`. */
  activities: string[];
  /** Bytes per bucket, one array of `buckets` numbers per activity. */
  bytes: Record<string, number[]>;
  /** How the numbers were made. */
  note: string;
}

export interface EvidenceSummary {
  /** File name inside the report folder, or null when none was written (see warnings). */
  file: string | null;
  packets: number;
  /** Finding flows asked for, and per flow how many packets the store counted and the file holds. */
  flows: { flow_id: number; expected: number; written: number }[];
  /** True when every finding flow's packets were all found. */
  complete: boolean;
  /** Why packets are missing: source file gone or changed, segments deleted, ... */
  warnings: string[];
  /** What was cut: API bodies, payload past the first bytes of each direction. */
  policy: string;
}

export interface ReportData {
  format: 'ollama-audit-report/1';
  tool: { name: string; version: string };
  host: string;
  generated_at: string;
  time_range: { start: string | null; end: string | null };
  sessions: ReportSession[];
  /** null: claims were not evaluated. */
  claims: ReportClaim[] | null;
  coverage: ReportCoverage | null;
  /** The exposure audit's result as given, or null. */
  exposure: ReportExposure | null;
  /** Over every flow of the chosen sessions; `findings`: flows cited by a claim. */
  flow_totals: { flows: number; ollama: number; findings: number; bytes_out: number; bytes_in: number };
  /**
   * In report.json: every flow, in time order. In memory (what the Markdown and HTML tables read):
   * the findings and the flows with the most bytes, at most LISTED_FLOWS (gather.ts).
   */
  flows: ReportFlow[];
  processes: ReportProcess[];
  dns: ReportDnsName[];
  /** HTTP requests in all. */
  http_total: number;
  /** In report.json: every request; in memory: the earliest LISTED_HTTP (gather.ts). */
  http: ReportHttp[];
  timeline: Timeline;
  evidence: EvidenceSummary;
  /** Problems gathering the report (a claim citing a flow that is not in the store...). */
  warnings: string[];
}
