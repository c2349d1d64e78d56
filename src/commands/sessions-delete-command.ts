import { unlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { SEGMENT_NAME } from '../store/evidence-writer.js';
import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { deleteSession, sessionState } from '../store/sessions.js';
import { unknownSessionMessage } from './session-check.js';
import { EXIT_OK, UserError } from '../errors.js';
import { visible } from '../text/visible.js';

export interface DeleteOptions {
  db?: string;
  json?: boolean;
  /** Delete a live session that never ended, when the user knows no daemon is writing it. */
  force?: boolean;
}

/**
 * `sessions delete N`: the session's rows in every table, in one transaction, then its evidence
 * segment files. A file that cannot be removed is named on stderr (the rows are gone either way).
 */
export function runDeleteSession(id: number, opts: DeleteOptions, out: NodeJS.WritableStream = process.stdout): number {
  const path = resolveDbPath(opts.db);
  openDb(path, { readonly: true }).close(); // a missing store is said as such, never created here
  const db = openDb(path);
  let deleted;
  try {
    const state = sessionState(db, id);
    if (state === null) throw new UserError(unknownSessionMessage([id], opts.db));
    if (state.kind === 'live' && !state.ended && !opts.force) {
      throw new UserError(`session ${id} is a live capture that has not ended: a daemon may still be writing it. Stop that daemon first; if none runs (it was killed), pass --force`);
    }
    deleted = deleteSession(db, id);
  } finally {
    db.close();
  }
  if (deleted === null) throw new UserError(unknownSessionMessage([id], opts.db));
  const removed: string[] = [];
  const notRemoved: { path: string; why: string }[] = [];
  for (const path of deleted.evidenceFiles) {
    // Only files named as the evidence writer names them: a store edited by hand cannot make this delete anything else.
    if (!SEGMENT_NAME.test(basename(path))) {
      notRemoved.push({ path, why: 'not named like an evidence segment, left in place' });
      continue;
    }
    try {
      unlinkSync(path);
      removed.push(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      notRemoved.push({ path, why: code === 'ENOENT' ? 'already gone' : code });
    }
  }
  for (const f of notRemoved.filter((n) => n.why !== 'already gone')) {
    process.stderr.write(`ollama-audit: could not remove evidence file ${visible(f.path)} (${f.why}): remove it by hand\n`);
  }
  if (opts.json) {
    out.write(`${JSON.stringify({ session_id: id, rows: deleted.rows, evidence_removed: removed, evidence_not_removed: notRemoved }, null, 2)}\n`);
  } else {
    const rows = Object.entries(deleted.rows).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ');
    const gone = notRemoved.filter((n) => n.why === 'already gone').length;
    out.write(`deleted session ${id}: ${rows}; evidence files removed ${removed.length}` +
      `${gone ? `, already gone ${gone}` : ''}${notRemoved.length - gone ? `, not removed ${notRemoved.length - gone} (named above)` : ''}\n`);
  }
  return EXIT_OK;
}
