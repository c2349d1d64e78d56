/**
 * What a flood's flows cost attribution (issue #9 item 6: 20,000 new flows/s on the capture
 * thread). fixtures/syn-flood.pcap (make/syn-flood.sh: curl's one connection, then 600 SYNs node
 * sent from 600 ports to an address that never answers, in namespaces of their own) replayed
 * into the ingest pipeline with the live engine's onOpen hook: every flow's first packet asks the
 * procfs attributor (kernel events on) for its sockets. None of its sockets is on this host, so
 * every lookup misses: the path a flood takes. Each lookup used to make its keys as hex strings
 * (four Buffer.toString('hex') per flow, and more at every rescan) and two 16-byte copies of the
 * addresses; keyed by numbers now (src/attribution/socket-key.ts), it makes neither.
 */
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/read-file.js';
import type { Packet } from '../../src/capture/packet.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { createProcfsAttributor } from '../../src/attribution/procfs-attributor.js';
import { createKernelEventIndex } from '../../src/attribution/os/linux/kernel-event-index.js';
import { fixture } from '../differential/fixture-files.js';
import { tsharkFields } from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';

describeNeeding(['tshark'], 'attribution of a flood', () => {
  it('looks up each of syn-flood.pcap\'s 601 flows without making a string or a Buffer', async () => {
    const file = fixture('syn-flood.pcap');
    // The scenario's facts, by tshark: 601 TCP streams, 600 of them bare SYNs to 203.0.113.99:443.
    const streams = new Set(tsharkFields(file, ['tcp.stream']).map((r) => r['tcp.stream'][0]));
    expect(streams.size).toBe(601);

    const att = createProcfsAttributor({ kernelEvents: createKernelEventIndex() });
    let armed = false;
    const made = { strings: 0, buffers: 0 };
    const toString = Buffer.prototype.toString;
    const allocUnsafe = Buffer.allocUnsafe;
    const alloc = Buffer.alloc;
    const from = Buffer.from;
    Buffer.prototype.toString = function (this: Buffer, ...args: unknown[]) {
      if (armed) made.strings++;
      return (toString as (...a: unknown[]) => string).apply(this, args);
    } as typeof toString;
    Buffer.allocUnsafe = ((n: number) => { if (armed) made.buffers++; return allocUnsafe(n); }) as typeof allocUnsafe;
    Buffer.alloc = ((...a: Parameters<typeof alloc>) => { if (armed) made.buffers++; return alloc(...a); }) as typeof alloc;
    Buffer.from = ((...a: unknown[]) => { if (armed) made.buffers++; return (from as (...x: unknown[]) => Buffer)(...a); }) as typeof from;
    let opened = 0;
    try {
      const ingest = createIngest({ flow: () => {}, dns: () => {}, http: () => {} }, {
        onOpen: (f) => {
          opened++;
          armed = true;
          att.attributeFlow(f);
          armed = false;
        },
      }, {});
      readCaptureFile(file, (p: Packet) => ingest.packet(p));
      ingest.finish();
    } finally {
      armed = false;
      Buffer.prototype.toString = toString;
      Buffer.allocUnsafe = allocUnsafe;
      Buffer.alloc = alloc;
      Buffer.from = from;
    }
    expect(opened).toBe(601);
    expect(att.stats().lookups).toBe(601);
    expect(made).toEqual({ strings: 0, buffers: 0 });
    // The misses are answered by a rescan (none of these sockets is here): unattributed, as before.
    while (att.stats().pending > 0) await new Promise((r) => setTimeout(r, 10));
    expect(att.stats().unattributed).toBe(601);
    att.close();
  });
});

describe('a stop while flows wait for a rescan', () => {
  it('counts the flows still waiting as unattributed (the daemon\'s "N unattributed" at stop)', () => {
    // The same 601 flows, none of whose sockets is on this host: each waits for a rescan, and the
    // attributor is closed (the daemon stopping) before any comes. They were never named.
    const att = createProcfsAttributor({ kernelEvents: createKernelEventIndex() });
    const ingest = createIngest({ flow: () => {}, dns: () => {}, http: () => {} }, { onOpen: (f) => att.attributeFlow(f) }, {});
    readCaptureFile(fixture('syn-flood.pcap'), (p: Packet) => ingest.packet(p));
    ingest.finish();
    const before = att.stats();
    expect(before.lookups).toBe(601);
    expect(before.pending).toBeGreaterThan(0);
    att.close();
    const after = att.stats();
    expect(after.unattributed + after.hits + after.resolvedLater).toBe(601);
    expect(after.unattributed).toBe(before.unattributed + before.pending);
  });
});
