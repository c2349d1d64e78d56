/**
 * Big stores (issue #9 item 5): a store of 200,000 flows, made from a real imported API flow
 * (fixtures/api-keepalive.pcap) copied by SQL (bench/clone-flows.mjs). The CLI runs as a child with
 * a 200 MB heap, where reading all flows into memory (or building one output string) runs out;
 * the readers of a whole store (report, claims, verify, exposure) with a 64 MB heap, where one
 * object per flow (the claims engine's facts, the exposure audit's API flows: ~330 bytes each,
 * 63 MB for 200k) runs out. Their results must be those of the one imported flow alone (a small
 * store of the same capture): the same verdicts, and totals that are the big store's own.
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
/** A heap (MB) one object per flow cannot fit at 200k flows, and bounded readers fit easily. */
const BOUNDED_HEAP_MB = 64;
let dir = '';
let db = '';
let smallDb = '';
let total = 0;

/**
 * The CLI (dist/) in a child with a 200 MB heap; stdout to a file when given, so the test never
 * holds it twice. Asynchronous: a long spawnSync would stall the test worker's RPC.
 */
async function capped(args: string[], stdoutFile?: string, heapMb = 200): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('sh', ['-c', `exec node --max-old-space-size=${heapMb} "$0" "$@"${stdoutFile ? ` > '${stdoutFile}'` : ''}`, CLI, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

beforeAll(async () => {
  // Asynchronous: a build of a minute under load would stall the worker's RPC (spawnSync did).
  await once(spawn('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' }), 'close');
  dir = mkdtempSync(join(tmpdir(), 'oabg-big-'));
  db = join(dir, 'big.db');
  smallDb = join(dir, 'small.db');
  for (const store of [db, smallDb]) {
    const imported = await runCli('import', join(ROOT, 'fixtures', 'api-keepalive.pcap'), '--db', store);
    expect(imported.code).toBe(0);
  }
  total = cloneFlows(db, COPIES);
}, 120_000);

/** What the store itself says of its flows, by SQL: the totals a reader must show. */
function storeFacts(path: string): { flows: number; bytesOut: number; bytesIn: number; first: number; last: number } {
  const d = new Database(path, { readonly: true });
  try {
    return d.prepare(`SELECT count(*) AS flows, sum(bytes_out) AS bytesOut, sum(bytes_in) AS bytesIn,
      min(first_seen) AS first, max(last_seen) AS last FROM flows`).get() as ReturnType<typeof storeFacts>;
  } finally {
    d.close();
  }
}

/** µs since the epoch as the tool's JSON writes times (ISO, six decimals, Z). */
function isoUs(us: number): string {
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
}

interface ClaimsJson { claims: { id: string; verdict: string; evidence: { count: number } }[]; chains: unknown[] }

/** Each claim's verdict and evidence count, by id. */
function verdicts(r: ClaimsJson): Record<string, string> {
  return Object.fromEntries(r.claims.map((c) => [c.id, `${c.verdict} (${c.evidence.count} evidence flows)`]));
}

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

  it(`report completes under a ${BOUNDED_HEAP_MB} MB heap: bounded tables with totals, every flow in report.json, the small store's verdicts`, async () => {
    const out = join(dir, 'report');
    const r = await capped(['report', '--db', db, '--out', out], undefined, BOUNDED_HEAP_MB);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'report.html', 'report.json', 'report.md']);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      flows: unknown[]; flow_totals: { flows: number }; claims: ClaimsJson['claims']; exposure: { clients: { flows: number }[] };
    };
    expect(json.flows.length).toBe(total);
    expect(json.flow_totals.flows).toBe(total);
    const small = JSON.parse((await runCli('claims', '--db', smallDb, '--json')).stdout) as ClaimsJson;
    expect(verdicts({ claims: json.claims, chains: [] })).toEqual(verdicts(small));
    expect(json.exposure.clients.map((c) => c.flows)).toEqual([total]);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`${total - 500} more flow(s) in report.json (${total} in all`);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(`${total - 2000} more flow(s) in report.json (${total} in all`);
    expect(readdirSync(dir).filter((n) => n.includes('.partial'))).toEqual([]);
  }, 180_000);

  it(`claims --json judges every flow under a ${BOUNDED_HEAP_MB} MB heap: the verdicts of the one flow alone`, async () => {
    const file = join(dir, 'claims.json');
    const r = await capped(['claims', '--db', db, '--json'], file, BOUNDED_HEAP_MB);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const big = JSON.parse(readFileSync(file, 'utf8')) as ClaimsJson;
    const small = JSON.parse((await runCli('claims', '--db', smallDb, '--json')).stdout) as ClaimsJson;
    expect(big.claims.length).toBeGreaterThan(5);
    expect(verdicts(big)).toEqual(verdicts(small));
    // The requests on the one real API flow, and what they caused: nothing in the copies adds any.
    expect(big.chains).toEqual(small.chains);
  }, 180_000);

  it(`verify --db judges every flow under a ${BOUNDED_HEAP_MB} MB heap: the exit code and verdicts of the one flow alone`, async () => {
    const r = await capped(['verify', '--db', db, '--json'], undefined, BOUNDED_HEAP_MB);
    const small = await runCli('verify', '--db', smallDb, '--json');
    expect(r.stderr.includes('heap')).toBe(false);
    expect(r.code).toBe(small.code);
    expect(verdicts(JSON.parse(r.stdout) as ClaimsJson)).toEqual(verdicts(JSON.parse(small.stdout) as ClaimsJson));
  }, 180_000);

  it(`exposure --json tallies every API flow under a ${BOUNDED_HEAP_MB} MB heap: the store's own count, bytes and span`, async () => {
    const r = await capped(['exposure', '--db', db, '--json'], undefined, BOUNDED_HEAP_MB);
    expect(r.stderr).toBe('');
    const small = await runCli('exposure', '--db', smallDb, '--json');
    expect(r.code).toBe(small.code);
    const clients = (JSON.parse(r.stdout) as { clients: { class: string; flows: number; bytes_out: number; bytes_in: number; first_seen: string; last_seen: string; addresses: { address: string }[] }[] }).clients;
    const smallClients = (JSON.parse(small.stdout) as { clients: typeof clients }).clients;
    const store = storeFacts(db);
    expect(clients.map((c) => [c.class, c.addresses.map((a) => a.address)])).toEqual(smallClients.map((c) => [c.class, c.addresses.map((a) => a.address)]));
    expect(clients.map((c) => ({ flows: c.flows, out: c.bytes_out, in: c.bytes_in, first: c.first_seen, last: c.last_seen })))
      .toEqual([{ flows: total, out: store.bytesOut, in: store.bytesIn, first: isoUs(store.first), last: isoUs(store.last) }]);
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
