/**
 * Retention never holds the store's lock long: while another process commits a small transaction
 * every 20 ms (as the daemon writes once a second), retention steps delete 30,000 closed flows in
 * batches, and no write of that process waits long. Timing: in vitest.config.ts's TIMING group.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { createRetention } from '../../src/store/retention.js';
import { runCli } from '../helpers/run-cli.js';

const ROOT = join(__dirname, '..', '..');
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oart-writer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A writer in its own process: one transaction of 20 DNS rows every 20 ms until stdin closes; prints its longest commit (ms). */
const WRITER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 5000');
const ins = db.prepare("INSERT INTO dns (session_id, flow_seq, ts, transport, txid, query, qtype, answers) VALUES (1, 999999, 0, 'udp', 1, 'w.example', 'A', '[]')");
const write = db.transaction(() => { for (let i = 0; i < 20; i++) ins.run(); });
let longest = 0, writes = 0, done = false;
process.stdin.on('end', () => { done = true; });
process.stdin.resume();
const tick = () => {
  if (done) { process.stdout.write(JSON.stringify({ longest, writes })); db.close(); return; }
  const t = performance.now(); write.immediate(); longest = Math.max(longest, performance.now() - t); writes++;
  setTimeout(tick, 20);
};
tick();
`;

it('a writer committing every 20 ms never waits more than 150 ms while 30,000 flows are deleted', async () => {
  const path = join(dir, 'w.db');
  expect((await runCli('import', join(ROOT, 'fixtures', 'pull-any-sll2.pcap'), '--db', path)).code).toBe(0);
  const { cloneFlows } = await import('../../bench/clone-flows.mjs');
  const total = cloneFlows(path, 30_000);
  const child = spawn(process.execPath, ['-e', WRITER, path], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += String(d); });
  const db = openDb(path);
  const retention = createRetention(db, { retainUs: 1e6 });
  let deleted = 0;
  let steps = 0;
  await new Promise((r) => setTimeout(r, 200));
  while (deleted < total) {
    const s = retention.step(Date.UTC(2100, 0, 1) * 1000);
    if (s.flows === 0) break;
    deleted += s.flows;
    steps++;
    // The daemon steps once a second; here every 50 ms, so the writer meets many steps.
    await new Promise((r) => setTimeout(r, 50));
  }
  child.stdin.end();
  await once(child, 'exit');
  db.close();
  const { longest, writes } = JSON.parse(out) as { longest: number; writes: number };
  expect(deleted).toBe(total);
  expect(steps).toBeGreaterThan(3);
  expect(writes).toBeGreaterThan(20);
  expect(longest).toBeLessThan(150);
});
