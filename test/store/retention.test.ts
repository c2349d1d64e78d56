/**
 * The store bounded for months (issue #12, "Bounded for months"): --retain deletes closed flows
 * older than the window with their DNS/HTTP rows, in small transactions, rolled up per day so the
 * totals outlive them; the file stops growing; --max-db bounds it by size. Real imports of the
 * fixtures' captures; totals checked against tshark.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/open-db.js';
import { createRetention, OPEN_FLOW_HORIZON_US } from '../../src/store/retention.js';
import { iterateRollups } from '../../src/store/read/rollups.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkFields } from '../helpers/tshark.js';
import { itNeeding } from '../helpers/needs.js';

const PULL = join(__dirname, '..', '..', 'fixtures', 'pull-any-sll2.pcap');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oart-retain-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function importInto(db: string, file = PULL): Promise<void> {
  const r = await runCli('import', file, '--db', db, '--again');
  expect(r.code, r.stderr).toBe(0);
}

const count = (db: Db, sql: string, ...p: unknown[]) => (db.prepare(sql).get(...p) as { n: number }).n;
const FAR_FUTURE_US = Date.UTC(2100, 0, 1) * 1000;

/** IP bytes (IPv4 total length, IPv6 payload + 40) per packet, with its TCP/UDP stream and SNI. */
function tsharkPackets(file: string) {
  return tsharkFields(file, ['ip.len', 'ipv6.plen', 'tcp.stream', 'udp.stream', 'tls.handshake.extensions_server_name']).map((r) => ({
    bytes: r['ip.len'].length ? Number(r['ip.len'][0]) : r['ipv6.plen'].length ? Number(r['ipv6.plen'][0]) + 40 : 0,
    tcp: r['tcp.stream'][0], udp: r['udp.stream'][0], sni: r['tls.handshake.extensions_server_name'][0],
  }));
}

