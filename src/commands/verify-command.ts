import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../store/open-db.js';
import { DuplicateImportError } from '../store/store-error.js';
import { resolveDbPath } from '../store/db-path.js';
import { airgapClaims, AIRGAP_CLAIM_IDS } from '../knowledge/claims.js';
import { readClaimsFile } from '../claims/claim-schema.js';
import { parseAllowRules } from '../claims/allow-rules.js';
import { claimsReport, type ClaimsReport } from '../claims/evaluate.js';
import { chainText, coverageText, verdictLabel } from '../claims/report-text.js';
import { loadSessionFacts, sessionIds } from '../claims/session-facts.js';
import { ollamaRanEvidence } from '../claims/ollama-ran.js';
import { interfacesDown } from '../capture/interface-state.js';
import { watchOllamaHere } from '../exposure/listeners.js';
import type { Db } from '../store/open-db.js';
import { sessionList } from './claims-command.js';
import { requireSessions } from './session-check.js';
import { importFile } from './import-file.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, isUserFacing, UserError } from './user-error.js';
import { runDaemon } from './daemon-command.js';
import { writeReportFolder } from './report-command.js';
import { reportInputFrom } from '../report/from-claims.js';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface VerifyLiveOptions {
  /** Capture for this many seconds. */
  duration?: number;
  /** Capture while this shell command runs, plus `grace` seconds after it exits. */
  exercise?: string;
  grace?: number;
  interface?: string[];
  filter?: string;
  /** Store processes' command lines verbatim (see DaemonOptions.keepCmdline). */
  keepCmdline?: boolean;
}

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

/** What a live verify saw besides the packets: read while it captured. */
interface LiveWatch {
  sessionId: number;
  /** An Ollama server/runner/app seen in /proc during the window (`ollama (pid 12, server)`), or null. */
  ollamaSeen: string | null;
  /** Captured interfaces that could not carry packets at the end of the window. */
  interfacesDown: string[];
}

/** Whether the check watched anything: Ollama running, and a capture able to see traffic. */
export interface Watched {
  ollama_ran: boolean;
  /** What showed it (a process seen in /proc, a flow), or null. */
  ollama_evidence: string | null;
  /** --allow-idle was given: Ollama not running is accepted. */
  allow_idle: boolean;
  /** What was missing for a verdict of `silent`, one sentence each; empty when nothing was. */
  missing: string[];
}

export type VerifyResult = 'silent' | 'traffic' | 'cannot-tell';

