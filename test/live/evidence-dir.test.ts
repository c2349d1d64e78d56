/**
 * Two daemons with two stores in one folder (a.db, b.db) capture the same curl traffic in a
 * network namespace of this file (oass-ev, loopback only). Each must keep its evidence in a
 * folder named after its store (a.evidence/, b.evidence/), with absolute paths in the store.
 * Independent checks: `tshark -n` on each store's segments counts the packets a tcpdump in the
 * same namespace wrote at the same time; `sha256sum` shows b's files untouched when a's session
 * is deleted (which must remove a's segment files).
 *
 * Needs root (namespace, capture), the cap addon, tcpdump, tshark, curl, and dist/ built
 * (npx tsc -p tsconfig.build.json).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkColumns } from '../helpers/tshark.js';
import { DAEMON_START, REPO, killStarted, startKid, type Kid } from './e2e/netns.js';

const NS = 'oass-ev';
const PORT = 8080;
const REQUESTS = 3;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function deleteNamespace(): void {
  if (!sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === NS)) return;
  // Only processes this file started live in it; end them by pid before the namespace goes.
  for (const pid of sh('ip', ['netns', 'pids', NS]).split('\n').filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
  spawnSync('ip', ['netns', 'del', NS]);
}

const inNs = (cmd: string, args: string[]): Kid => startKid('ip', ['netns', 'exec', NS, cmd, ...args]);

function tsharkPackets(file: string): number {
  return tsharkColumns(file, ['frame.number'], `tcp.port == ${PORT}`).length;
}

interface Segment { session_id: number; path: string; sha256: string | null }

function segments(dbPath: string): Segment[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT session_id, path, sha256 FROM evidence_files ORDER BY seq').all() as Segment[];
  } finally {
    db.close();
  }
}

describeNeeding(['root', 'cap', 'tcpdump', 'tshark', 'curl'], 'two daemons with stores in one folder keep separate evidence folders', () => {
  let dir: string;
  const daemons: Record<'a' | 'b', Kid | null> = { a: null, b: null };
  let tcpdumpFile: string;

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist/commands/cli.js'))) throw new Error('dist/ is not built: run npx tsc -p tsconfig.build.json');
    deleteNamespace();
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    dir = mkdtempSync(join(tmpdir(), 'oass-evidence-'));
    tcpdumpFile = join(dir, 'tcpdump-lo.pcap');
    const server = inNs(process.execPath, ['-e', `require('http').createServer((q, s) => s.end('ok\\n')).listen(${PORT}, '127.0.0.1', () => console.log('listening'))`]);
    await server.waitFor(/listening/);
    const td = inNs('tcpdump', ['-Z', 'root', '-i', 'lo', '-n', '-U', '-w', tcpdumpFile, 'tcp', 'port', String(PORT)]);
    await td.waitFor(/listening on/);
    for (const name of ['a', 'b'] as const) {
      // No --evidence-dir: the default is what is tested.
      daemons[name] = inNs(process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'daemon', '--db', join(dir, `${name}.db`), '-i', 'lo']);
    }
    await Promise.all([daemons.a!.waitFor(DAEMON_START, 20_000), daemons.b!.waitFor(DAEMON_START, 20_000)]);
    for (let i = 0; i < REQUESTS; i++) {
      const curl = inNs('curl', ['-sS', `http://127.0.0.1:${PORT}/r${i}`]);
      expect((await curl.exited).code).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 1500)); // past a flush, and tcpdump's -U write
    for (const d of [daemons.a!, daemons.b!]) d.proc.kill('SIGTERM');
    const exits = await Promise.all([daemons.a!.exited, daemons.b!.exited]);
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    td.proc.kill('SIGTERM');
    await td.exited;
  }, 60_000);

  afterAll(() => {
    killStarted();
    deleteNamespace();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a.db writes to a.evidence/, b.db to b.evidence/, nothing to a shared evidence/', () => {
    expect(existsSync(join(dir, 'evidence'))).toBe(false);
    for (const name of ['a', 'b']) {
      const segs = segments(join(dir, `${name}.db`));
      expect(segs.length).toBeGreaterThan(0);
      for (const s of segs) {
        expect(isAbsolute(s.path)).toBe(true);
        expect(s.path.startsWith(join(dir, `${name}.evidence`) + '/')).toBe(true);
        expect(existsSync(s.path)).toBe(true);
      }
      expect(readdirSync(join(dir, `${name}.evidence`)).sort()).toEqual(segs.map((s) => s.path.split('/').pop()).sort());
    }
  });

  it('each folder holds every packet of the traffic, as tshark counts it against tcpdump', () => {
    const expected = tsharkPackets(tcpdumpFile);
    expect(expected).toBeGreaterThanOrEqual(REQUESTS * 6);
    for (const name of ['a', 'b']) {
      const total = segments(join(dir, `${name}.db`)).reduce((n, s) => n + tsharkPackets(s.path), 0);
      expect(total, name).toBe(expected);
    }
  });

  it('sessions delete removes a\'s segment files and rows; b\'s files stay byte for byte', async () => {
    const a = segments(join(dir, 'a.db'));
    const b = segments(join(dir, 'b.db'));
    const r = spawnSync(process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'sessions', 'delete', String(a[0].session_id), '--db', join(dir, 'a.db')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`evidence files removed ${a.length}\\n$`));
    for (const s of a) expect(existsSync(s.path)).toBe(false);
    expect(segments(join(dir, 'a.db'))).toEqual([]);
    const db = new Database(join(dir, 'a.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) n FROM evidence_index').get()).toEqual({ n: 0 });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    for (const s of b) expect(sh('sha256sum', [s.path]).split(' ')[0]).toBe(s.sha256);
  });
});
