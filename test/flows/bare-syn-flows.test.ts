/**
 * Flows held without a Flow object (flow-table.ts count(): a flow of bare SYNs, or a non-TCP flow
 * seen one way only whose payload nothing reads, lives in the table's rows until it is answered or
 * closes) must store exactly what a Flow from the first packet stores. Every committed capture is ingested twice: as `import` does (no hooks: bare SYNs
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
  let oneWayUdpFlows = 0;
  const ingest = createIngest({
    flow(f, c) {
      // What the store keeps of the flow, and its attribution (process rows are numbered by the writer).
      flows.push([...flowRow(f, c, null, null), f.process, f.peerProcess, f.effectiveProcess, f.ifaces]);
      if (f.initiatorBy === 'syn' && f.packetsIn === 0 && f.payloadOut === 0) bareSynFlows++;
      // A UDP flow seen one way only, on no DNS port: held in the rows too (nothing reads its payload).
      if (f.proto === 17 && f.packetsIn === 0 && ![53, 5353, 5355].includes(f.initiatorPort) && ![53, 5353, 5355].includes(f.responderPort)) oneWayUdpFlows++;
    },
    dns: (r) => records.push(['dns', r]),
    http: (r) => records.push(['http', r]),
  }, hooks, { maxFlows, nowUs: Date.UTC(2030, 0, 1) * 1000 });
  readCaptureFile(file, ingest.packet, { onInterface: (i) => i.index > 0 && ingest.severalInterfaces() });
  const counts = ingest.finish();
  const { skips, tcpAcked, tcpMissed, expiredEarly, packets, decoded, firstTs, lastTs } = counts;
  return { flows, records, bareSynFlows, oneWayUdpFlows, counts: { skips, tcpAcked, tcpMissed, expiredEarly: { ...expiredEarly }, packets, decoded, firstTs, lastTs } };
}

describe('flows of bare SYNs held in the table rows', () => {
  const files = fixtureFiles();
  it('there are captures to compare, and they hold unanswered SYN flows and one-way UDP flows', () => {
    expect(files.length).toBeGreaterThan(10);
    const withBare = files.filter((f) => ingestAll(f, {}).bareSynFlows > 0);
    expect(withBare.length).toBeGreaterThan(0);
    const withOneWayUdp = files.filter((f) => ingestAll(f, {}).oneWayUdpFlows > 0);
    expect(withOneWayUdp.length).toBeGreaterThan(0);
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
