import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { BUILTIN_CLAIMS } from '../knowledge/claims.js';
import { readClaimsFile } from '../claims/claim-schema.js';
import { claimsReport } from '../claims/evaluate.js';
import { reportText } from '../claims/report-text.js';
import { EXIT_OK } from '../errors.js';
import { requireSessions } from './session-check.js';

export interface ClaimsOptions {
  db?: string;
  json?: boolean;
  /** One session id or several; default every session. */
  session?: number | number[];
  /** A user claims file (JSON or YAML), judged after the built-in catalogue. */
  claimsFile?: string;
  /** Conditions the user says held: `no-cloud`, `https-proxy`. */
  assume?: string[];
}

export function sessionList(session: number | number[] | undefined): number[] | undefined {
  if (session === undefined) return undefined;
  const list = Array.isArray(session) ? session : [session];
  return list.length ? list : undefined;
}

/** `claims`: every claim with its verdict, evidence and the coverage behind it. Exit 0: a verdict is not a failure here. */
export function runClaims(opts: ClaimsOptions, out: NodeJS.WritableStream = process.stdout): number {
  const extra = opts.claimsFile ? readClaimsFile(opts.claimsFile) : [];
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  try {
    requireSessions(db, sessionList(opts.session), opts.db);
    const report = claimsReport(db, { sessions: sessionList(opts.session), claims: [...BUILTIN_CLAIMS, ...extra], assume: opts.assume });
    out.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : reportText(report));
  } finally {
    db.close();
  }
  return EXIT_OK;
}
