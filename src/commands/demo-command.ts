import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../store/open-db.js';
import { DuplicateImportError } from '../store/store-error.js';
import { queryFlows } from '../store/query-flows.js';
import { importFile } from './import-file.js';
import { formatSummary } from './import-command.js';
import { formatFlowTable } from './flow-table-text.js';
import { EXIT_OK } from './user-error.js';

/** The bundled capture: a model pull through a fake registry and CDN, recorded by fixtures/make/. */
export const DEMO_CAPTURE = fileURLToPath(new URL('../../fixtures/demo/ollama-pull.pcapng', import.meta.url));

export interface DemoOptions {
  db?: string;
  json?: boolean;
}

/** `demo`: import the bundled capture and show what the tool finds, with no privileges needed. */
export async function runDemo(opts: DemoOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const tempDir = opts.db ? null : mkdtempSync(join(tmpdir(), 'ollama-audit-demo-'));
  const dbPath = opts.db ?? join(tempDir!, 'demo.db');
  try {
    openDb(dbPath).close();
    let summary: Awaited<ReturnType<typeof importFile>>;
    try {
      summary = await importFile(dbPath, DEMO_CAPTURE);
    } catch (err) {
      if (!(err instanceof DuplicateImportError)) throw err;
      out.write(`ollama-audit demo: the bundled capture is already in ${dbPath} as session ${err.earlierSession}: \`ollama-audit flows --db ${dbPath} --session ${err.earlierSession}\` lists its flows.\n`);
      return EXIT_OK;
    }
    const db = openDb(dbPath, { readonly: true });
    try {
      const flows = queryFlows(db, { session: summary.session_id });
      if (opts.json) {
        out.write(`${JSON.stringify({ summary, flows }, null, 2)}\n`);
        return EXIT_OK;
      }
      const ollama = flows.filter((f) => f.ollama);
      out.write(`ollama-audit demo: the bundled capture ${DEMO_CAPTURE}\n\n${formatSummary(summary)}\n`);
      out.write(`Flows that involve Ollama (${ollama.length} of ${flows.length}):\n${formatFlowTable(ollama)}\n\n`);
      out.write(`Why each was classified so:\n${ollama.map((f) => `  #${f.id} ${f.activity}: ${f.activity_reason}`).join('\n')}\n\n`);
      const other = flows.length - ollama.length;
      out.write(opts.db
        ? `${other} other flow(s) in the capture are not Ollama's: \`ollama-audit flows --db ${dbPath}\` lists everything.\n`
        : `${other} other flow(s) in the capture are not Ollama's. To keep the results: \`ollama-audit demo --db demo.db\`, then \`ollama-audit flows --db demo.db\`.\n`);
    } finally {
      db.close();
    }
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  return EXIT_OK;
}
