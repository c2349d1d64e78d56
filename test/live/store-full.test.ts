/**
 * A live daemon whose store's disk fills up (issue #9 item 7): a real daemon on `-i lo` writing to
 * a 3 MiB tmpfs, real curl connections to a local HTTP server, the disk filled mid-run. The
 * daemon must say what was and was not stored (its counts checked against the store by SQL and
 * against the server's own count of connections), record the gap in the session, keep claims
 * from holding over it, resume writing once there is room, and exit 2.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describeNeeding } from '../helpers/needs.js';

const root = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Fills the file system of `dir` to the last byte with one file (removing it gives the room back). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'wx', 0o600);
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (let size = chunk.length; size >= 512; ) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOSPC') throw err;
        size >>= 1;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** `n` sequential HTTP connections by one curl (Connection: close: one TCP connection per URL); async: the server answers in this process. */
async function curl(port: number, n: number): Promise<void> {
  const urls = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${port}/r${i}`);
  await promisify(execFile)('curl', ['-s', '-o', '/dev/null', '-H', 'Connection: close', ...urls], { timeout: 60_000 });
}

interface Daemon { child: ChildProcess; stderr: () => string; exit: Promise<number | null> }

function startDaemon(db: string, port: number, evidence: 'none' | 'head'): Daemon {
  const child = spawn(process.execPath, [join(root, 'bin', 'ollama-audit.js'), 'daemon', '-i', 'lo', '--filter', `tcp port ${port}`,
    '--db', db, '--evidence', evidence], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, stderr: () => err, exit };
}

async function waitFor(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The daemon's final line: flows seen, kernel drops, "N flows stored, M flows not stored". */
function storedCounts(stderr: string): { flows: number; drops: number; stored: number; notStored: number } {
  const m = /stopped: \d+ packets, (\d+) flows .*kernel drops (\d+).*; (\d+) flows stored(?: \([^)]*\))?, (\d+) flows not stored/.exec(stderr);
  if (!m) throw new Error(`no stored/not stored counts in: ${stderr}`);
  return { flows: Number(m[1]), drops: Number(m[2]), stored: Number(m[3]), notStored: Number(m[4]) };
}

/** Every flow the daemon saw is either stored or counted as not stored; it saw every connection unless the kernel dropped packets. */
function expectAllCounted(c: ReturnType<typeof storedCounts>, connections: number, stderr: string): void {
  expect(c.stored + c.notStored, stderr).toBe(c.flows);
  if (c.drops === 0) expect(c.flows, stderr).toBe(connections);
}

describeNeeding(['root', 'cap', 'curl'], 'a live store on a full disk (tmpfs of 3 MiB)', () => {
  let mnt = '';
  let server: Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'commands', 'cli.js'))) throw new Error('dist/ missing: run npx tsc -p tsconfig.build.json');
    mnt = mkdtempSync(join(tmpdir(), 'oaen-full-'));
    // mode=0700: safe-files refuses a folder others can write.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', mnt]);
    server = createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((ok) => server?.close(ok));
    if (mnt) {
      try {
        execFileSync('umount', ['--lazy', mnt]);
      } finally {
        rmSync(mnt, { recursive: true, force: true });
      }
    }
  });

  it('full mid-run, then room again: writing resumes, the gap is recorded, the counts match the store and the traffic, claims do not hold, exit 2', async () => {
    const db = join(mnt, 'gap.db');
    const filler = join(mnt, 'filler');
    connections = 0;
    const d = startDaemon(db, port, 'none');
    try {
      await waitFor('the daemon to capture', () => /capturing on lo/.test(d.stderr()));
      await curl(port, 20);
      await sleep(2500); // written
      fillDisk(filler);
      await curl(port, 150);
      await waitFor('the full-disk warning', () => /disk full while writing/.test(d.stderr()));
      // Longer than the flow table keeps a finished TCP flow (5 s): those flows close while the disk is full.
      await sleep(8000);
      rmSync(filler);
      await waitFor('writing to resume', () => /writing to .* again: the store was full from/.test(d.stderr()));
      await curl(port, 20);
      await sleep(2500);
    } finally {
      d.child.kill('SIGINT');
    }
    expect(await d.exit).toBe(2);
    const err = d.stderr();
    expect(err).not.toMatch(/nothing from this run was stored/);
    const counts = storedCounts(err);
    const { stored, notStored } = counts;
    expect(connections).toBe(190);
    expectAllCounted(counts, connections, err);
    expect(notStored, err).toBeGreaterThan(0);
    expect(err).toMatch(/flows not stored(, \d+ DNS\/HTTP records not stored)? \(disk full from \d\d:\d\d:\d\d UTC to \d\d:\d\d:\d\d UTC\); the gap is recorded in session 1/);

    const raw = new Database(db, { readonly: true });
    const session = raw.prepare('SELECT ended_at, gaps FROM sessions WHERE id = 1').get() as { ended_at: number | null; gaps: string | null };
    // Every flow of the session (the capture filter let only the server's port in).
    const rows = (raw.prepare('SELECT count(*) AS n FROM flows WHERE session_id = 1').get() as { n: number }).n;
    raw.close();
    expect(rows, err).toBe(stored);
    expect(session.ended_at).not.toBeNull();
    const gaps = JSON.parse(session.gaps!) as { start_us: number; end_us: number; flows_not_stored: number; flows_incomplete: number }[];
    expect(gaps).toHaveLength(1);
    expect(gaps[0].end_us).toBeGreaterThan(gaps[0].start_us);
    expect(gaps[0].flows_not_stored).toBe(notStored);

    // A claim the loopback traffic cannot break (nothing on port 9) holds only where nothing was lost.
    const claimsFile = join(mnt, 'claims.json');
    writeFileSync(claimsFile, JSON.stringify([{ id: 'nothing-on-port-9', title: 'nothing on loopback port 9', scope: 'host', match: { direction: 'loopback', port: [9] }, expect: 'never' }]));
    const out = execFileSync(process.execPath, [join(root, 'bin', 'ollama-audit.js'), 'claims', '--db', db, '--json', '--claims-file', claimsFile], { encoding: 'utf8' });
    const report = JSON.parse(out) as { claims: { id: string; verdict: string; reason: string }[] };
    const mine = report.claims.find((c) => c.id === 'nothing-on-port-9')!;
    expect(mine.verdict).toBe('inconclusive');
    expect(mine.reason).toMatch(/store's disk was full from .* of that window were not stored/);
  }, 120_000);

  it('with evidence, still full when stopped: exit 2, the counts match the store and the traffic, the session is left open', async () => {
    const db = join(mnt, 'end.db');
    const filler = join(mnt, 'filler2');
    connections = 0;
    // Evidence segments on the same disk: their writer stops on its own; flow rows go on until the store is full.
    const d = startDaemon(db, port, 'head');
    try {
      await waitFor('the daemon to capture', () => /capturing on lo/.test(d.stderr()));
      await curl(port, 10);
      await sleep(2500);
      fillDisk(filler);
      await curl(port, 150);
      await waitFor('the full-disk warning', () => /disk full while writing/.test(d.stderr()));
    } finally {
      d.child.kill('SIGINT');
    }
    expect(await d.exit).toBe(2);
    const err = d.stderr();
    expect(err).not.toMatch(/nothing from this run was stored/);
    rmSync(filler);
    const counts = storedCounts(err);
    const { stored } = counts;
    expect(connections).toBe(160);
    expectAllCounted(counts, connections, err);
    expect(err).toMatch(/disk full from \d\d:\d\d:\d\d UTC to the end\); the store was still full at the end: session 1 could not be marked ended/);
    const raw = new Database(db, { readonly: true });
    // Every flow of the session (the capture filter let only the server's port in).
    const rows = (raw.prepare('SELECT count(*) AS n FROM flows WHERE session_id = 1').get() as { n: number }).n;
    const session = raw.prepare('SELECT ended_at FROM sessions WHERE id = 1').get() as { ended_at: number | null };
    raw.close();
    expect(rows, err).toBe(stored);
    expect(session.ended_at).toBeNull();
  }, 120_000);
});
