/**
 * An import's flow rows are built on its writer thread from the numbers the capture thread packs
 * (src/store/flow-pack.ts): addresses, Community ID, conn_state and history are made there. Every
 * committed capture, and a generated one of several batches, is ingested as `import` ingests and
 * its flows handed to a real session writer; what lands in the store must be, column for column,
 * the row flowRow builds from the same Flow on this thread (the live engine's way, and the
 * import's before), and the capture thread must not have computed a Community ID (the Flow's
 * cache of it stays empty), also when the writer thread is behind (it waits for a free slot of
 * session-writer.ts FLOW_SLOTS; it used to build rows itself then). The values themselves are checked against tshark elsewhere
 * (Community ID: test/differential/store.test.ts; conn_state/history: test/flows/conn-states-real.test.ts).
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { openDb } from '../../src/store/open-db.js';
import { beginSession } from '../../src/store/session-writer.js';
import { flowRow, INSERT_FLOW } from '../../src/store/session-rows.js';
import type { FlowProcess } from '../../src/flows/flow.js';
import { fixture, fixtureFiles } from '../differential/fixture-files.js';
import { generate } from '../../bench/generate-capture.mjs';
import { makeFlow } from '../helpers/make-flow.js';

const dir = mkdtempSync(join(tmpdir(), 'oa-flow-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** INSERT_FLOW's columns, in its order. */
const COLUMNS = /\(([^)]*)\)/.exec(INSERT_FLOW)![1].split(',').map((c) => c.trim());
const PROCESS_COLUMNS = new Set(['process_seq', 'peer_process_seq', 'effective_process_seq']);

/** A process as its row names it (the writer numbers process rows; the numbers themselves are its own). */
const who = (p: Pick<FlowProcess, 'pid' | 'name'> | null) => (p === null ? null : `${p.pid} ${p.name}`);

async function importThroughWriter(file: string, db = newStore()) {
  const writer = await beginSession(db, { kind: 'import', source: file, format: null });
  const expected: unknown[][] = [];
  let computedHere = 0;
  const ingest = createIngest({
    flow(f, c) {
      writer.flow(f, c);
      if (f.communityId !== null) computedHere++;
      const row = flowRow(f, c, null, null);
      expected.push([...row.slice(1).map((v, i) => (PROCESS_COLUMNS.has(COLUMNS[i + 1]) ? null : v)),
        who(f.process), who(f.peerProcess), who(f.effectiveProcess)]);
    },
    dns: writer.dns,
    http: writer.http,
  }, {}, { nowUs: Date.UTC(2030, 0, 1) * 1000 });
  const read = readCaptureFile(file, ingest.packet, { onInterface: (i) => i.index > 0 && ingest.severalInterfaces() });
  const counts = ingest.finish();
  await writer.commit({
    format: read.format, interfaces: read.interfaces, packets: counts.packets, startedAt: counts.firstTs, endedAt: counts.lastTs,
    drops: null, lossEstimate: null, skipped: {}, warnings: [], stoppedAt: read.stoppedAt,
  });
  const store = new Database(db, { readonly: true });
  const ends = (t: string) => `CASE WHEN ${t}.pid IS NULL THEN NULL ELSE ${t}.pid || ' ' || ${t}.comm END`;
  const stored = store.prepare(`SELECT ${COLUMNS.slice(1).map((c) => (PROCESS_COLUMNS.has(c) ? 'NULL' : `f.${c}`)).join(', ')},
      ${ends('p')}, ${ends('pp')}, ${ends('ep')}
    FROM flows f
    LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
    LEFT JOIN processes pp ON pp.session_id = f.session_id AND pp.seq = f.peer_process_seq
    LEFT JOIN processes ep ON ep.session_id = f.session_id AND ep.seq = f.effective_process_seq
    ORDER BY f.rowid`).raw(true).all();
  store.close();
  return { expected, stored, computedHere };
}

function newStore(): string {
  const db = join(mkdtempSync(join(dir, 'db-')), 'a.db');
  openDb(db).close();
  return db;
}

/** Another process holds the store's write lock for `ms` (it says when it has it). */
async function lockStoreFor(db: string, ms: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `
    const d = new (require('better-sqlite3'))(${JSON.stringify(db)});
    d.exec('BEGIN IMMEDIATE');
    console.log('locked');
    setTimeout(() => { d.exec('COMMIT'); d.close(); }, ${ms});
  `], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return child;
}

/** A generated capture of ~6,000 flows (three writer batches and more), as `npm run bench` makes its file. */
function generatedCapture(): string {
  const path = join(dir, 'generated.pcap');
  const w = createPcapWriter(path, { linktype: 1, snaplen: 262144 });
  generate(w, { packets: 60_000, flows: 6_000 });
  w.close();
  return path;
}

