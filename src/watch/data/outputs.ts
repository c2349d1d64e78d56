/**
 * What `e` and `r` write, on the data thread (they read the store): a flow's evidence packets as
 * pcapng (bodies on the API port cut, as in a report: report/evidence-file.ts), and a report folder
 * of the session. New files only, in a folder checked by safe-files.ts. Each answers one line.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { safeOutputDir } from '../../store/safe-files.js';
import { findingFlows } from '../../store/read/report-rows.js';
import { sessionRows } from '../../store/read/sessions.js';
import { writeEvidenceFile } from '../../report/evidence-file.js';
import { claimsReport } from '../../claims/evaluate.js';
import { reportInputFrom } from '../../report/from-claims.js';
import { writeReport } from '../../report/write-report.js';
import { DEFAULTS } from '../../settings.js';
import { visible } from '../../text/visible.js';
import type { StorePoller } from './store-poller.js';

/** A name not yet taken in `dir`: `base.ext`, else `base-2.ext`, ... */
function freshPath(dir: string, base: string, ext: string): string {
  for (let i = 1; ; i++) {
    const p = join(dir, `${base}${i === 1 ? '' : `-${i}`}${ext}`);
    if (!existsSync(p)) return p;
  }
}

/** The session shown (read once if the store was not read yet). */
function sessionOf(poller: StorePoller): number | null {
  if (poller.sessionId === null) poller.poll(Date.now());
  return poller.sessionId;
}

export function writeFlowEvidence(poller: StorePoller, flowId: number, outDir: string): string {
  const session = sessionOf(poller);
  if (session === null) return 'no session to export from';
  const dir = resolve(outDir);
  safeOutputDir(dir);
  const out = freshPath(dir, `ollama-audit-session-${session}-flow-${flowId}`, '.pcapng');
  return poller.withDb((db) => {
    const flows = findingFlows(db, [session], [flowId]);
    if (flows.length === 0) return `flow #${flowId} is not in session ${session}`;
    const r = writeEvidenceFile(db, out, sessionRows(db, [session]), flows, [DEFAULTS.apiPort]);
    if (r.file === null) return `no evidence written for flow #${flowId}: ${visible(r.warnings[0] ?? 'no packets')}`;
    return `evidence of flow #${flowId}: ${r.packets} packet(s) in ${visible(out)}${r.warnings.length ? ` (${visible(r.warnings[0])})` : ''}`;
  });
}

export function writeSessionReport(poller: StorePoller, outDir: string): string {
  const session = sessionOf(poller);
  if (session === null) return 'no session to report on';
  const dir = freshPath(resolve(outDir), `ollama-audit-report-session-${session}`, '');
  return poller.withDb((db) => {
    const sessions = [session];
    writeReport(db, dir, { sessions, ...reportInputFrom(claimsReport(db, { sessions })) });
    return `report of session ${session} written to ${visible(dir)}`;
  });
}
