import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { openDb, type Db } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import type { ReportClaim, ReportCoverage, ReportExposure } from '../report/report-types.js';
import { writeReport, type WriteReportResult } from '../report/write-report.js';
import { EXIT_OK, UserError } from '../errors.js';
import { requireSessions } from './session-check.js';
import { visible } from '../text/visible.js';

export interface ReportOptions {
  db?: string;
  /** Report folder (created 0700). */
  out: string;
  /** Only these sessions; all when absent. */
  session?: number[];
  json?: boolean;
  /** Extra Ollama API ports (OLLAMA_HOST on another port) whose bodies are cut from the evidence. */
  apiPorts?: number[];
}

export interface ReportDeps {
  /** The claims engine; without it the report says "claims not evaluated". */
  evaluate?: (db: Db) => { claims: ReportClaim[]; coverage: ReportCoverage | null };
  /** The exposure audit's result, rendered as given. */
  exposure?: (db: Db) => ReportExposure;
}

/**
 * `report --out DIR` (also used by `verify --report DIR`): writes the report folder and prints
 * where, what the evidence holds and anything missing. Always exit 0 once written: verdicts
 * decide `verify`'s exit code, not the report's.
 */
export function runReport(opts: ReportOptions, deps: ReportDeps = {}, out: NodeJS.WritableStream = process.stdout): number {
  const dir = resolve(opts.out);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(`--out ${opts.out} exists and is not a folder: give a folder for the report`);
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  try {
    requireSessions(db, opts.session, opts.db);
    const evaluated = deps.evaluate?.(db) ?? null;
    const result = writeReportFolder(db, dir, {
      sessions: opts.session,
      claims: evaluated?.claims ?? null,
      coverage: evaluated?.coverage ?? null,
      exposure: deps.exposure?.(db),
      apiPorts: opts.apiPorts,
    });
    out.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(dir, result, evaluated !== null));
  } finally {
    db.close();
  }
  return EXIT_OK;
}

/** writeReport, with a file-system failure (no permission, disk full, not a folder) said in one line. */
export function writeReportFolder(db: Db, dir: string, input: Parameters<typeof writeReport>[2]): WriteReportResult {
  try {
    return writeReport(db, dir, input);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw err;
    throw new UserError(`cannot write the report to ${dir} (${code}): pick another folder, or free space if the disk is full`);
  }
}

function formatResult(dir: string, r: WriteReportResult, evaluated: boolean): string {
  const m = r.manifest;
  const lines = [
    `report written to ${visible(dir)}/`,
    ...m.files.map((f) => `  ${f.name.padEnd(16)} ${String(f.bytes).padStart(10)} bytes  sha256 ${f.sha256}`),
    '  manifest.json    (the hashes above, tool, host, time range, coverage)',
  ];
  if (!evaluated) lines.push('claims not evaluated: the report shows flows, processes and the timeline only');
  const e = m.evidence;
  lines.push(e.file === null ? 'no evidence file (no claim cites a flow with packets)' : `evidence: ${e.packets} packet(s) of the findings${e.complete ? '' : ' (incomplete)'}`);
  for (const w of e.warnings) lines.push(`warning: ${visible(w)}`);
  return `${lines.join('\n')}\n`;
}