describe('--retain on the store', () => {
  itNeeding(['tshark'], 'deletes every closed flow past the window with its DNS and HTTP rows; the rollups hold what tshark counts', async () => {
    const path = join(dir, 'all.db');
    await importInto(path);
    const db = openDb(path);
    expect(count(db, 'SELECT count(*) AS n FROM dns')).toBeGreaterThan(0);
    expect(count(db, 'SELECT count(*) AS n FROM http')).toBeGreaterThan(0);
    const step = createRetention(db, { retainUs: 86400e6 }).step(FAR_FUTURE_US);
    expect(step.flows).toBe(28);
    for (const t of ['flows', 'dns', 'http', 'evidence_index']) expect(count(db, `SELECT count(*) AS n FROM ${t}`), t).toBe(0);
    // Empty and ended, the session row stays: its window and coverage are history.
    expect(count(db, 'SELECT count(*) AS n FROM sessions')).toBe(1);

    const packets = tsharkPackets(PULL);
    const rollups = [...iterateRollups(db)];
    expect(rollups.every((r) => r.stored_flows === 0)).toBe(true);
    const sum = (rs: typeof rollups) => rs.reduce((n, r) => n + r.bytes_out + r.bytes_in, 0);
    expect(sum(rollups)).toBe(packets.reduce((n, p) => n + p.bytes, 0));
    // TCP and UDP flows: tshark's streams (ICMP has none; it is the rest).
    const streams = (k: 'tcp' | 'udp') => new Set(packets.map((p) => p[k]).filter((s) => s !== undefined)).size;
    expect(rollups.reduce((n, r) => n + r.flows, 0)).toBeGreaterThanOrEqual(streams('tcp') + streams('udp'));
    // Per TLS server name: the bytes of tshark's streams that sent it.
    const snis = new Map<string, Set<string>>();
    for (const p of packets) if (p.sni) (snis.get(p.sni) ?? snis.set(p.sni, new Set()).get(p.sni)!).add(p.tcp!);
    expect(snis.size).toBeGreaterThanOrEqual(3);
    for (const [sni, ids] of snis) {
      const expected = packets.filter((p) => p.tcp !== undefined && ids.has(p.tcp)).reduce((n, p) => n + p.bytes, 0);
      const got = [...iterateRollups(db, { destination: sni })];
      expect(sum(got), sni).toBe(expected);
      expect(got.reduce((n, r) => n + r.flows, 0), sni).toBe(ids.size);
    }
    expect([...iterateRollups(db, { destination: 'registry.ollama.ai', ollamaOnly: true })].map((r) => r.activity)).toEqual(['registry']);
    db.close();
  });

  it('keeps recent flows, and in a session still capturing every flow that may still be open', async () => {
    const path = join(dir, 'open.db');
    await importInto(path);
    const raw = new Database(path);
    const seen = (raw.prepare('SELECT seq, last_seen FROM flows ORDER BY last_seen').all() as { seq: number; last_seen: number }[]);
    const mid = seen[Math.floor(seen.length / 2)].last_seen;
    const older = seen.filter((f) => f.last_seen < mid).map((f) => f.seq).sort((a, b) => a - b);
    const dnsOfOlder = count(raw as unknown as Db, `SELECT count(*) AS n FROM dns WHERE flow_seq IN (${older.join(',')})`);
    raw.close();
    const db = openDb(path);
    const kept = () => (db.prepare('SELECT seq FROM flows ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
    const all = kept();

    // Ended session, window 1 s, now = mid + 1 s: exactly the flows last seen before mid go.
    createRetention(db, { retainUs: 1e6 }).step(mid + 1e6);
    expect(kept()).toEqual(all.filter((s) => !older.includes(s)));
    expect(count(db, 'SELECT count(*) AS n FROM rollups')).toBeGreaterThan(0);
    expect(dnsOfOlder).toBeGreaterThan(0);
    expect(count(db, `SELECT count(*) AS n FROM dns WHERE flow_seq IN (${older.join(',')})`)).toBe(0);

    // The same session still capturing (ended_at NULL): a flow idle less than the flow table's
    // longest idle timeout may be open, so even a 1 s window leaves it.
    db.prepare('UPDATE sessions SET ended_at = NULL').run();
    const before = kept();
    const r = createRetention(db, { retainUs: 1e6 }).step(mid + OPEN_FLOW_HORIZON_US - 1);
    expect(r.flows).toBe(0);
    expect(kept()).toEqual(before);
    // The engine capturing it knows its open flows: every other row is final, whatever its age.
    const idleOpen = before[0];
    const asked: number[] = [];
    const openBefore = (us: number) => {
      asked.push(us);
      return [idleOpen];
    };
    const third = seen[Math.floor(seen.length * 3 / 4)].last_seen;
    createRetention(db, { retainUs: 1e6 }).step(third + 1e6, { sessionId: 1, openBefore });
    expect(asked).toEqual([third]);
    expect(kept()).toEqual([idleOpen, ...seen.filter((f) => f.last_seen >= third && f.seq !== idleOpen).map((f) => f.seq)].sort((a, b) => a - b));
    createRetention(db, { retainUs: 1e6 }).step(seen.at(-1)!.last_seen + OPEN_FLOW_HORIZON_US + 1);
    expect(kept()).toEqual([]);
    db.close();
  });

  it('rollups are never counted twice: stored flows plus rolled-up ones stay the import\'s totals at every step', async () => {
    const path = join(dir, 'steps.db');
    await importInto(path);
    const db = openDb(path);
    const total = () => [...iterateRollups(db)].reduce((a, r) => ({ flows: a.flows + r.flows, bytes: a.bytes + r.bytes_out + r.bytes_in }), { flows: 0, bytes: 0 });
    const expected = total();
    expect(expected).toEqual({ flows: 28, bytes: 76782 });
    const times = (db.prepare('SELECT last_seen FROM flows ORDER BY last_seen').all() as { last_seen: number }[]).map((r) => r.last_seen);
    const retention = createRetention(db, { retainUs: 1, batchFlows: 3 });
    for (const t of times) {
      const s = retention.step(t + 2);
      expect(s.flows).toBeLessThanOrEqual(28);
      expect(total()).toEqual(expected);
    }
    expect(count(db, 'SELECT count(*) AS n FROM flows')).toBe(0);
    db.close();
  });
});

describe('rollups command', () => {
  itNeeding(['tshark'], 'after retention: one row per process that reached a destination, its bytes tshark\'s, the flows no longer stored', async () => {
    const capture = join(__dirname, '..', '..', 'fixtures', 'demo', 'ollama-pull.pcapng');
    const path = join(dir, 'demo.db');
    await importInto(path, capture);
    const db = openDb(path);
    createRetention(db, { retainUs: 1e6 }).step(FAR_FUTURE_US);
    expect(count(db, 'SELECT count(*) AS n FROM flows')).toBe(0);
    db.close();
    const r = await runCli('rollups', '--db', path, '--ollama', '--destination', 'registry.ollama.ai', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { process: string; flows: number; stored_flows: number; bytes_out: number; bytes_in: number; day: string }[];
    // tshark: the streams that sent that SNI, the owner named in their packets' ptcpdump comments (Cmd: exe), their IP bytes.
    const pkts = tsharkFields(capture, ['tcp.stream', 'ip.len', 'frame.comment', 'tls.handshake.extensions_server_name']);
    const streams = new Set(pkts.filter((p) => p['tls.handshake.extensions_server_name'][0] === 'registry.ollama.ai').map((p) => p['tcp.stream'][0]));
    const byExe = new Map<string, number>();
    for (const p of pkts) {
      if (!streams.has(p['tcp.stream'][0])) continue;
      const exe = /Cmd: (\S+)/.exec(p['frame.comment'].join(' ').replace(/\\n/g, ' '))?.[1]?.split('/').pop();
      if (exe) byExe.set(exe, (byExe.get(exe) ?? 0) + Number(p['ip.len'][0]));
    }
    expect(byExe.size).toBe(3);
    expect(rows.map((x) => x.process).sort()).toEqual([...byExe.keys()].sort());
    for (const row of rows) {
      expect(row.bytes_out + row.bytes_in, row.process).toBe(byExe.get(row.process));
      expect(row).toMatchObject({ flows: 1, stored_flows: 0, day: '2026-11-23' });
    }
    const text = await runCli('rollups', '--db', path, '--destination', 'never.example');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\(none: no stored flow matches/);
  });
});

describe('small transactions', () => {
  it('deletes 6,000 flows in batches of at most 100 flows (< 1000 rows a transaction) within a time budget a step', async () => {
    const path = join(dir, 'batches.db');
    for (let i = 0; i < 3; i++) await importInto(path);
    const { cloneFlows } = await import('../../bench/clone-flows.mjs');
    const n = cloneFlows(path, 6000);
    const db = openDb(path);
    const retention = createRetention(db, { retainUs: 1e6, budgetMs: 10 });
    let steps = 0;
    let deleted = 0;
    let maxRows = 0;
    let transactions = 0;
    for (;;) {
      const s = retention.step(FAR_FUTURE_US);
      if (s.flows === 0) break;
      steps++;
      deleted += s.flows;
      transactions += s.transactions;
      maxRows = Math.max(maxRows, s.maxRowsPerTransaction);
    }
    expect(deleted).toBe(n);
    expect(transactions).toBeGreaterThanOrEqual(Math.ceil(n / 100));
    expect(maxRows).toBeLessThan(1000);
    // Spread over several steps (seconds, in the daemon), not one long lock.
    expect(steps).toBeGreaterThan(1);
    db.close();
  });
});

describe('the file stops growing', () => {
  it('30 cycles of import + retention: a new store frees pages back (auto_vacuum=incremental), size flat after the first cycles', async () => {
    const path = join(dir, 'cycles.db');
    const sizes: number[] = [];
    const added: number[] = [];
    const fileSize = (db: Db) => {
      db.pragma('wal_checkpoint(TRUNCATE)');
      return statSync(path).size;
    };
    for (let i = 0; i < 30; i++) {
      await importInto(path, join(__dirname, '..', '..', 'fixtures', 'api-keepalive.pcap'));
      await importInto(path);
      const db = openDb(path);
      if (i === 0) expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
      const imported = fileSize(db);
      // A cycle frees a few pages: vacuum from the first (the daemon waits for 1 MiB of them).
      createRetention(db, { retainUs: 1e6, vacuumFrom: 1 }).step(FAR_FUTURE_US);
      sizes.push(fileSize(db));
      added.push(imported - sizes.at(-1)!);
      db.close();
    }
    // Each cycle's flows, DNS and HTTP rows take pages that retention gives back to the file system...
    expect(Math.min(...added)).toBeGreaterThanOrEqual(3 * 4096);
    // ...so what stays is the two session rows a cycle adds (~1 KiB), a quarter of the cycle's flows at most.
    expect((sizes[29] - sizes[4]) / 25).toBeLessThanOrEqual(Math.min(1024, Math.min(...added) / 4));
    const db = openDb(path, { readonly: true });
    expect([...iterateRollups(db)].reduce((n, r) => n + r.flows, 0)).toBe(30 * 29);
    db.close();
  });
});

describe('--max-db', () => {
  it('deletes the oldest closed flows until the store is under the bound', async () => {
    const path = join(dir, 'max.db');
    await importInto(path);
    const { cloneFlows } = await import('../../bench/clone-flows.mjs');
    cloneFlows(path, 20_000);
    const db = openDb(path);
    const bytes = () => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    expect(bytes()).toBeGreaterThan(4 * 1024 ** 2);
    const newest = (db.prepare('SELECT max(last_seen) AS n FROM flows').get() as { n: number }).n;
    const retention = createRetention(db, { maxDbBytes: 2 * 1024 ** 2, vacuumPages: 100_000 });
    for (let i = 0; i < 100 && bytes() > 2 * 1024 ** 2; i++) retention.step(FAR_FUTURE_US);
    expect(bytes()).toBeLessThanOrEqual(2 * 1024 ** 2);
    // Oldest first: the newest flow is still there, and every flow left is newer than every one deleted.
    expect((db.prepare('SELECT max(last_seen) AS n FROM flows').get() as { n: number }).n).toBe(newest);
    const left = count(db, 'SELECT count(*) AS n FROM flows');
    expect(left).toBeGreaterThan(1000);
    const maxRolled = (db.prepare('SELECT max(last_seen) AS n FROM rollups').get() as { n: number }).n;
    expect(count(db, 'SELECT count(*) AS n FROM flows WHERE last_seen < ?', maxRolled)).toBe(0);
    // A step without --retain and under the bound deletes nothing.
    expect(retention.step(FAR_FUTURE_US).flows).toBe(0);
    db.close();
  });

  it('vacuums a store made before auto_vacuum once when it is over the bound with free pages', async () => {
    const path = join(dir, 'old.db');
    const pre = new Database(path);
    pre.pragma('journal_mode = WAL');
    pre.close();
    await importInto(path);
    const { cloneFlows } = await import('../../bench/clone-flows.mjs');
    cloneFlows(path, 20_000);
    const db = openDb(path);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(0);
    const retention = createRetention(db, { maxDbBytes: 2 * 1024 ** 2 });
    for (let i = 0; i < 100 && count(db, 'SELECT count(*) AS n FROM flows') > 0; i++) {
      if (retention.step(FAR_FUTURE_US).flows === 0) break;
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(statSync(path).size).toBeLessThanOrEqual(2 * 1024 ** 2);
    db.close();
  });
});

describe('bad values', () => {
  for (const [args, text] of [
    [['--retain', '0'], /--retain 0: expected a duration longer than 0/],
    [['--retain', 'soon'], /expected a duration/],
    [['--max-db', 'big'], /expected a size/],
    [['--max-db', '100KB'], /--max-db 100000: expected a size of at least 1MiB/],
  ] as const) {
    it(`daemon ${args.join(' ')}: exit 2, one line, nothing stored`, async () => {
      const db = join(dir, `bad-${args[1]}.db`);
      const r = await runCli('daemon', '--db', db, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(text);
      expect(() => statSync(db)).toThrow();
    });
  }
});
