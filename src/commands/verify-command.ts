import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDb } from '../store/open-db.js';
import { DuplicateImportError } from '../store/store-error.js';
import { resolveDbPath } from '../settings.js';
import { airgapClaims } from '../knowledge/claims.js';
import { readClaimsFile } from '../claims/claim-schema.js';
import { parseAllowRules } from '../claims/allow-rules.js';
import { claimsReport, type ClaimsReport } from '../claims/evaluate.js';
import { sessionIds } from '../claims/session-facts.js';
import { sessionList } from './claims-command.js';
import { requireSessions } from './session-check.js';
import { importFile } from './import-file.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, isUserFacing, UserError } from '../errors.js';
import { captureLive, type LiveWatch, type VerifyLiveOptions } from './verify-live.js';
import { watchedDuring, type Watched } from './verify-watched.js';
import { cannotTellReason, verifyText } from './verify-text.js';
import { writeReportFolder } from './report-command.js';
import { reportInputFrom } from '../report/from-claims.js';
import { visible } from '../text/visible.js';

export type { VerifyLiveOptions, Watched };

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
  /** Write a report folder (report.md/html/json, evidence.pcapng, manifest.json) too. */
  report?: string;
  /** Capture live first (needs root or CAP_NET_RAW), then judge that capture alone. */
  live?: VerifyLiveOptions;
  /** Accept a check during which Ollama did not run (otherwise exit 2). */
  allowIdle?: boolean;
  /** --keep-cmdline as given: only a live capture stores command lines (live.keepCmdline carries it there). */
  keepCmdline?: boolean;
}

export type VerifyResult = 'silent' | 'traffic' | 'cannot-tell';

/** `verify --json`: the claims report plus the overall result. */
export interface VerifyReport extends ClaimsReport {
  result: VerifyResult;
  exit_code: number;
  claim_set: 'airgap';
  allow: string[];
  watched: Watched;
  /**
   * 'lowered' when a session's attribution confidence is (coverage.ts; each session's confidence_note says why):
   * the verdicts stand, but short flows could be unattributed Ollama ones (procfs alone, or lsof lookups on macOS).
   */
  confidence: 'normal' | 'lowered';
}

/**
 * `verify` on stored or given captures: judges the air-gap claim set (AIRGAP_CLAIM_IDS) plus any
 * claims file. Exit 0: nothing breaks them, Ollama ran (or --allow-idle) and the capture could see
 * traffic; 1: traffic breaks one; 2: cannot tell (coverage, Ollama not running, nothing captured),
 * or a usage/input error. Every exit 2 says why in one line on stderr.
 */
export async function runVerifyOffline(opts: VerifyOfflineOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let tempDir: string | null = null;
  try {
    const allow = parseAllowRules(opts.allow);
    const claims = [...airgapClaims(), ...(opts.claimsFile ? readClaimsFile(opts.claimsFile) : [])];
    let dbPath = resolveDbPath(opts.db);
    let sessions = sessionList(opts.session);
    let live: LiveWatch | null = null;
    if (opts.keepCmdline && !opts.live) throw new UserError('--keep-cmdline applies to what a live capture stores: give it with --duration or --exercise');
    if (opts.live && opts.pcap?.length) throw new UserError('--pcap judges recorded captures; --duration/--exercise capture live: give one or the other');
    if (opts.live) {
      if (sessions) throw new UserError('--session picks stored sessions; a live verify judges its own capture');
      if (!opts.db) {
        tempDir = mkdtempSync(join(tmpdir(), 'ollama-audit-verify-'));
        dbPath = join(tempDir, 'verify.db');
      }
      live = await captureLive(dbPath, opts.live, tempDir);
      sessions = [live.sessionId];
    } else if (opts.pcap?.length) {
      if (sessions) throw new UserError('--session picks stored sessions; with --pcap the imported files are judged');
      if (!opts.db) {
        tempDir = mkdtempSync(join(tmpdir(), 'ollama-audit-verify-'));
        dbPath = join(tempDir, 'verify.db');
      }
      openDb(dbPath).close();
      sessions = [];
      for (const file of opts.pcap) sessions.push(await importOrEarlier(dbPath, file));
    }
    const db = openDb(dbPath, { readonly: true });
    try {
      requireSessions(db, sessions, opts.db);
      const judged = sessions ?? sessionIds(db);
      if (judged.length === 0) throw new UserError(`no session in ${dbPath}: import a capture or pass --pcap FILE`);
      const report = claimsReport(db, { sessions, claims, allow, assume: opts.assume });
      const watched = watchedDuring(db, judged, live, opts);
      let code = exitCode(report);
      if (code === EXIT_OK && watched.missing.length > 0) code = EXIT_USAGE;
      const confidence = report.coverage.sessions.some((c) => c.attribution_confidence === 'lowered') ? 'lowered' : 'normal';
      const full: VerifyReport = { result: RESULT[code], exit_code: code, claim_set: 'airgap', allow: opts.allow ?? [], watched, confidence, ...report };
      if (opts.report) {
        const written = writeReportFolder(db, resolve(opts.report), { sessions, ...reportInputFrom(report) });
        process.stderr.write(`ollama-audit: report written to ${visible(resolve(opts.report))} (${written.files.length} files; manifest.json lists their SHA-256)\n`);
      }
      out.write(opts.json ? `${JSON.stringify(full, null, 2)}\n` : verifyText(full, tempDir === null ? dbPath : null));
      if (code === EXIT_USAGE) process.stderr.write(`ollama-audit: cannot tell: ${visible(cannotTellReason(full))}\n`);
      return code;
    } finally {
      db.close();
    }
  } catch (err) {
    if (!isUserFacing(err)) throw err;
    process.stderr.write(`ollama-audit: ${visible(err.message)}\n`);
    return EXIT_USAGE;
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** The session of `file`: imported now, or the earlier one when the store already holds its bytes (judged, not imported twice). */
async function importOrEarlier(dbPath: string, file: string): Promise<number> {
  try {
    return (await importFile(dbPath, file)).session_id;
  } catch (err) {
    if (!(err instanceof DuplicateImportError)) throw err;
    process.stderr.write(`ollama-audit: ${visible(file)}: already imported as session ${err.earlierSession}: judging that session\n`);
    return err.earlierSession;
  }
}

const RESULT: Record<number, VerifyResult> = { [EXIT_OK]: 'silent', [EXIT_FINDING]: 'traffic', [EXIT_USAGE]: 'cannot-tell' };

/** A violation seen is a finding whatever else is uncertain; otherwise any inconclusive claim means we cannot tell. */
export function exitCode(report: ClaimsReport): number {
  if (report.claims.some((c) => c.verdict === 'violated')) return EXIT_FINDING;
  if (report.claims.some((c) => c.verdict === 'inconclusive')) return EXIT_USAGE;
  return EXIT_OK;
}

