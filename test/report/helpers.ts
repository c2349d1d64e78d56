/** Shared setup for the report tests: a temp store holding an imported fixture, and the outside tools. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { importFile } from '../../src/commands/import-file.js';
import { openDb, type Db } from '../../src/store/open-db.js';
import type { ReportClaim } from '../../src/report/report-types.js';

export const DEMO = fileURLToPath(new URL('../../fixtures/demo/ollama-pull.pcapng', import.meta.url));

export function tmpDir(prefix = 'oa-report-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Imported {
  dbPath: string;
  sessionId: number;
  db: Db;
}

/** Imports `file` into a new store in `dir`; the returned db is writable (tests edit rows). */
export async function importInto(dir: string, file: string): Promise<Imported> {
  const dbPath = path.join(dir, 'audit.db');
  openDb(dbPath).close();
  const s = await importFile(dbPath, file);
  return { dbPath, sessionId: s.session_id, db: openDb(dbPath) };
}

export function flowIds(db: Db, where: string): number[] {
  return (db.prepare(`SELECT id FROM flows WHERE ${where} ORDER BY id`).all() as { id: number }[]).map((r) => r.id);
}

export function claim(id: string, flow_ids: number[], verdict = 'violated', extra: Partial<ReportClaim> = {}): ReportClaim {
  return {
    id, title: `claim ${id}`, source: 'https://github.com/ollama/ollama/blob/main/docs/faq.md', verdict,
    reason: `reason for ${id}`, evidence: { flow_ids, count: flow_ids.length }, ...extra,
  };
}

/** tshark display filter for a stored flow's 5-tuple (ICMP errors quoting it left out). */
export function tupleFilter(db: Db, flowId: number): string {
  const f = db.prepare('SELECT * FROM flows WHERE id = ?').get(flowId) as {
    ip_version: number; proto: number; initiator_addr: string; responder_addr: string; initiator_port: number; responder_port: number;
  };
  const ip = f.ip_version === 6 ? 'ipv6' : 'ip';
  const tp = f.proto === 6 ? 'tcp' : 'udp';
  return `${ip}.addr == ${f.initiator_addr} && ${ip}.addr == ${f.responder_addr} && ` +
    `${tp}.port == ${f.initiator_port} && ${tp}.port == ${f.responder_port} && !icmp && !icmpv6`;
}

/** Chromium's own headless CLI, with a new profile under `root`, and nothing that phones home. */
export function chromium(root: string, args: string[]): string {
  const profile = fs.mkdtempSync(path.join(root, 'chromium-profile-'));
  return execFileSync('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--disable-domain-reliability', '--no-pings',
    ...args,
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000, maxBuffer: 64 << 20 });
}