/** `verify --json`: the claims report plus the overall result. */
export interface VerifyReport extends ClaimsReport {
  result: VerifyResult;
  exit_code: number;
  claim_set: 'airgap';
  allow: string[];
  watched: Watched;
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
      const full: VerifyReport = { result: RESULT[code], exit_code: code, claim_set: 'airgap', allow: opts.allow ?? [], watched, ...report };
      if (opts.report) {
        const written = writeReportFolder(db, resolve(opts.report), { sessions, ...reportInputFrom(report) });
        process.stderr.write(`ollama-audit: report written to ${resolve(opts.report)} (${written.files.length} files; manifest.json lists their SHA-256)\n`);
      }
      out.write(opts.json ? `${JSON.stringify(full, null, 2)}\n` : verifyText(full, tempDir === null ? dbPath : null));
      if (code === EXIT_USAGE) process.stderr.write(`ollama-audit: cannot tell: ${cannotTellReason(full)}\n`);
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

/**
 * Ollama ran during the window: a flow shows it (ollama-ran.ts), or a live verify saw its server,
 * runner or app in /proc in this network namespace. The capture could see traffic: it holds
 * packets, or (live) every captured interface was up.
 */
function watchedDuring(db: Db, sessions: number[], live: LiveWatch | null, opts: VerifyOfflineOptions): Watched {
  let evidence = live?.ollamaSeen ? `${live.ollamaSeen} was running` : null;
  const missing: string[] = [];
  const empty: string[] = [];
  for (const id of sessions) {
    const facts = loadSessionFacts(db, id);
    if (!facts) continue;
    const rows = facts.rows;
    evidence ??= ollamaRanEvidence(facts);
    if (rows.session.packets === 0 && (live === null || live.interfacesDown.length > 0)) empty.push(id === live?.sessionId ? 'the live capture' : `session ${id} (${rows.session.source})`);
  }
  if (empty.length > 0) {
    const down = live && live.interfacesDown.length > 0 ? ` on ${live.interfacesDown.join(', ')}` : '';
    missing.push(`${empty.join(', ')} saw 0 packets${down}: nothing shows the capture could see traffic (capture on an interface that is up, -i)`);
  }
  if (evidence === null && !opts.allowIdle) missing.push(idleText(live, opts));
  return { ollama_ran: evidence !== null, ollama_evidence: evidence, allow_idle: opts.allowIdle === true, missing };
}

function idleText(live: LiveWatch | null, opts: VerifyOfflineOptions): string {
  const what = 'no Ollama server, runner or app process, no Ollama flow';
  if (live) {
    const window = opts.live?.duration !== undefined ? `the ${opts.live.duration} s window` : 'the capture window';
    return `Ollama was not running during ${window} (${what}): start it, or pass --allow-idle to accept an idle check`;
  }
  const source = opts.pcap?.length ? opts.pcap.join(', ') : 'the judged sessions';
  return `${source} shows no sign of Ollama running (${what}, no answered API connection): capture while it runs, or pass --allow-idle to accept an idle check`;
}

/** The one stderr line of an exit 2 that got as far as a verdict. */
function cannotTellReason(r: VerifyReport): string {
  const byReason = new Map<string, string[]>();
  for (const c of r.claims) if (c.verdict === 'inconclusive') byReason.set(c.reason, [...(byReason.get(c.reason) ?? []), c.id]);
  return [...r.watched.missing, ...[...byReason].map(([reason, ids]) => `${reason} (${ids.join(', ')})`)].join('; ');
}

/** The session of `file`: imported now, or the earlier one when the store already holds its bytes (judged, not imported twice). */
async function importOrEarlier(dbPath: string, file: string): Promise<number> {
  try {
    return (await importFile(dbPath, file)).session_id;
  } catch (err) {
    if (!(err instanceof DuplicateImportError)) throw err;
    process.stderr.write(`ollama-audit: ${file}: already imported as session ${err.earlierSession}: judging that session\n`);
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

const HEADLINE: Record<VerifyResult, string> = {
  silent: 'PASS: no traffic breaks the air-gap claims',
  traffic: 'FAIL: traffic breaks the air-gap claims',
  'cannot-tell': 'CANNOT TELL: the capture cannot support a verdict',
};

function verifyText(r: VerifyReport, keptDb: string | null): string {
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
  for (const m of r.watched.missing) lines.push(`CANNOT TELL   ${m}`);
  if (r.result === 'traffic') {
    const flows = keptDb === null
      ? 'the temporary store is deleted at exit: run again with --db PATH to keep it, then `ollama-audit flows --db PATH` lists every flow'
      : `\`ollama-audit flows --db ${keptDb}\` lists every flow`;
    lines.push('', `Expected traffic can be allowed with --allow (e.g. activity:registry, api:lan, host:10.0.0.0/8); ${flows}.`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The live part of `verify`: the daemon's capture for --duration, or for as long as --exercise
 * runs plus a grace period (so late connections the command caused are still seen). Returns the
 * session id, whether an Ollama server/runner/app ran in this namespace (sampled at the start,
 * every second and at the end), and which captured interfaces were down at the end. The
 * exercised command's output goes to stderr, so `--json` stays parseable.
 */
async function captureLive(dbPath: string, live: VerifyLiveOptions, tempDir: string | null): Promise<LiveWatch> {
  if (live.duration === undefined && live.exercise === undefined) throw new UserError('a live verify needs --duration or --exercise');
  let sessionId = 0;
  const ollama = watchOllamaHere();
  let sampler: NodeJS.Timeout | undefined;
  let until: Promise<void> | undefined;
  let startExercise: () => void = () => {};
  if (live.exercise !== undefined) {
    const command = live.exercise;
    until = new Promise<void>((done) => {
      startExercise = () => {
        const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 2, 2] });
        child.on('exit', (code, signal) => {
          process.stderr.write(`ollama-audit: exercised command ended (${signal ?? `exit ${code}`}); capturing ${live.grace ?? 5} s more\n`);
          setTimeout(done, (live.grace ?? 5) * 1000);
        });
        child.on('error', (err) => {
          process.stderr.write(`ollama-audit: could not run --exercise command: ${err.message}\n`);
          done();
        });
      };
    });
  }
  await runDaemon({
    db: dbPath,
    interface: live.interface,
    filter: live.filter,
    keepCmdline: live.keepCmdline,
    duration: live.duration,
    until,
    evidenceDir: tempDir ? join(tempDir, 'evidence') : undefined,
    onReady: (info) => {
      sessionId = info.sessionId;
      ollama.sample();
      sampler = setInterval(() => ollama.sample(), 1000);
      startExercise();
    },
  }).finally(() => clearInterval(sampler));
  ollama.sample();
  return { sessionId, ollamaSeen: ollama.seen(), interfacesDown: interfacesDown(live.interface?.length ? live.interface : ['any']) };
}
