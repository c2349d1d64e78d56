import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { queryFlows } from '../store/query-flows.js';
import { formatFlowTable } from './flow-table-text.js';
import { EXIT_OK } from '../errors.js';
import { requireSessions } from './session-check.js';

export interface FlowsOptions {
  db?: string;
  json?: boolean;
  ollama?: boolean;
  activity?: string;
  session?: number;
  limit?: number;
}

export function runFlows(opts: FlowsOptions, out: NodeJS.WritableStream = process.stdout): number {
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  try {
    requireSessions(db, opts.session, opts.db);
    const flows = queryFlows(db, { ollamaOnly: opts.ollama, activity: opts.activity, session: opts.session, limit: opts.limit });
    out.write(opts.json ? `${JSON.stringify(flows, null, 2)}\n` : `${formatFlowTable(flows)}\n`);
  } finally {
    db.close();
  }
  return EXIT_OK;
}
