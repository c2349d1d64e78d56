import { isApiActivity } from '../knowledge/activity.js';
import { resolve } from 'node:path';
import { readCaptureFile } from '../capture/read-file.js';
import { createIngest } from '../pipeline/ingest.js';
import { lossPercent } from '../flows/tcp-loss.js';
import { expiredEarlyRecord } from '../flows/flow-table.js';
import { beginSession } from '../store/session-writer.js';
import { explainStoreError, StoreError } from '../store/store-error.js';
import { CaptureFileError } from '../capture/read-result.js';
import { DEFAULTS } from '../settings.js';

/** What one import did; `import --json` prints these (README documents the fields). */
export interface ImportSummary {
  file: string;
  session_id: number;
  format: string;
  packets: number;
  flows: number;
  named_flows: number;
  ollama_flows: number;
  activities: Record<string, number>;
  skipped: Record<string, number>;
  warnings: string[];
  stopped_at: number | null;
  /** Estimated capture loss in % from TCP acknowledgements (null: no TCP data to judge by). */
  loss_estimate: number | null;
  /** Interfaces the file describes, in its order: name (null in classic pcap) and LINKTYPE number. */
  interfaces: { index: number; name: string | null; linktype: number }[];
  /** Flows closed before their time, by kind (sessions.expired_early); {} when none. */
  expired_early: Record<string, number>;
}

export interface ImportFileOptions {
  onProgress?: (done: number, total: number) => void;
  /** Import even when the store already holds a file with the same bytes (SHA-256). */
  again?: boolean;
  /** The import's wall clock, µs (default: now): packets more than a day past it are skipped as 'bad-timestamp'. */
  nowUs?: number;
  /** Open flows at most (--max-flows). */
  maxFlows?: number;
}

/**
 * Reads one capture file through the pipeline into one store session, all in one transaction:
 * an unreadable file or a store failure leaves the database exactly as it was. The file's SHA-256
 * (hashed from the reads the import makes anyway) is stored with the session; a file whose bytes
 * another session already holds is refused with a DuplicateImportError, nothing stored, unless
 * `again`.
 */
export async function importFile(dbPath: string, file: string, opts: ImportFileOptions = {}): Promise<ImportSummary> {
  const path = resolve(file);
  const writer = await beginSession(dbPath, { kind: 'import', source: path, format: null }, { hash: true });
  const tally = { flows: 0, named: 0, ollama: 0, activities: {} as Record<string, number> };
  const ingest = createIngest({
    flow(f, c) {
      tally.flows++;
      if (f.hostname !== null) tally.named++;
      if (c.ollama) tally.ollama++;
      const key = isApiActivity(c.activity) ? 'api' : c.activity;
      tally.activities[key] = (tally.activities[key] ?? 0) + 1;
      writer.flow(f, c);
    },
    dns: writer.dns,
    http: writer.http,
  }, {}, { nowUs: opts.nowUs, maxFlows: opts.maxFlows, boundHeapAtFlows: DEFAULTS.boundHeapAtFlows });
  try {
    const read = readCaptureFile(path, ingest.packet, {
      onProgress: opts.onProgress,
      onInterface: (i) => i.index > 0 && ingest.severalInterfaces(),
      onBytes: writer.fileBytes,
      windowBuffers: writer.windowBuffers ?? undefined,
    });
    const counts = ingest.finish();
    const skipped = Object.fromEntries(Object.entries(counts.skips).filter(([, n]) => n > 0));
    const expiredEarly = expiredEarlyRecord(counts.expiredEarly);
    // The reader's warnings say why it stopped early: with what was imported, each is one line.
    const warnings = [
      ...read.warnings.map((w) => `${w} (imported the ${counts.packets} packets before it)`),
      ...fragmentWarnings(counts.fragments.overlapping),
    ];
    const sessionId = await writer.commit({
      format: read.format,
      interfaces: read.interfaces,
      packets: counts.packets,
      startedAt: counts.firstTs,
      endedAt: counts.lastTs,
      drops: read.drops,
      lossEstimate: lossPercent(counts.tcpAcked, counts.tcpMissed),
      skipped,
      warnings,
      stoppedAt: read.stoppedAt,
      expiredEarly,
    }, { refuseDuplicate: !opts.again });
    return {
      file: path,
      session_id: sessionId,
      format: read.format,
      packets: counts.packets,
      flows: tally.flows,
      named_flows: tally.named,
      ollama_flows: tally.ollama,
      activities: tally.activities,
      skipped,
      warnings,
      stopped_at: read.stoppedAt,
      loss_estimate: lossPercent(counts.tcpAcked, counts.tcpMissed),
      interfaces: read.interfaces.map((i) => ({ index: i.index, name: i.name, linktype: i.linktype })),
      expired_early: expiredEarly,
    };
  } catch (err) {
    await writer.abort();
    if (err instanceof CaptureFileError || err instanceof StoreError) throw err;
    if (isSqliteError(err)) throw explainStoreError(err, dbPath);
    throw err;
  }
}

/** Overlapping fragments are how a sender shows a monitor other bytes than the receiver reassembles. */
function fragmentWarnings(overlapping: number): string[] {
  if (overlapping === 0) return [];
  return [`${overlapping} IP datagram${overlapping === 1 ? '' : 's'} with overlapping fragments: counted, not reassembled (a broken stack, or an attempt to evade monitoring)`];
}

function isSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_') || code === 'ENOSPC');
}
