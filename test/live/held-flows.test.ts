/**
 * The live engine holds a flow of bare SYNs, or a flow one way only whose payload nothing reads
 * (a flood's flows), in the flow table's rows until it is answered or closes (src/live/held-flows.ts);
 * what it stores must be exactly what it stores with a Flow made at every flow's first packet
 * (`flowAtFirstPacket`, as with evidence on). Every committed capture is replayed through the
 * engine both ways, at the same (virtual) times, with writes every 20 ms so that held flows are
 * written while open, then closed (and written again only if their row changed): every flows row
 * (every column), DNS and HTTP row, process row and session counter must agree.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { startLiveEngine } from '../../src/live/engine.js';
import { openReplayCapture } from '../../src/capture/replay-capture.js';
import { virtualClock } from '../helpers/replay-clock.js';
import { fixture, singleCopyFixtures } from '../differential/fixture-files.js';

const dir = mkdtempSync(join(tmpdir(), 'oafx-held-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let runs = 0;

async function replay(file: string, flowAtFirstPacket: boolean, startMs: number) {
  const db = join(dir, `${++runs}-${basename(file)}-${flowAtFirstPacket ? 'flows' : 'held'}.db`);
  const capture = openReplayCapture(file, { speed: 1, clock: virtualClock(startMs) });
  const engine = startLiveEngine({ db, capture, evidence: 'none', writeIntervalMs: 20, flowAtFirstPacket });
  await capture.ended;
  const summary = await engine.stop();
  const raw = new Database(db, { readonly: true });
  const all = (sql: string) => raw.prepare(sql).all();
  // Rows by their numbers in the session. The rowid (`id`) and a flow's write_seq are left out: they
  // are the order in which rows were written, i.e. which write a flow fell in (real time), not what is stored of it.
  const rows = (table: string, by: string) => all(`SELECT * FROM ${table} ORDER BY ${by}`).map((r) => ({ ...(r as object), id: undefined, write_seq: undefined }));
  const stored = {
    flows: rows('flows', 'seq'),
    dns: rows('dns', 'flow_seq, ts, query, answers'),
    http: rows('http', 'flow_seq, ts'),
    processes: all('SELECT * FROM processes ORDER BY seq'),
    session: all('SELECT packets, drops, loss_estimate, skipped, expired_early FROM sessions'),
  };
  raw.close();
  const { packets, flows, ollamaFlows, unattributed, flowsByActivity, expiredEarly, unwrittenAtStop, stored: counts, lossEstimate } = summary;
  return { stored, summary: { packets, flows, ollamaFlows, unattributed, flowsByActivity, expiredEarly, unwrittenAtStop, counts, lossEstimate } };
}

describe('the live engine: flows held in the flow table rows', () => {
  const files = singleCopyFixtures();
  it('the captures hold flows the engine holds: one-way UDP flows and bare SYNs', async () => {
    // udp-flood.pcap's own facts (fixtures/README.md): 600 one-way pairs to 203.0.113.99 and an answered exchange.
    const { stored } = await replay(fixture('udp-flood.pcap'), false, Date.now());
    const rows = stored.flows as unknown as { proto: number; packets_in: number }[];
    expect(rows.filter((r) => r.proto === 17 && r.packets_in === 0).length).toBeGreaterThanOrEqual(600);
  }, 60_000);
  for (const file of files) {
    it(`${basename(file)}: every stored row and counter as with a Flow per first packet`, async () => {
      const startMs = Math.floor(Date.now() / 1000) * 1000;
      const held = await replay(file, false, startMs);
      const withFlows = await replay(file, true, startMs);
      expect(held.stored.flows.length).toBe(withFlows.stored.flows.length);
      expect(held.stored).toEqual(withFlows.stored);
      expect(held.summary).toEqual(withFlows.summary);
    }, 60_000);
  }
});
