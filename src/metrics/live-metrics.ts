/**
 * The daemon's metrics, kept from the live engine's events (src/live/engine.ts): `stats` every
 * second (packets, bytes, drops, loss, flows), `second` (whether the write reached the store),
 * `stopped`. Claim verdicts come from the claims engine over the daemon's own session, re-judged
 * after a write that stored flows, paced by DEFAULTS.judgePace.metrics (judging a big session
 * takes a while, on the capture's thread).
 * Nothing is read on a timer: what is not known yet is left out, never reported as 0.
 */
import { existsSync, statSync } from 'node:fs';
import type { LiveEngine, LiveStats } from '../live/engine.js';
import { claimsReport } from '../claims/evaluate.js';
import { judgingGapMs } from '../claims/judge-pacing.js';
import { DEFAULTS } from '../settings.js';
import { openDb } from '../store/open-db.js';
import { exposition, type Family } from './prometheus-text.js';


interface ClaimState { id: string; violated: boolean; inconclusive: boolean }

export interface LiveMetrics {
  /** The exposition text now. */
  render(): string;
}

export function watchEngine(engine: LiveEngine, dbPath: string): LiveMetrics {
  let stats: LiveStats | null = null;
  let startedS: number | null = null;
  let sessionId: number | null = null;
  let lastWriteS: number | null = null;
  let writable: boolean | null = null;
  let claims: ClaimState[] | null = null;
  let claimsAtS: number | null = null;
  let nextClaimsMs = 0;
  let claimsDirty = false;

  function judgeClaims(): void {
    if (sessionId === null) return;
    const t0 = performance.now();
    const db = openDb(dbPath, { readonly: true });
    try {
      claims = claimsReport(db, { sessions: [sessionId] }).claims.map((c) => ({ id: c.id, violated: c.verdict === 'violated', inconclusive: c.verdict === 'inconclusive' }));
    } finally {
      db.close();
    }
    const took = performance.now() - t0;
    claimsAtS = Date.now() / 1000;
    claimsDirty = false;
    nextClaimsMs = Date.now() + judgingGapMs(took, DEFAULTS.judgePace.metrics);
  }

  engine.on('started', (s) => {
    sessionId = s.sessionId;
    startedS = Date.now() / 1000;
  });
  engine.on('stats', (s) => { stats = s; });
  engine.on('second', (s) => {
    writable = s.stored;
    if (!s.stored) return;
    lastWriteS = Date.now() / 1000;
    if (s.flows + s.dns + s.http > 0) claimsDirty = true;
    if (claimsDirty && Date.now() >= nextClaimsMs) judgeClaims();
  });
  engine.on('stopped', (s) => {
    stats = s;
    if (claimsDirty && s.ended) judgeClaims();
  });

  return { render: () => exposition(families(stats, { startedS, lastWriteS, writable, claims, claimsAtS, dbPath })) };
}

interface Extra {
  startedS: number | null;
  lastWriteS: number | null;
  writable: boolean | null;
  claims: ClaimState[] | null;
  claimsAtS: number | null;
  dbPath: string;
}

const one = (v: number | null | undefined) => (v === null || v === undefined ? [] : [{ value: v }]);

function families(s: LiveStats | null, x: Extra): Family[] {
  const flows = Object.entries(s?.flowsByActivity ?? {}).flatMap(([activity, n]) => [
    { labels: { activity, ollama: 'true' }, value: n.ollama }, { labels: { activity, ollama: 'false' }, value: n.other },
  ]);
  const claim = (pick: (c: ClaimState) => boolean) => (x.claims ?? []).map((c) => ({ labels: { claim: c.id }, value: pick(c) ? 1 : 0 }));
  return [
    { name: 'ollama_audit_capture_start_time_seconds', type: 'gauge', help: 'When the daemon started capturing (Unix time).', samples: one(x.startedS) },
    { name: 'ollama_audit_packets_total', type: 'counter', help: 'Packets captured.', samples: one(s?.packets) },
    { name: 'ollama_audit_captured_bytes_total', type: 'counter', help: 'Bytes on the wire of the packets captured.', samples: one(s?.bytes) },
    { name: 'ollama_audit_kernel_drops_total', type: 'counter', help: 'Packets the kernel dropped before the daemon read them (absent: the kernel gives no counter).', samples: one(s?.kernelDrops) },
    { name: 'ollama_audit_estimated_loss_ratio', type: 'gauge', help: 'Share of acknowledged TCP bytes never captured (absent: no TCP acknowledged yet).', samples: one(s?.lossEstimate === null || s === null ? null : s.lossEstimate / 100) },
    { name: 'ollama_audit_flows_total', type: 'counter', help: 'Flows closed, by activity and whether Ollama took part.', samples: flows },
    { name: 'ollama_audit_unattributed_flows_total', type: 'counter', help: 'Flows no process could be found for.', samples: one(s?.unattributed) },
    { name: 'ollama_audit_flows_expired_early_total', type: 'counter', help: 'Flows closed before their time (full flow table, half-open timeout): a coverage problem.', samples: one(s?.expiredEarly) },
    { name: 'ollama_audit_evidence_bytes', type: 'gauge', help: 'Bytes of evidence pcapng segments on disk (absent: --evidence none).', samples: one(s?.evidenceBytes) },
    { name: 'ollama_audit_store_size_bytes', type: 'gauge', help: 'Size of the SQLite store and its write-ahead log.', samples: one(storeSize(x.dbPath)) },
    { name: 'ollama_audit_last_write_timestamp_seconds', type: 'gauge', help: 'When the store last took the daemon\'s rows (Unix time; it writes every second).', samples: one(x.lastWriteS) },
    { name: 'ollama_audit_store_writable', type: 'gauge', help: '1 when the last write reached the store, 0 while it cannot (disk full: rows are lost and counted).', samples: one(x.writable === null ? null : Number(x.writable)) },
    { name: 'ollama_audit_claim_violated', type: 'gauge', help: '1 when the claim is violated in the daemon\'s session.', samples: claim((c) => c.violated) },
    { name: 'ollama_audit_claim_inconclusive', type: 'gauge', help: '1 when the claim cannot be judged in the daemon\'s session (coverage below the thresholds, flows that could be read either way).', samples: claim((c) => c.inconclusive) },
    { name: 'ollama_audit_claims_evaluated_timestamp_seconds', type: 'gauge', help: 'When the claim gauges were last judged (Unix time).', samples: one(x.claimsAtS) },
  ];
}

function storeSize(db: string): number | null {
  const files = [db, `${db}-wal`].filter((p) => existsSync(p));
  return files.length ? files.reduce((n, p) => n + statSync(p).size, 0) : null;
}