/** A real capture with some full-size data segments cut out: acknowledged bytes never captured (missed_bytes). */
function lossyCapture(): string {
  const path = join(dir, 'lossy.pcap');
  const w = createPcapWriter(path, { linktype: 1 });
  let big = 0;
  readCaptureFile(fixture('pull-eth-nano.pcap'), (p) => {
    if (p.origLen >= 1400 && big++ % 5 === 2) return;
    w.writePacket(p.ts, p.buf, p.off, p.caplen, p.origLen);
  });
  w.close();
  return path;
}

describe('an import\'s flow rows, built on its writer thread', () => {
  // pktap (a flow's effective process), hostile and formula names besides the top-level fixtures.
  const more = ['darwin/radar-88502733.pcapng', 'darwin/radar-101007576-iperf.pcapng', 'hostile/hostile-names.pcapng', 'formula/formula-names.pcapng'];
  const files = [...fixtureFiles(), ...more.map(fixture), generatedCapture(), lossyCapture()];

  it.each(files.map((f) => [basename(f), f]))('%s: stored as flowRow builds them from the flows, none computed on the capture thread', async (_name, file) => {
    const { expected, stored, computedHere } = await importThroughWriter(file);
    expect(stored.length).toBe(expected.length);
    expect(stored).toEqual(expected);
    // The first batch (2,000 flows) is always packed; later ones too unless the writer thread has read none of the 4 on their way.
    expect(computedHere).toBe(0);
  });

  it('the captures cover what a row is built from: IPv4 and IPv6, TCP, UDP and ICMP, names, processes, several interfaces', async () => {
    const rows = (await Promise.all(files.map(async (f) => (await importThroughWriter(f)).stored))).flat() as unknown[][];
    const at = (c: string) => COLUMNS.indexOf(c) - 1;
    expect(new Set(rows.map((r) => r[at('ip_version')]))).toEqual(new Set([4, 6]));
    const protos = new Set(rows.map((r) => r[at('proto')]));
    for (const proto of [1, 6, 17]) expect(protos.has(proto), `IP protocol ${proto}`).toBe(true);
    for (const c of ['sni', 'alpn', 'http_method', 'http_status', 'connect_host', 'dns_name', 'ifaces', 'missed_bytes']) {
      expect(rows.some((r) => r[at(c)] !== null && r[at(c)] !== 0), c).toBe(true);
    }
    expect(rows.some((r) => r[COLUMNS.length - 1] !== null), 'a flow with its process').toBe(true);
    expect(rows.length).toBeGreaterThan(6_000);
  });

  it('the capture thread builds no rows also when the writer thread is held up (another process holds the store for 4 s)', async () => {
    // 20,000 flows: more batches than slots while the writer thread waits for the store's lock.
    // The capture thread waits for a slot; it used to build those batches' rows itself (computing
    // their Community IDs here), which compiled the row code in this thread's isolate too.
    const path = join(dir, 'generated-20000.pcap');
    const w = createPcapWriter(path, { linktype: 1, snaplen: 262144 });
    generate(w, { packets: 100_000, flows: 20_000 });
    w.close();
    const db = newStore();
    // Held past the ingest of the whole file (~1 s), within the writer thread's busy timeout (5 s).
    const holder = await lockStoreFor(db, 4000);
    try {
      const { expected, stored, computedHere } = await importThroughWriter(path, db);
      expect(stored.length).toBe(20_000);
      expect(stored).toEqual(expected);
      expect(computedHere).toBe(0);
    } finally {
      holder.kill();
    }
  }, 60_000);

  it('a flow sent on behalf of another app (pktap\'s effective process; no committed capture has one) keeps its three processes', async () => {
    const db = join(mkdtempSync(join(dir, 'db-')), 'e.db');
    openDb(db).close();
    const writer = await beginSession(db, { kind: 'import', source: 'x', format: null });
    const f = makeFlow({ id: 7, process: { pid: 10, name: 'nsurlsessiond', exe: null, source: 'pktap' }, peerProcess: { pid: 11, name: 'ollama', exe: null },
      effectiveProcess: { pid: 12, name: 'Safari' } });
    writer.flow(f, { activity: 'other', ollama: false, reason: 'r' });
    await writer.commit({ interfaces: [], packets: 0, startedAt: null, endedAt: null, drops: null, lossEstimate: null, skipped: {}, warnings: [], stoppedAt: null });
    const store = new Database(db, { readonly: true });
    const name = (col: string) => store.prepare(`SELECT p.pid || ' ' || p.comm FROM flows f JOIN processes p ON p.session_id = f.session_id AND p.seq = f.${col}`).pluck().get();
    expect([name('process_seq'), name('peer_process_seq'), name('effective_process_seq')]).toEqual(['10 nsurlsessiond', '11 ollama', '12 Safari']);
    store.close();
  });
});
