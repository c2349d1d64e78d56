/**
 * Memory per open flow under a SYN flood (issue #9 item 6): the heap a half-open flow holds while
 * it is open. The flood is fixtures/syn-flood.pcap (make/syn-flood.sh: node opened 600 connections
 * to an address that never answers; tcpdump captured them) replayed 200 times, each copy from
 * another source address (the third and fourth bytes of the IPv4 source), 1 ms apart, so all
 * 120,000 SYNs are distinct flows open at once (within the 30 s half-open timeout).
 *
 * Measured in process after full GCs: heap used plus typed-array backing stores (the flow table's
 * arrays live there), per open flow. Before the flow table kept conn state and TCP loss in its own
 * rows, a flow held two typed arrays of its own: ~1,260 bytes per open flow; then ~870 (a Flow
 * object, its address Buffers and the enricher's state per flow); now that a flow of bare SYNs
 * lives in the table's rows alone until it is answered or closes (flow-table.ts count()), ~230.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { newPacket, type Packet } from '../../src/capture/packet.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { fixture } from '../differential/fixture-files.js';
import { tsharkFields } from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const COPIES = 200;
/** Today's figure is ~230 bytes (heap + backing stores); with a Flow object per flow it was ~870. */
const MAX_BYTES_PER_OPEN_FLOW = 300;

function memoryNow(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describeNeeding(['tshark'], 'memory per open flow', () => {
  it(`a replayed SYN flood (${COPIES} × 600 distinct SYNs): every flow stays counted and stored; at most ${MAX_BYTES_PER_OPEN_FLOW} B per open flow`, () => {
    const file = fixture('syn-flood.pcap');
    // The scenario's own fact, checked by tshark: 600 SYNs without ACK from 600 source ports, no answer.
    const syns = tsharkFields(file, ['tcp.srcport'], 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 443');
    expect(new Set(syns.map((r) => r['tcp.srcport'][0])).size).toBe(600);

    const frames: { ts: number; bytes: Buffer; linktype: number }[] = [];
    readCaptureFile(file, (p: Packet) => {
      const b = p.buf.subarray(p.off, p.off + p.caplen);
      // The flood's SYNs: Ethernet, IPv4 without options, TCP to 443 with SYN alone.
      if (b[12] === 0x08 && b[13] === 0x00 && b[14] === 0x45 && b[23] === 6 && b.readUInt16BE(36) === 443 && b[47] === 0x02) {
        frames.push({ ts: p.ts, bytes: Buffer.from(b), linktype: p.linktype });
      }
    });
    expect(frames.length).toBe(600);
    const t0 = frames[0].ts;
    let closed = 0;
    const ingest = createIngest({ flow: () => { closed++; }, dns: () => {}, http: () => {} }, {}, {
      maxFlows: 1_000_000, nowUs: t0 + 60e6,
    });
    const pkt = newPacket();
    const before = memoryNow();
    for (let k = 0; k < COPIES; k++) {
      for (const f of frames) {
        // The IPv4 source address is at bytes 26..29: copy k comes from a.b.(k >> 8).(k & 255).
        const b = f.bytes;
        b[28] = k >> 8;
        b[29] = k & 255;
        pkt.buf = b;
        pkt.off = 0;
        pkt.caplen = b.length;
        pkt.origLen = b.length;
        pkt.linktype = f.linktype;
        pkt.ts = f.ts + k * 1000;
        ingest.packet(pkt);
      }
    }
    // Measured before openFlows(), which gives every flow held without a Flow object its Flow.
    const grown = memoryNow() - before;
    const open = [...ingest.openFlows()].length;
    const perFlow = grown / open;
    console.log(`${open} open flows: ${perFlow.toFixed(0)} B per open flow (heap + backing stores)`);
    expect(open).toBe(COPIES * 600);
    expect(perFlow).toBeLessThanOrEqual(MAX_BYTES_PER_OPEN_FLOW);
    ingest.finish();
    expect(closed).toBe(open); // every flow reaches the sink (stored) once the capture ends
    expect(ingest.counts.expiredEarly).toEqual({ evictedHalfOpen: 0, evictedFinished: 0, evictedActive: 0, halfOpenTimeout: 0, rejectedClosedEarly: 0 });
  });
});
