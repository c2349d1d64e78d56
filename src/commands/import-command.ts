import { basename } from 'node:path';
import { interfaceText } from '../capture/link-types.js';
import { CaptureFileError } from '../capture/read-result.js';
import { formatPercent } from '../text/format-values.js';
import { DuplicateImportError } from '../store/store-error.js';
import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { importFile, type ImportSummary } from './import-file.js';
import { createProgress, humanBytes } from './progress.js';
import { EXIT_OK, EXIT_USAGE } from '../errors.js';
import { visible } from '../text/visible.js';

export interface ImportOptions {
  db?: string;
  json?: boolean;
  /** Import files whose bytes the store already holds (a new session each time). */
  again?: boolean;
  /** Open flows at most (--max-flows). */
  maxFlows?: number;
}

/**
 * `import FILE...`: each file is its own session and its own transaction. A file that cannot be
 * read, or whose bytes are already in the store (without --again), is reported (one line) and
 * skipped; the others are still imported; the exit code is 2 if any file was not imported.
 */
export async function runImport(files: string[], opts: ImportOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const dbPath = resolveDbPath(opts.db);
  openDb(dbPath).close(); // creates and migrates the store, or says why it cannot
  const progress = createProgress();
  const summaries: ImportSummary[] = [];
  let code = EXIT_OK;
  for (const file of files) {
    try {
      const summary = await importFile(dbPath, file, {
        again: opts.again,
        maxFlows: opts.maxFlows,
        onProgress: (done, total) =>
          progress.update(`importing ${visible(basename(file))}: ${total ? Math.floor((done / total) * 100) : 0}% (${humanBytes(done)} of ${humanBytes(total)})`),
      });
      progress.done();
      summaries.push(summary);
      for (const w of summary.warnings) process.stderr.write(`ollama-audit: ${visible(file)}: ${visible(w)}\n`);
    } catch (err) {
      progress.done();
      if (!(err instanceof CaptureFileError || err instanceof DuplicateImportError)) throw err;
      process.stderr.write(`ollama-audit: ${visible(file)}: ${visible(err.message)}\n`);
      code = EXIT_USAGE;
    }
  }
  out.write(opts.json ? `${JSON.stringify(summaries, null, 2)}\n` : summaries.map(formatSummary).join('\n'));
  return code;
}

export function formatSummary(s: ImportSummary): string {
  const skipped = Object.entries(s.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const activities = Object.entries(s.activities).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `${visible(s.file)} (${s.format}) -> session ${s.session_id}`,
    `  packets ${s.packets}, flows ${s.flows}, named ${s.named_flows}, Ollama ${s.ollama_flows}`,
    `  activities: ${activities || 'none'}`,
    `  skipped packets: ${skipped}`,
    `  interfaces: ${s.interfaces.map((i) => visible(interfaceText(i))).join('; ') || 'none recorded'}`,
    `  estimated capture loss: ${s.loss_estimate === null ? 'unknown (no TCP data acknowledged)' : `${formatPercent(s.loss_estimate)} of acknowledged TCP bytes`}`,
    s.stopped_at !== null ? `  stopped reading at byte ${s.stopped_at} (damaged or truncated file)` : null,
    Object.keys(s.expired_early).length > 0
      ? `  flows closed early: ${Object.entries(s.expired_early).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(', ')}` : null,
  ].filter((l) => l !== null).join('\n') + '\n';
}
