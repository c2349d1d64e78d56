import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../store/open-db.js';
import { DuplicateImportError } from '../store/store-error.js';
import { queryFlows } from '../store/read/flows.js';
import { importFile } from './import-file.js';
import { formatSummary } from './import-command.js';
import { formatFlowTable } from './flow-table-text.js';
import { claimsReport } from '../claims/evaluate.js';
import { verdictLabel } from '../claims/report-text.js';
import { reportInputFrom } from '../report/from-claims.js';
import { writeReportFolder } from './report-command.js';
import { EXIT_OK, UserError } from '../errors.js';
import { visible } from '../text/visible.js';

/** The bundled capture: a model pull through a fake registry and CDN, recorded by fixtures/make/. */
export const DEMO_CAPTURE = fileURLToPath(new URL('../../fixtures/demo/ollama-pull.pcapng', import.meta.url));

export interface DemoOptions {
  db?: string;
  json?: boolean;
  /** Also write a report folder of the demo session. */
  report?: string;
  /** Replay the bundled capture into the `watch` dashboard instead of printing. */
  watch?: boolean;
  /** With watch: replay speed (2: twice as fast as captured); default 1. */
  speed?: number;
}

/**
 * `demo`: the bundled capture through the whole pipeline, with no privileges needed: import,
 * flows, the claims' verdicts, and (--report) the report folder.
 */
export async function runDemo(opts: DemoOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (opts.speed !== undefined && !opts.watch) throw new UserError('--speed paces the replay of `demo --watch`: add --watch, or leave --speed out');
  if (opts.watch && opts.report !== undefined) throw new UserError('--report is for the printed demo; in `demo --watch` press r for a report of the replayed session (written to the working directory)');
  const tempDir = opts.db ? null : mkdtempSync(join(tmpdir(), 'ollama-audit-demo-'));
  const dbPath = opts.db ?? join(tempDir!, 'demo.db');
  try {
    openDb(dbPath).close();
    if (opts.watch) {
      await (await import('./demo-watch.js')).watchReplay(DEMO_CAPTURE, dbPath, opts);
      return EXIT_OK;
    }
    let summary: Awaited<ReturnType<typeof importFile>>;
    try {
      summary = await importFile(dbPath, DEMO_CAPTURE);
    } catch (err) {
      if (!(err instanceof DuplicateImportError)) throw err;
      out.write(`ollama-audit demo: the bundled capture is already in ${visible(dbPath)} as session ${err.earlierSession}: \`ollama-audit flows --db ${visible(dbPath)} --session ${err.earlierSession}\` lists its flows.\n`);
      return EXIT_OK;
    }
    const db = openDb(dbPath, { readonly: true });
    try {
      const flows = queryFlows(db, { session: summary.session_id });
      const sessions = [summary.session_id];
      const judged = claimsReport(db, { sessions });
      const claims = judged.claims.map((c) => ({ id: c.id, title: c.title, verdict: c.verdict, reason: c.reason }));
      const report = opts.report ? resolve(opts.report) : null;
      if (report) writeReportFolder(db, report, { sessions, ...reportInputFrom(judged) });
      if (opts.json) {
        out.write(`${JSON.stringify({ summary, flows, claims, report }, null, 2)}\n`);
        return EXIT_OK;
      }
      const ollama = flows.filter((f) => f.ollama);
      out.write(`ollama-audit demo: the bundled capture ${DEMO_CAPTURE}\n\n${formatSummary(summary)}\n`);
      out.write(`Flows that involve Ollama (${ollama.length} of ${flows.length}):\n${formatFlowTable(ollama)}\n\n`);
      out.write(`Why each was classified so:\n${ollama.map((f) => `  #${f.id} ${f.activity}: ${visible(f.activity_reason)}`).join('\n')}\n\n`);
      out.write(`Claims about what Ollama sends, judged on this capture (${claims.length}):\n${claims.map((c) => `  ${verdictLabel(c.verdict).padEnd(14)}${visible(c.id)}: ${visible(c.title)}`).join('\n')}\n\n`);
      const other = flows.length - ollama.length;
      out.write(`${other} other flow(s) in the capture are not Ollama's.\n`);
      out.write(opts.db
        ? `\`ollama-audit flows --db ${visible(dbPath)}\` lists every flow; \`ollama-audit claims --db ${visible(dbPath)}\` shows each verdict's evidence and reason.\n`
        : 'To keep the results: `ollama-audit demo --db demo.db`, then `ollama-audit flows --db demo.db` and `ollama-audit claims --db demo.db`.\n');
      out.write(report
        ? `Report written to ${visible(report)} (report.md, report.html, report.json, evidence.pcapng; manifest.json lists their SHA-256).\n`
        : 'A report (report.md, report.html, report.json, evidence.pcapng, manifest.json): `ollama-audit demo --report DIR`.\n');
    } finally {
      db.close();
    }
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  return EXIT_OK;
}
