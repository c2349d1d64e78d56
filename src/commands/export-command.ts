import { openDb } from '../store/open-db.js';
import { resolveDbPath, type ExportFormat } from '../settings.js';
import { EXIT_OK } from '../errors.js';
import { loadCursor } from '../export/cursor.js';
import { openOutFile } from '../export/out-file.js';
import { runExport } from '../export/run-export.js';
import { requireSessions } from './session-check.js';

export interface ExportCommandOptions {
  db?: string;
  format: ExportFormat;
  session?: number;
  since?: number;
  follow?: boolean;
  cursor?: string;
  out?: string;
}

/** `export`: opens the store and the output, hands SIGTERM/SIGINT to the follower as a stop, and closes both. */
export async function runExportCommand(opts: ExportCommandOptions, stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  try {
    requireSessions(db, opts.session, opts.db);
    const cursor = opts.cursor === undefined ? undefined : loadCursor(opts.cursor, opts.format);
    const stream = opts.out === undefined ? stdout : openOutFile(opts.out);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    await runExport(db, {
      format: opts.format, session: opts.session, sinceUs: opts.since, follow: opts.follow, cursorPath: opts.cursor, cursor,
    }, stream, stop.signal);
    if (stream !== stdout) await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    db.close();
  }
  return EXIT_OK;
}
