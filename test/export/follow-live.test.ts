/**
 * `export --follow` beside a real writer: a live daemon in a network namespace (oaex-live) captures
 * curl downloading a slow stream (its flow grows over several of the daemon's one-second writes) and
 * a short request; the daemon is then restarted (a new session) and sees another request. The
 * follower, started before any of it, writes every flow, grown rows again as they grow, the
 * restarted daemon's session too, never the same row twice, and ends with each flow as the store
 * holds it. curl reports its own local port and download size (the scenario's facts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { leaves, problem, type Doc as EcsDoc } from './ecs-check.js';
import { flowsJson, tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js');
const NS = 'oaex-live';
const PORT = 8080;
// A server that answers /slow with 8 chunks of 4 KiB, one every 400 ms, and anything else at once.
const SERVER = `require('node:http').createServer((q, r) => {
  if (q.url !== '/slow') return r.end('quick');
  let n = 0; const t = setInterval(() => { r.write(Buffer.alloc(4096, 120)); if (++n === 8) { clearInterval(t); r.end(); } }, 400);
}).listen(${PORT}, '127.0.0.1', () => console.log('ready'));`;

interface Proc { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }
const procs: Proc[] = [];

function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString('utf8'); });
  const p = { child, out: () => out, err: () => err, exit: new Promise<number | null>((ok) => child.on('exit', (code) => ok(code))) };
  procs.push(p);
  return p;
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function inNs(...args: string[]): string[] {
  return ['netns', 'exec', NS, ...args];
}

/** curl in the namespace: its local port and bytes downloaded, as curl itself reports them. */
function curl(path: string): { port: number; size: number } {
  const r = spawnSync('ip', inNs('curl', '-sS', '-o', '/dev/null', '-w', '%{local_port} %{size_download}', `http://127.0.0.1:${PORT}${path}`), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl ${path}: ${r.stderr}`);
  const [port, size] = r.stdout.trim().split(' ').map(Number);
  return { port, size };
}

async function daemon(db: string): Promise<Proc> {
  const d = start('ip', inNs(process.execPath, BIN, 'daemon', '-i', 'lo', '--db', db, '--evidence', 'none'));
  await until('the daemon to capture', () => /capturing on/.test(d.err()));
  return d;
}

async function stop(p: Proc): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exit;
}

type Doc = { event: { dataset: string; id: string; end: string }; source: { port: number }; destination: { bytes: number; port: number };
  ollama_audit: { session_id: number; flow_id: number } };

const tmp = tempDir('oaex-live-');

describeNeeding(['root', 'cap', 'dist', 'curl', 'ip'], 'export --follow beside a live daemon that restarts', () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['netns', 'add', NS], { stdio: 'inherit' });
    spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS]);
    tmp.remove();
  });

  itNeeding(['root', 'cap', 'dist', 'curl', 'ip'], 'every flow of both sessions, grown rows again as they grow, none twice, each ending as stored', async () => {
    const db = join(tmp.dir, 'audit.db');
    const server = start('ip', inNs(process.execPath, '-e', SERVER));
    await until('the server', () => server.out().includes('ready'));

    const first = await daemon(db);
    const follower = start(process.execPath, [BIN, 'export', '--db', db, '--format', 'ecs', '--follow', '--cursor', join(tmp.dir, 'c')]);
    const slow = curl('/slow'); // ~3 s: the daemon writes its row several times while it grows
    const quick = curl('/quick');
    await new Promise((r) => setTimeout(r, 1500)); // the daemon's next writes
    expect(await stop(first)).toBe(0);

    const second = await daemon(db);
    const after = curl('/again');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await stop(second)).toBe(0);

    const stored = await flowsJson(db);
    const finalBy = new Map(stored.map((f) => [f.id, f]));
    const docs = () => follower.out().split('\n').filter((l) => l).map((l) => JSON.parse(l) as Doc).filter((d) => d.event.dataset === 'ollama_audit.flow');
    // Done when every stored flow has been written as it ends.
    const caughtUp = () => stored.every((f) => docs().some((d) => d.ollama_audit.flow_id === f.id && d.event.end === f.last_seen));
    await until('the follower to catch up', caughtUp);
    expect(await stop(follower)).toBe(0);
    expect(follower.err()).toBe('');

    const all = docs();
    expect(new Set(all.map((d) => d.event.id)).size).toBe(all.length); // no row twice
    // A live capture fills what an import cannot (procfs: the process's start, parent, user, exe hash): ECS fields too.
    const every = follower.out().split('\n').filter((l) => l).map((l) => JSON.parse(l) as EcsDoc);
    expect([...new Set(every.flatMap((d) => leaves(d).map(([n, v]) => problem(n, v)).filter((p) => p !== null)))]).toEqual([]);
    const names = new Set(every.flatMap((d) => leaves(d).map(([n]) => n)));
    for (const n of ['process.pid', 'process.name', 'process.executable', 'process.start', 'process.parent.pid', 'process.user.id']) expect(names, n).toContain(n);
    expect(new Set(all.map((d) => d.ollama_audit.session_id)).size).toBe(2); // the restarted daemon's session too
    for (const d of all) expect(finalBy.has(d.ollama_audit.flow_id)).toBe(true);
    // The last document of each flow is the flow as stored.
    const last = new Map<number, Doc>();
    for (const d of all) last.set(d.ollama_audit.flow_id, d);
    for (const f of stored) expect([last.get(f.id)?.event.end, last.get(f.id)?.destination.bytes], `flow ${f.id}`).toEqual([f.last_seen, f.bytes_in]);

    // The scenario's facts: curl's connections, by the local port curl reported.
    const byPort = (port: number) => all.filter((d) => d.source.port === port && d.destination.port === PORT);
    expect(byPort(slow.port).length).toBeGreaterThan(1); // written while it grew
    const grown = byPort(slow.port).map((d) => d.destination.bytes);
    expect([...grown].sort((a, b) => a - b)).toEqual(grown); // each write bigger or equal, in order
    expect(grown.at(-1)!).toBeGreaterThan(slow.size); // IP bytes from the server carry the 32 KiB body
    expect(slow.size).toBe(8 * 4096);
    expect(byPort(quick.port).length).toBeGreaterThan(0);
    const again = byPort(after.port);
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((d) => d.ollama_audit.session_id !== byPort(slow.port)[0].ollama_audit.session_id)).toBe(true);
  }, 120_000);
});
