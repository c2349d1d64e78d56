/**
 * The TPACKET_V3 ring's buffer timeout on a quiet link (native-notes/cap.md "The ring's blocks";
 * DEFAULTS.captureBufferTimeoutMs). The kernel hands a block over when it is full or when the
 * block timer, which ticks every timeout, finds it holding packets: a lone packet reaches JS up to
 * the timeout late (0 to 50 ms, by where in the timer's period it came), never much later; its
 * timestamp is the kernel's (cap patched to level 2), taken when it was sent on lo, not when JS saw
 * it. With the timeout 0 (immediate mode, TPACKET_V2: the ring of older builds) a lone packet
 * arrives at once. Datagrams on lo, one every 137 ms (each in a block of its own, and each at
 * another point of the timer's period: 137 ms is 37 more than two periods).
 */
import { createSocket } from 'node:dgram';
import { afterEach, expect, it } from 'vitest';
import { openLiveCapture } from '../../src/capture/live-capture.js';
import { DEFAULTS } from '../../src/settings.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, udpSink } from './helpers.js';

const N = 10;
const GAP_MS = 137;
/** Scheduling on a loaded 2-core machine: the loop may run late by this much. */
const SLACK_MS = 200;
const TIMEOUT = DEFAULTS.captureBufferTimeoutMs;

let stop: (() => void) | null = null;
afterEach(() => {
  stop?.();
  stop = null;
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per lone datagram: kernel stamp minus send time, and arrival in JS minus kernel stamp (ms). */
async function loneDatagrams(bufferTimeoutMs?: number): Promise<{ stampAfterSendMs: number[]; arrivalAfterStampMs: number[] }> {
  const sink = await udpSink();
  const cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${sink.port}`, bufferTimeoutMs });
  const out = createSocket('udp4');
  stop = () => { cap.stop(); sink.close(); out.close(); };
  const sentAt: number[] = [];
  const stampAfterSendMs: number[] = [];
  const arrivalAfterStampMs: number[] = [];
  cap.start((p) => {
    const now = performance.timeOrigin + performance.now();
    const seq = p.buf.readUInt32BE(p.off + 42); // Ethernet 14 + IPv4 20 + UDP 8
    stampAfterSendMs[seq] = p.ts / 1000 - sentAt[seq];
    arrivalAfterStampMs[seq] = now - p.ts / 1000;
  });
  for (let i = 0; i < N; i++) {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(i, 0);
    sentAt[i] = performance.timeOrigin + performance.now();
    out.send(b, sink.port, '127.0.0.1');
    await sleep(GAP_MS);
  }
  await sleep(TIMEOUT + SLACK_MS);
  stop();
  stop = null;
  return { stampAfterSendMs, arrivalAfterStampMs };
}

describeNeeding(LIVE_NEEDS, 'the ring\'s buffer timeout', () => {
  it(`a lone packet reaches JS up to ${TIMEOUT} ms late (the block timer's period), never more than ${SLACK_MS} ms after it, stamped when it was sent`, async () => {
    const v3 = await loneDatagrams();
    const v2 = await loneDatagrams(0);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
    console.log(`TPACKET_V3, timeout ${TIMEOUT} ms: arrival - kernel stamp ${fmt(v3.arrivalAfterStampMs)} ms; stamp - send ${fmt(v3.stampAfterSendMs)} ms`);
    console.log(`TPACKET_V2 (timeout 0): arrival - stamp ${fmt(v2.arrivalAfterStampMs)} ms`);
    expect(v3.arrivalAfterStampMs.filter((x) => x !== undefined)).toHaveLength(N);
    expect(v2.arrivalAfterStampMs.filter((x) => x !== undefined)).toHaveLength(N);
    // Held until the block timer's tick: over the ten phases, most of a period for some; never much longer.
    expect(Math.max(...v3.arrivalAfterStampMs)).toBeGreaterThanOrEqual(TIMEOUT * 0.6);
    expect(median(v3.arrivalAfterStampMs)).toBeGreaterThanOrEqual(TIMEOUT / 5);
    expect(Math.max(...v3.arrivalAfterStampMs)).toBeLessThanOrEqual(TIMEOUT + SLACK_MS);
    // The stamp is the kernel's: when the datagram was sent, not when JS saw it.
    expect(median(v3.stampAfterSendMs)).toBeLessThan(TIMEOUT / 5);
    expect(Math.min(...v3.stampAfterSendMs)).toBeGreaterThanOrEqual(-1);
    // Immediate mode hands each packet over at once.
    expect(median(v2.arrivalAfterStampMs)).toBeLessThan(TIMEOUT / 5);
  });
});
