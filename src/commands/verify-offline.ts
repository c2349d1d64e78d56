import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../store/db-path.js';
import { airgapClaims, AIRGAP_CLAIM_IDS } from '../knowledge/claims.js';
import { readClaimsFile } from '../claims/claim-schema.js';
import { parseAllowRules } from '../claims/allow-rules.js';
import { claimsReport, type ClaimsReport } from '../claims/evaluate.js';
import { chainText, coverageText, verdictLabel } from '../claims/report-text.js';
import { sessionIds } from '../claims/session-facts.js';
import { sessionList } from './claims-command.js';
import { importFile } from './import-file.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, isUserFacing, UserError } from './user-error.js';

export interface VerifyOfflineOptions {
  db?: string;
  /** Capture files to import (into --db, else a temporary store) and judge; only their sessions are judged. */
  pcap?: string[];
  /** Expected traffic, left out of every claim (grammar in src/claims/allow-rules.ts). */
  allow?: string[];
  json?: boolean;
  session?: number | number[];
  /** More claims (JSON or YAML) judged with the air-gap set. */
  claimsFile?: string;
  assume?: string[];
}

export type VerifyResult = 'silent' | 'traffic' | 'cannot-tell';

/** `verify --json`: the claims report plus the overall result. */
export interface VerifyReport extends ClaimsReport {
  result: VerifyResult;
  exit_code: number;
  claim_set: 'airgap';
  allow: string[];
}

/**
 * `verify` on stored or given captures: judges the air-gap claim set (AIRGAP_CLAIM_IDS) plus any
 * claims file. Exit 0: nothing breaks them; 1: traffic breaks one; 2: coverage cannot tell, or a
 * usage/input error (one line on stderr).
 */
export async function runVerifyOffline(opts: VerifyOfflineOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let tempDir: string | null = null;
  try {
    const allow = parseAllowRules(opts.allow);
    const claims = [...airgapClaims(), ...(opts.claimsFile ? readClaimsFile(opts.claimsFile) : [])];
    let dbPath = resolveDbPath(opts.db);
    let sessions = sessionList(opts.session);
    if (opts.pcap?.length) {
      if (sessions) throw new UserError('--session picks stored sessions; with --pcap the imported files are judged');
      if (!opts.db) {
        tempDir = mkdtempSync(join(tmpdir(), 'ollama-audit-verify-'));
        dbPath = join(tempDir, 'verify.db');
      }
      openDb(dbPath).close();
      sessions = [];
      for (const file of opts.pcap) sessions.push((await importFile(dbPath, file)).session_id);
    }
    const db = openDb(dbPath, { readonly: true });
    try {
      if ((sessions ?? sessionIds(db)).length === 0) throw new UserError(`no session in ${dbPath}: import a capture or pass --pcap FILE`);
      const report = claimsReport(db, { sessions, claims, allow, assume: opts.assume });
      const code = exitCode(report);
      const full: VerifyReport = { result: RESULT[code], exit_code: code, claim_set: 'airgap', allow: opts.allow ?? [], ...report };
      out.write(opts.json ? `${JSON.stringify(full, null, 2)}\n` : verifyText(full));
      return code;
    } finally {
      db.close();
    }
  } catch (err) {
    if (!isUserFacing(err)) throw err;
    process.stderr.write(`ollama-audit: ${err.message}\n`);
    return EXIT_USAGE;
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

const RESULT: Record<number, VerifyResult> = { [EXIT_OK]: 'silent', [EXIT_FINDING]: 'traffic', [EXIT_USAGE]: 'cannot-tell' };

/** A violation seen is a finding whatever else is uncertain; otherwise any inconclusive claim means we cannot tell. */
export function exitCode(report: ClaimsReport): number {
  if (report.claims.some((c) => c.verdict === 'violated')) return EXIT_FINDING;
  if (report.claims.some((c) => c.verdict === 'inconclusive')) return EXIT_USAGE;
  return EXIT_OK;
}

const HEADLINE: Record<VerifyResult, string> = {
  silent: 'PASS: no traffic breaks the air-gap claims',
  traffic: 'FAIL: traffic breaks the air-gap claims',
  'cannot-tell': 'CANNOT TELL: the capture cannot support a verdict',
};

function verifyText(r: VerifyReport): string {
  const lines = [`ollama-audit verify: ${HEADLINE[r.result]} (exit ${r.exit_code})`];
  if (r.allow.length) lines.push(`allowed: ${r.allow.join(', ')}`);
  lines.push('', ...r.coverage.sessions.map(coverageText), '');
  for (const c of r.claims) {
    const set = AIRGAP_CLAIM_IDS.includes(c.id) ? '' : ' (claims file)';
    lines.push(`${verdictLabel(c.verdict).padEnd(14)}${c.id}${set}: ${c.title}`, `              ${c.reason}`);
  }
  const broken = new Set(r.claims.filter((c) => c.verdict === 'violated').flatMap((c) => c.evidence.flow_ids));
  const chains = r.chains.filter((ch) => ch.caused.some((f) => broken.has(f.flow_id)));
  if (chains.length) lines.push('', 'Caused by requests on the API port:', ...chains.slice(0, 3).map(chainText));
  if (r.result === 'traffic') lines.push('', 'Expected traffic can be allowed with --allow (e.g. activity:registry, api:lan, host:10.0.0.0/8); `ollama-audit flows` lists every flow.');
  return `${lines.join('\n')}\n`;
}
