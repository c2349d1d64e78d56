import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDecoded, TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/decode/decoded.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { lossOf, lossPercent, trackTcpLoss } from '../../src/flows/tcp-loss.js';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { analyzeCaptureFile } from '../../src/pipeline/analyze.js';
import { makeFlow } from '../helpers/make-flow.js';
import { fixture } from '../differential/fixture-files.js';
import { itNeeding } from '../helpers/needs.js';
import { tsharkFields } from '../helpers/tshark.js';

function seg(f: ReturnType<typeof makeFlow>, dir: number, seq: number, len: number, flags: number, ack = 0): void {
  const d = newDecoded();
  d.proto = 6;
  d.tcpSeq = seq >>> 0;
  d.tcpAck = ack >>> 0;
  d.tcpFlags = flags;
  d.payloadWireLen = len;
  trackTcpLoss(f, dir, d);
}

describe('TCP loss estimate', () => {
  it('no loss: everything acknowledged was seen', () => {
    const f = makeFlow();
    seg(f, DIR_OUT, 1000, 0, TCP_SYN);
    seg(f, DIR_IN, 5000, 0, TCP_SYN | TCP_ACK, 1001);
    seg(f, DIR_OUT, 1001, 100, TCP_ACK, 5001);
    seg(f, DIR_IN, 5001, 1400, TCP_ACK, 1101);
    seg(f, DIR_IN, 6401, 1400, TCP_ACK, 1101);
    seg(f, DIR_OUT, 1101, 0, TCP_ACK, 7801);
    expect(lossOf(f)).toEqual({ ackedOut: 100, ackedIn: 2800, gapOut: 0, gapIn: 0 });
  });

  it('a missing segment shows as a gap once, even when later acks repeat; retransmissions and reordering do not count', () => {
    const f = makeFlow();
    seg(f, DIR_OUT, 1000, 0, TCP_SYN);
    seg(f, DIR_IN, 5000, 0, TCP_SYN | TCP_ACK, 1001);
    seg(f, DIR_IN, 5001, 1400, TCP_ACK, 1001);
    // 6401..7801 never captured
    seg(f, DIR_IN, 7801, 1400, TCP_ACK, 1001);
    seg(f, DIR_OUT, 1001, 0, TCP_ACK, 9201);
    seg(f, DIR_OUT, 1001, 0, TCP_ACK, 9201);
    seg(f, DIR_IN, 5001, 1400, TCP_ACK, 1001); // a retransmission of data already seen
    seg(f, DIR_IN, 9201, 0, TCP_FIN | TCP_ACK, 1001);
    seg(f, DIR_OUT, 1001, 0, TCP_ACK, 9202);
    // The hole 6401..7801 was acknowledged (ack 9201) but never captured: 1400 bytes, counted once.
    expect(lossOf(f)).toEqual({ ackedOut: 0, ackedIn: 4201, gapOut: 0, gapIn: 1400 });
  });

  it('reordered segments that fill a hole before the ack are not loss', () => {
    const f = makeFlow();
    seg(f, DIR_IN, 5000, 0, TCP_SYN | TCP_ACK, 1);
    seg(f, DIR_IN, 5001, 100, TCP_ACK, 1);
    seg(f, DIR_IN, 5301, 100, TCP_ACK, 1); // arrives before 5101..5301
    seg(f, DIR_IN, 5201, 100, TCP_ACK, 1);
    seg(f, DIR_IN, 5101, 100, TCP_ACK, 1);
    seg(f, DIR_OUT, 1, 0, TCP_ACK, 5401);
    expect(lossOf(f)).toMatchObject({ ackedIn: 400, gapIn: 0 });
  });

  it('acknowledged bytes beyond the highest seen sequence are the gap (tail loss), across sequence wrap', () => {
    const f = makeFlow();
    const isn = 0xffffff00;
    seg(f, DIR_IN, isn, 0, TCP_SYN | TCP_ACK, 1);
    seg(f, DIR_OUT, 1, 0, TCP_ACK, isn + 1);
    seg(f, DIR_IN, isn + 1, 1000, TCP_ACK, 1);     // wraps past 2^32
    seg(f, DIR_OUT, 1, 0, TCP_ACK, isn + 1 + 3000); // 2000 bytes acknowledged that were never captured
    expect(lossOf(f)).toMatchObject({ ackedIn: 3000, gapIn: 2000 });
    expect(lossPercent(3000, 2000)).toBeCloseTo(66.67, 1);
    expect(lossPercent(0, 0)).toBeNull();
  });

  itNeeding(['tshark'], 'on a real capture with data segments removed, the estimate is exactly the removed bytes', () => {
    const src = fixture('pull-eth-nano.pcap');
    // Independent: tshark names the CDN's full-size data segments and their TCP payload lengths.
    const big = tsharkFields(src, ['frame.number', 'tcp.len'], 'tcp.srcport == 443 && tcp.len >= 1448');
    expect(big.length).toBeGreaterThan(10);
    const drop = new Map<number, number>();
    for (const row of big.slice(2, 12).filter((_, i) => i % 3 === 0)) drop.set(Number(row['frame.number'][0]), Number(row['tcp.len'][0]));
    const expected = [...drop.values()].reduce((a, b) => a + b, 0);

    const out = join(mkdtempSync(join(tmpdir(), 'oa-loss-')), 'dropped.pcap');
    const before = analyzeCaptureFile(src);
    const w = createPcapWriter(out, { linktype: 1 });
    let n = 0;
    readCaptureFile(src, (p) => {
      n++;
      if (!drop.has(n)) w.writePacket(p.ts, p.buf, p.off, p.caplen, p.origLen);
    });
    w.close();
    const after = analyzeCaptureFile(out);
    const missed = (flows: typeof after.flows) => flows.reduce((s, f) => { const l = lossOf(f); return s + l.gapIn + l.gapOut; }, 0);
    expect(missed(before.flows)).toBe(0);
    expect(missed(after.flows)).toBe(expected);
  });
});
