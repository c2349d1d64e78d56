/**
 * A live session writes open flows every second and updates them in place: the stored conn_state
 * and history follow the flow (S0 while only the SYN was seen, SF once it closed both ways).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINKTYPE } from '../../src/capture/packet.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts } from '../../src/decode/decoded.js';
import { createFlowTable } from '../../src/flows/flow-table.js';
import type { Flow } from '../../src/flows/flow.js';
import { beginLiveSession, type LiveRows } from '../../src/store/live-session.js';
import { flowRow } from '../../src/store/session-rows.js';
import { openDb } from '../../src/store/open-db.js';
import { queryFlows } from '../../src/store/read/flows.js';
import { ipv4, packet, tcp } from '../decode/frames.js';

const S = 0x02;
const A = 0x10;
const F = 0x01;

describe('live upsert of conn_state and history', () => {
  it('the same row goes from S0 (S) to SF (ShAFf) as the connection proceeds', () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'oa-live-conn-')), 'a.db'));
    const live = beginLiveSession(db, { kind: 'live', source: 'test', format: 'live' });
    const t = createFlowTable();
    const d = newDecoded();
    let flow: Flow | null = null;
    const send = (fromClient: boolean, flags: number, seq: number, ack: number) => {
      const [src, dst, sport, dport] = fromClient ? ['192.0.2.1', '203.0.113.10', 40000, 443] : ['203.0.113.10', '192.0.2.1', 443, 40000];
      const p = packet(LINKTYPE.RAW, ipv4({ src, dst, proto: 6, payload: tcp({ sport, dport, flags, seq, ack }) }));
      decodePacket(p, d, newSkipCounts());
      flow = t.ingest(p, d);
    };
    const flush = () => {
      const batch: LiveRows = {
        flows: [flowRow(flow!, { activity: 'registry', ollama: true, reason: 'test' }, null, null)],
        dns: [], http: [], processes: [], evidence: null,
        progress: { packets: 0, startedAt: null, drops: null, lossEstimate: null, skipped: {}, gaps: [] },
      };
      live.flush(batch);
      return queryFlows(db).map((f) => [f.conn_state, f.history]);
    };
    send(true, S, 100, 0);
    expect(flush()).toEqual([['S0', 'S']]);
    send(false, S | A, 500, 101);
    send(true, A, 101, 501);
    expect(flush()).toEqual([['S1', 'ShA']]);
    send(true, F | A, 101, 501);
    send(false, F | A, 501, 102);
    expect(flush()).toEqual([['SF', 'ShAFf']]);
    db.close();
  });
});
