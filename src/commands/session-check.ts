import type { Db } from '../store/open-db.js';
import { unknownSessions } from '../store/sessions.js';
import { UserError } from '../errors.js';

/**
 * Every command that takes --session refuses an id the store does not hold (exit 2), instead of
 * answering for nothing: an empty table or a verdict over no traffic would read as "all quiet".
 * `db` is the --db the user gave, repeated in the hint so it can be pasted.
 */
export function requireSessions(store: Db, ids: readonly number[] | number | undefined, db?: string): void {
  const list = ids === undefined ? [] : typeof ids === 'number' ? [ids] : ids;
  const missing = unknownSessions(store, list);
  if (missing.length > 0) throw new UserError(unknownSessionMessage(missing, db));
}

export function unknownSessionMessage(missing: readonly number[], db?: string): string {
  const which = missing.length === 1 ? `session ${missing[0]}` : `sessions ${missing.join(', ')}`;
  return `no ${which} in the store: \`ollama-audit sessions${db ? ` --db ${db}` : ''}\` lists the valid ones`;
}
