import { describe, expect, it, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { createFlowTable } from '../src/flows/flow-table.js';
import { createIngest } from '../src/pipeline/ingest.js';
import { createDnsCache } from '../src/enrich/dns-cache.js';
import { createKernelEventIndex } from '../src/attribution/os/linux/kernel-event-index.js';
import { createPcapWriter } from '../src/capture/pcap-writer.js';
import { createPcapngWriter } from '../src/capture/pcapng-writer.js';
import { createPcapngStream } from '../src/capture/pcapng-stream.js';
import { createEvidenceWriter } from '../src/store/evidence-writer.js';
import { withGetters } from '../src/fast-object.js';

// V8's own answer to "is this object in fast mode" (%HasFastProperties), through a function compiled
// after natives syntax is allowed. An object in dictionary mode makes every read and write of its
// properties a generic lookup (src/fast-object.ts: an object literal with a getter is made so).
setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

const dir = mkdtempSync(join(tmpdir(), 'fast-object-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('objects read and written per packet are in fast mode', () => {
  it('withGetters leaves objects in fast mode (Node 20\'s V8 makes an object literal with a getter in dictionary mode)', () => {
    let n = 0;
    // Made twice: a getter per object (a closure) kept in the object's own map would send the
    // second object to dictionary mode.
    const made = [1, 2].map((k) => withGetters({ a: k }, { size: () => n * k }));
    n = 3;
    expect(made.map(hasFastProperties)).toEqual([true, true]);
    expect(made.map((m) => m.size)).toEqual([3, 6]);
    expect(Object.keys(made[0])).toEqual(['a', 'size']);
  });

  // Each made twice: the second object of a kind is the one that went to dictionary mode with a getter per object.
  it('the flow table, the ingest and its counters, the DNS cache', () => {
    createFlowTable({});
    createIngest({ flow() {}, dns() {}, http() {} });
    createDnsCache();
    const table = createFlowTable({});
    expect(hasFastProperties(table)).toBe(true);
    expect(table.size).toBe(0);
    const ingest = createIngest({ flow() {}, dns() {}, http() {} });
    expect(hasFastProperties(ingest)).toBe(true);
    expect(hasFastProperties(ingest.counts)).toBe(true);
    expect(ingest.counts.firstTs).toBe(null);
    const cache = createDnsCache();
    expect(hasFastProperties(cache)).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('the live path: kernel event index, capture writers, the pcapng stream, the evidence writer', () => {
    createKernelEventIndex(null);
    createPcapngStream('x', () => {});
    const index = createKernelEventIndex(null);
    expect(hasFastProperties(index)).toBe(true);
    expect(index.size).toBe(0);
    const pcap = createPcapWriter(join(dir, 'a.pcap'), { linktype: 1 });
    const pcapng = createPcapngWriter(join(dir, 'a.pcapng'));
    const pcap2 = createPcapWriter(join(dir, 'b.pcap'), { linktype: 1 });
    const pcapng2 = createPcapngWriter(join(dir, 'b.pcapng'));
    expect([pcap, pcapng, pcap2, pcapng2].map(hasFastProperties)).toEqual([true, true, true, true]);
    pcap2.close();
    pcapng2.close();
    expect(pcap.bytesWritten).toBeGreaterThan(0);
    pcap.close();
    pcapng.close();
    const stream = createPcapngStream('x', () => {});
    expect(hasFastProperties(stream)).toBe(true);
    expect(stream.stopped).toBe(false);
    createEvidenceWriter({ dir: join(dir, 'evidence'), policy: 'head', session: 's' }).close();
    const evidence = createEvidenceWriter({ dir: join(dir, 'evidence'), policy: 'head', session: 't' });
    expect(hasFastProperties(evidence)).toBe(true);
    expect(evidence.stopped).toBe(null);
    evidence.close();
  });
});
