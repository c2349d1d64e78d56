import { openDb } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { iterateRollups, type RollupQuery, type RollupRecord } from '../store/read/rollups.js';
import { ChunkedOut } from '../text/chunked-out.js';
import { jsonArrayPieces } from '../text/json-stream.js';
import { formatBytes } from '../text/format-values.js';
import { visible } from '../text/visible.js';
import { EXIT_OK } from '../errors.js';

export interface RollupsOptions {
  db?: string;
  ollama?: boolean;
  destination?: string;
  json?: boolean;
}

/** `rollups`: one row per day × destination × activity × process (× Ollama), written as read. */
export async function runRollups(opts: RollupsOptions, stream: NodeJS.WritableStream = process.stdout): Promise<number> {
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  let rows = 0;
  try {
    const q: RollupQuery = { ollamaOnly: opts.ollama, destination: opts.destination };
    const counted = (function* (): Generator<RollupRecord> {
      for (const r of iterateRollups(db, q)) {
        rows++;
        yield r;
      }
    })();
    const out = new ChunkedOut(stream);
    if (opts.json) {
      for (const piece of jsonArrayPieces(counted)) await out.write(piece);
      await out.write('\n');
    } else {
      await out.write(`${HEADER}\n`);
      for (const r of counted) await out.write(`${line(r)}\n`);
      // Honest about what "none" covers: sessions deleted by hand took their flows without a rollup.
      if (rows === 0) await out.write('(none: no stored flow matches, and no flow deleted by --retain/--max-db did; flows of sessions removed with `sessions delete` are not counted)\n');
    }
    await out.flush();
  } finally {
    db.close();
  }
  return EXIT_OK;
}

const HEADER = ['DAY', 'DESTINATION', 'ACTIVITY', 'PROCESS', 'OLLAMA', 'FLOWS', 'STORED', 'BYTES OUT', 'BYTES IN', 'FIRST', 'LAST'].join('\t');

function line(r: RollupRecord): string {
  return [r.day, visible(r.destination), r.activity, r.process === null ? '-' : visible(r.process), r.ollama ? 'yes' : 'no', r.flows, r.stored_flows,
    formatBytes(r.bytes_out), formatBytes(r.bytes_in), r.first_seen ?? 'invalid', r.last_seen ?? 'invalid'].join('\t');
}
