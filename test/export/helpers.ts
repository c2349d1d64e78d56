import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FlowRecord } from '../../src/store/read/flows.js';
import { runCli } from '../helpers/run-cli.js';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
export const PULL = join(FIXTURES, 'demo', 'ollama-pull.pcapng');
export const CONN_STATES = join(FIXTURES, 'conn-states.pcap');
export const KEEPALIVE = join(FIXTURES, 'api-keepalive.pcap');
export const HOSTILE = join(FIXTURES, 'hostile', 'hostile-names.pcapng');
export const FORMULA = join(FIXTURES, 'formula', 'formula-names.pcapng');

/** A private temporary folder (0700, as mkdtemp makes it) and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A new store in `dir` with these captures imported, one session each, in order. */
export async function storeWith(dir: string, ...files: string[]): Promise<string> {
  const db = join(mkdtempSync(join(dir, 'db-')), 'audit.db');
  for (const f of files) {
    const r = await runCli('import', f, '--db', db);
    expect(r.code, r.stderr).toBe(0);
  }
  return db;
}

/** `export` through the real CLI (in-process): its standard output, checked for exit 0. */
export async function exported(db: string, ...args: string[]): Promise<string> {
  const r = await runCli('export', '--db', db, ...args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

export async function flowsJson(db: string): Promise<FlowRecord[]> {
  const r = await runCli('flows', '--db', db, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as FlowRecord[];
}

/** The facts file beside a capture (what its clients were told to send, make/*.sh). */
export function factsOf<T>(capture: string): T {
  return JSON.parse(readFileSync(`${capture}.facts`, 'utf8')) as T;
}
