/**
 * Flows held without a Flow object (flow-table.ts count(): a flow of bare SYNs lives in the
 * table's rows until it is answered or closes) must store exactly what a Flow from the first
 * packet stores. Every committed capture is ingested twice: as `import` does (no hooks: bare SYNs
 * stay in the rows) and with a per-packet hook (as the live engine: every flow gets its Flow at
 * its first packet). Every flow row column, DNS and HTTP record and session counter must agree;
 * also with a table of 3 flows, where bare flows are evicted, split and started over.
 */
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { createIngest, type IngestHooks } from '../../src/pipeline/ingest.js';
import { flowRow } from '../../src/store/session-rows.js';
import { fixtureFiles } from '../differential/fixture-files.js';
import { basename } from 'node:path';

function ingestAll(file: string, hooks: IngestHooks, maxFlows?: number) {
  const flows: unknown[] = [];
  const records: unknown[] = [];
  let bareSynFlows = 0;
  const ingest = createIngest({
    flow(f, c) {
      // What the store keeps of the flow, and its attribution (process rows are numbered by the writer).
      flows.push([...flowRow(f, c, null, null), f.process, f.peerProcess, f.effectiveProcess, f.ifaces]);
      if (f.initiatorBy === 'syn' && f.packetsIn === 0 && f.payloadOut === 0) bareSynFlows++;
    },
    dns: (r) => records.push(['dns', r]),
    http: (r) => records.push(['http', r]),
  }, hooks, { maxFlows, nowUs: Date.UTC(2030, 0, 1) * 1000 });
  readCaptureFile(file, ingest.packet, { onInterface: (i) => i.index > 0 && ingest.severalInterfaces() });
  const counts = ingest.finish();
  const { skips, tcpAcked, tcpMissed, expiredEarly, packets, decoded, firstTs, lastTs } = counts;
  return { flows, records, bareSynFlows, counts: { skips, tcpAcked, tcpMissed, expiredEarly: { ...expiredEarly }, packets, decoded, firstTs, lastTs } };
}

describe('flows of bare SYNs held in the table rows', () => {
  const files = fixtureFiles();
  it('there are captures to compare, and they hold unanswered SYN flows', () => {
    expect(files.length).toBeGreaterThan(10);
    const withBare = files.filter((f) => ingestAll(f, {}).bareSynFlows > 0);
    expect(withBare.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    for (const maxFlows of [undefined, 3]) {
      it(`${basename(file)}${maxFlows ? `, --max-flows ${maxFlows}` : ''}: every stored value as with a Flow per first packet`, () => {
        const bare = ingestAll(file, {}, maxFlows);
        const withFlows = ingestAll(file, { onPacket: () => {} }, maxFlows);
        expect(bare.flows.length).toBe(withFlows.flows.length);
        expect(bare.flows).toEqual(withFlows.flows);
        expect(bare.records).toEqual(withFlows.records);
        expect(bare.counts).toEqual(withFlows.counts);
      });
    }
  }
});
