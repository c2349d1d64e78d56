/**
 * The daemon applies --retain to its store while it runs (issue #12): in a namespace of its own
 * (oart-live: only its loopback), 20 HTTP connections that close early are deleted by the running
 * daemon once older than --retain 3s (and closed), counted in the rollups instead, while a
 * connection held open and idle for the whole run stays in the flows however old its last packet.
 * The scenario's facts (the client's own local ports) say which flow is which.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { iterateRollups } from '../../src/store/read/rollups.js';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS } from './helpers.js';

const ROOT = join(__dirname, '..', '..');
const NS = 'oart-live';
let dir = '';

function dropNs(): void {
  for (const pid of (spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
  spawnSync('ip', ['netns', 'del', NS]);
}

/** Server and client in one process: 20 closed connections at once, one held open (idle) until stdin closes; prints the ports. */
const SCENARIO = `
const http = require('http');
const server = http.createServer((q, s) => s.end('ok'));
server.keepAliveTimeout = 0; // node closes an idle keep-alive connection after 5 s by default: this one must stay open
server.listen(8088, '127.0.0.1', async () => {
  const closed = [];
  for (let i = 0; i < 20; i++) {
    const req = http.get({ host: '127.0.0.1', port: 8088, agent: false, headers: { Connection: 'close' } });
    closed.push(await new Promise((res) => req.on('response', (r) => { const p = req.socket.localPort; r.resume(); r.on('end', () => res(p)); })));
  }
  const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const req = http.get({ host: '127.0.0.1', port: 8088, agent: keep });
  const idle = await new Promise((res) => req.on('response', (r) => { const p = req.socket.localPort; r.resume(); r.on('end', () => res(p)); }));
  process.stdout.write(JSON.stringify({ closed, idle }) + '\\n');
  process.stdin.on('end', () => { keep.destroy(); server.close(); process.exit(0); });
  process.stdin.resume();
});
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oart-live-'));
  dropNs();
});
afterAll(() => {
  dropNs();
  rmSync(dir, { recursive: true, force: true });
});

describeNeeding([...LIVE_NEEDS, 'ip', 'dist'], 'daemon --retain while it runs', () => {
  itNeeding([], 'deletes the closed connections once past the window (rolled up), keeps the idle open one', async () => {
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    expect(spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']).status).toBe(0);
    const db = join(dir, 'live.db');
    const daemon = spawn('ip', ['netns', 'exec', NS, process.execPath, join(ROOT, 'bin', 'ollama-audit.js'), 'daemon', '-i', 'lo', '--db', db,
      '--retain', '3s', '--evidence', 'none', '--attribution', 'procfs', '--duration', '16'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    daemon.stderr.on('data', (d) => { err += String(d); });
    const until = Date.now() + 20_000;
    while (!/capturing on/.test(err)) {
      if (Date.now() > until) throw new Error(`daemon did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const client = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', SCENARIO], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    client.stdout.on('data', (d) => { out += String(d); });
    const code = await new Promise<number | null>((r) => daemon.once('exit', r));
    const facts = JSON.parse(out.split('\n')[0]) as { closed: number[]; idle: number };
    client.stdin.end();
    await new Promise((r) => client.once('exit', r));
    expect(code, err).toBe(0);
    expect(facts.closed).toHaveLength(20);

    const store = openDb(db, { readonly: true });
    const flows = store.prepare('SELECT initiator_port AS port FROM flows WHERE responder_port = 8088').all() as { port: number }[];
    // The idle connection is still open at the end (written when the daemon stopped); none of the 20 closed ones is left.
    expect(flows.map((f) => f.port)).toEqual([facts.idle]);
    const rolled = [...iterateRollups(store, { destination: '127.0.0.1' })];
    expect(rolled.reduce((n, r) => n + r.flows - r.stored_flows, 0)).toBe(20);
    store.close();
  }, 40_000);
});
