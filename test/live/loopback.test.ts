import { afterEach, expect, it } from 'vitest';
import { openLiveCapture, type LiveCapture } from '../../src/capture/live-capture.js';
import { LINKTYPE } from '../../src/capture/packet.js';
import { DEFAULTS } from '../../src/settings.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, collect, sendDatagrams, settle, udpSink, warmUp, WARMUP_TAG } from './helpers.js';

const TAG = 0x4c4f4f50; // "LOOP"
let cap: LiveCapture | null = null;
let closeSink: (() => void) | null = null;

afterEach(() => {
  cap?.stop();
  cap = null;
  closeSink?.();
  closeSink = null;
});

describeNeeding(LIVE_NEEDS, 'live capture on lo', () => {
  it('delivers every datagram once, decoded, stamped in order within the test window, counted by the kernel', async () => {
    const sink = await udpSink();
    closeSink = sink.close;
    cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${sink.port}` });
    expect(cap.interfaces).toEqual([{ index: 0, linktype: LINKTYPE.ETHERNET, name: 'lo', description: null, snaplen: DEFAULTS.snaplen.loopback }]); // lo's default (settings.ts)
    const seen = collect(cap);
    const warm = await warmUp(seen, '127.0.0.1', sink.port);

    // Sizes from 8 bytes to 60000 (lo's MTU is 65536: no fragmentation; the last is cut by lo's snaplen).
    const sizes = Array.from({ length: 200 }, (_, i) => (i === 199 ? 60_000 : 8 + ((i * 97) % 1400)));
    const t0 = Date.now() * 1000;
    await sendDatagrams('127.0.0.1', sink.port, TAG, sizes);
    await settle(() => seen.length);
    const t1 = Date.now() * 1000;

    const mine = seen.filter((s) => s.tag === TAG);
    expect(mine.map((s) => s.seq)).toEqual(sizes.map((_, i) => i));
    const snaplen = DEFAULTS.snaplen.loopback;
    for (const s of mine) {
      const size = sizes[s.seq];
      const wire = 14 + 20 + 8 + size;
      expect(s).toMatchObject({ linktype: LINKTYPE.ETHERNET, iface: 0, ipVersion: 4, dstPort: sink.port, payloadLen: Math.min(size, snaplen - 42) });
      // The headers tell the true lengths; a packet over the snaplen keeps its wire length as origLen.
      expect(s.ipLen).toBe(20 + 8 + size);
      expect(s.caplen).toBe(Math.min(wire, snaplen));
      expect(s.origLen).toBe(wire);
      // Stamped after the first send started and before we looked at the clock again (anchor error < 1 ms).
      expect(s.ts).toBeGreaterThanOrEqual(t0 - 1000);
      expect(s.ts).toBeLessThanOrEqual(t1 + 1000);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i].ts).toBeGreaterThanOrEqual(seen[i - 1].ts);

    await cap.stop();
    const st = cap.stats();
    const warmSeen = seen.filter((s) => s.tag === WARMUP_TAG).length;
    expect(warmSeen).toBeLessThanOrEqual(warm);
    expect(st.interfaces[0]).toMatchObject({ name: 'lo', delivered: seen.length, beforeStart: 0, kernelDrops: 0, ifDrops: 0, note: null });
    // Every packet that passed the filter was delivered, each counted once (sent copies ignored on lo).
    expect(st.interfaces[0].kernelPackets).toBe(seen.length);
    expect(st.total).toMatchObject({ delivered: seen.length, kernelPackets: seen.length, kernelDrops: 0 });
    expect(Math.abs(st.clockDriftUs)).toBeLessThan(50_000);
  });

  it('the `any` device gives Linux cooked (SLL) headers and each loopback datagram once', async () => {
    const sink = await udpSink();
    closeSink = sink.close;
    cap = openLiveCapture({ filter: `udp and dst port ${sink.port}` });
    expect(cap.interfaces[0]).toMatchObject({ index: 0, name: 'any', linktype: LINKTYPE.LINUX_SLL });
    const seen = collect(cap);
    await warmUp(seen, '127.0.0.1', sink.port);
    const sizes = Array.from({ length: 30 }, (_, i) => 100 + i);
    await sendDatagrams('127.0.0.1', sink.port, TAG, sizes);
    await settle(() => seen.length);
    const mine = seen.filter((s) => s.tag === TAG);
    expect(mine.map((s) => s.seq)).toEqual(sizes.map((_, i) => i));
    for (const s of mine) {
      expect(s).toMatchObject({ linktype: LINKTYPE.LINUX_SLL, iface: 0, ipLen: 28 + sizes[s.seq] });
      expect(s.caplen).toBe(16 + 28 + sizes[s.seq]);
    }
    await cap.stop();
    const st = cap.stats().interfaces[0];
    expect(st.delivered).toBe(seen.length);
    expect(st.ifDrops).toBeNull(); // `any` has no interface counters
    // On `any` the kernel also counts loopback's sent copies, which libpcap discards: at most twice.
    expect(st.kernelPackets).toBeGreaterThanOrEqual(seen.length);
    expect(st.kernelPackets).toBeLessThanOrEqual(2 * seen.length + 2);
  });
});
