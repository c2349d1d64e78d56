import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { countFlows, iterateFlows, type FlowQuery } from '../store/read/flows.js';
import { ChunkedOut } from '../text/chunked-out.js';
import { jsonArrayPieces } from '../text/json-stream.js';
import { formatFlowTable } from './flow-table-text.js';
import { EXIT_OK } from '../errors.js';
import { requireSessions } from './session-check.js';

/** Flows the text table shows when --limit is not given: a screenful-ish page; --json has no default limit. */
export const DEFAULT_TEXT_LIMIT = 1000;

export interface FlowsOptions {
  db?: string;
  json?: boolean;
  ollama?: boolean;
  activity?: string;
  session?: number;
  limit?: number;
}

/**
 * `flows`: rows are written as they are read, so a store of millions of flows prints in bounded
 * memory. --json streams one JSON array (all flows unless --limit); the text table shows one page
 * (--limit, default DEFAULT_TEXT_LIMIT) and says how many more there are.
 */
export async function runFlows(opts: FlowsOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  try {
    requireSessions(db, opts.session, opts.db);
    const q: FlowQuery = { ollamaOnly: opts.ollama, activity: opts.activity, session: opts.session };
    if (opts.json) await writeJsonArray(db, { ...q, limit: opts.limit }, out);
    else await writeTextPage(db, q, opts.limit ?? DEFAULT_TEXT_LIMIT, out);
  } finally {
    db.close();
  }
  return EXIT_OK;
}

/** The same text as JSON.stringify(flows, null, 2), one element at a time. */
async function writeJsonArray(db: Parameters<typeof iterateFlows>[0], q: FlowQuery, stream: NodeJS.WritableStream): Promise<void> {
  const out = new ChunkedOut(stream);
  for (const piece of jsonArrayPieces(iterateFlows(db, q))) await out.write(piece);
  await out.write('\n');
  await out.flush();
}

async function writeTextPage(db: Parameters<typeof iterateFlows>[0], q: FlowQuery, limit: number, stream: NodeJS.WritableStream): Promise<void> {
  const page = [...iterateFlows(db, { ...q, limit })];
  const more = page.length < limit ? 0 : countFlows(db, q) - page.length;
  const out = new ChunkedOut(stream);
  await out.write(`${formatFlowTable(page)}\n`);
  if (more > 0) await out.write(`… ${more} more flow(s): --limit ${page.length + more} to list them all, or --json\n`);
  await out.flush();
}
