/**
 * Big stores (issue #9 item 5): a store of 200,000 flows, made from a real imported API flow
 * (fixtures/api-keepalive.pcap) copied by SQL (bench/clone-flows.mjs). The CLI runs as a child with
 * a 200 MB heap, where reading all flows into memory (or building one output string) runs out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneFlows } from '../../bench/clone-flows.mjs';
import { runCli } from '../helpers/run-cli.js';
import { itNeeding } from '../helpers/needs.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'ollama-audit.js');
const COPIES = 200_000;
let dir = '';
let db = '';
let total = 0;

/**
 * The CLI (dist/) in a child with a 200 MB heap; stdout to a file when given, so the test never
 * holds it twice. Asynchronous: a long spawnSync would stall the test worker's RPC.
 */
async function capped(args: string[], stdoutFile?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('sh', ['-c', `exec node --max-old-space-size=200 "$0" "$@"${stdoutFile ? ` > '${stdoutFile}'` : ''}`, CLI, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

beforeAll(async () => {
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
  dir = mkdtempSync(join(tmpdir(), 'oabg-big-'));
  db = join(dir, 'big.db');
  const imported = await runCli('import', join(ROOT, 'fixtures', 'api-keepalive.pcap'), '--db', db);
  expect(imported.code).toBe(0);
  total = cloneFlows(db, COPIES);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a store of 200,001 flows', () => {
  it('holds the copies (the scenario\'s own count)', () => {
    expect(total).toBe(COPIES + 1);
  });

  it('flows --json streams every flow under a 200 MB heap: one array of exactly that many, in time order', async () => {
    const file = join(dir, 'flows.json');
    const r = await capped(['flows', '--json', '--db', db], file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const flows = JSON.parse(readFileSync(file, 'utf8')) as { id: number; first_seen: string; activity: string }[];
    expect(flows.length).toBe(total);
    expect(flows[0].activity).toBe('api:/api/chat');
    for (let i = 1; i < flows.length; i++) if (flows[i].first_seen < flows[i - 1].first_seen) throw new Error(`flow ${i} out of order`);
  }, 120_000);

  it('flows (text) prints the first 1000 and says how many more, instead of overflowing the stack', async () => {
    const r = await capped(['flows', '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 1000 + 1);
    expect(lines[0]).toMatch(/^ID\s+FIRST SEEN/);
    expect(lines.at(-1)).toBe(`… ${total - 1000} more flow(s): --limit ${total} to list them all, or --json`);
    const widths = new Set(lines.slice(1, -1).map((l) => l.indexOf('tcp')));
    expect(widths.size).toBe(1);
  }, 60_000);

  it('flows --limit 5 pages the same way', async () => {
    const r = await capped(['flows', '--db', db, '--limit', '5']);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(7);
    expect(r.stdout).toContain(`… ${total - 5} more flow(s)`);
  }, 60_000);

  it('report completes under a 200 MB heap: bounded tables with totals, every flow in report.json', async () => {
    const out = join(dir, 'report');
    const r = await capped(['report', '--db', db, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'report.html', 'report.json', 'report.md']);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { flows: unknown[]; flow_totals: { flows: number } };
    expect(json.flows.length).toBe(total);
    expect(json.flow_totals.flows).toBe(total);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`${total - 500} more flow(s) in report.json (${total} in all`);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(`${total - 2000} more flow(s) in report.json (${total} in all`);
    expect(readdirSync(dir).filter((n) => n.includes('.partial'))).toEqual([]);
  }, 180_000);

  itNeeding(['root'], 'a report that fails midway (disk full) leaves nothing: no folder, no partial files', async () => {
    const mnt = join(dir, 'small-disk');
    spawnSync('mkdir', ['-p', mnt]);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'oabg-tmpfs', mnt], { encoding: 'utf8' });
    expect(mount.status, mount.stderr).toBe(0);
    try {
      const r = await capped(['report', '--db', db, '--out', join(mnt, 'report')]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/ENOSPC/);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
    expect(existsSync(join(mnt, 'report'))).toBe(false);
  }, 180_000);
});

// The store still holds every row it had: nothing above writes to it.
describe('the big store after the runs', () => {
  it('is unchanged', () => {
    const d = new Database(db, { readonly: true });
    try {
      expect((d.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n).toBe(total);
    } finally {
      d.close();
    }
  });
});
