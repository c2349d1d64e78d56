/**
 * A cap addon built without native/cap-patch (e.g. `npm install --ignore-scripts`, or a rebuild of
 * cap by hand): the capture cannot choose its snaplen, so it says so once when it starts, reports
 * the snaplen it really has (cap's fixed 65535, not the default it asked for), and cuts nothing.
 * And one built with level 1 of the patch (a machine installed before level 2): it captures with
 * the snaplen asked and the TPACKET_V2 ring, and says once that a rebuild would give the V3 ring.
 * The real addon opens the real lo; only its `snaplenPatch` marker is hidden or lowered, as in such
 * a build, and `open` is watched to see that no argument reaches a build that would ignore it.
 */
import { afterEach, expect, it, vi } from 'vitest';
import type { CapHandle, CapModule } from '../../src/capture/live-cap-module.js';
import { DEFAULTS } from '../../src/settings.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, collect, sendDatagrams, settle, udpSink, warmUp } from './helpers.js';

const opened: unknown[][] = [];
/** The marker the mocked build exports (undefined: none, as unpatched). */
let level: number | undefined;

vi.mock('../../src/capture/live-cap-module.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/capture/live-cap-module.js')>();
  return {
    ...real,
    loadCap(): CapModule {
      const cap = real.loadCap();
      // The addon as an unpatched build exports it: the same Cap, no marker.
      class UnpatchedCap extends cap.Cap {
        constructor() {
          super();
          const open = this.open.bind(this);
          (this as CapHandle).open = (...args: Parameters<CapHandle['open']>) => {
            opened.push(args);
            return open(...args);
          };
        }
      }
      return { Cap: UnpatchedCap as CapModule['Cap'], snaplenPatch: level };
    },
  };
});

const { openLiveCapture } = await import('../../src/capture/live-capture.js');
const TAG = 0x554e5054; // "UNPT"
let stop: (() => void) | null = null;
afterEach(() => {
  stop?.();
  stop = null;
  opened.length = 0;
  level = undefined;
});

describeNeeding(LIVE_NEEDS, 'live capture with a cap built without native/cap-patch', () => {
  it('warns once at start, keeps cap\'s 65535 (reported as the interface\'s snaplen) and cuts nothing', async () => {
    const sink = await udpSink();
    const cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${sink.port}` });
    stop = () => { cap.stop(); sink.close(); };
    // lo's default would cut a 60,000-byte datagram (loopback.test.ts); this build cannot be told to.
    expect(DEFAULTS.snaplen.loopback).toBeLessThan(60_000);
    expect(cap.interfaces[0].snaplen).toBe(65535);
    expect(opened.map((args) => args.length)).toEqual([4]);

    const warnings: string[] = [];
    const seen: { tag: number; caplen: number; origLen: number }[] = [];
    cap.start((p) => {
      // Ethernet (14) + IPv4 (20) + UDP (8), then our tag.
      seen.push({ tag: p.buf.readUInt32BE(p.off + 42), caplen: p.caplen, origLen: p.origLen });
    }, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^the cap addon was built without native\/cap-patch: snaplen 65535 instead of \d+.*npm run build:native/);

    await warmUp(seen, '127.0.0.1', sink.port);
    await sendDatagrams('127.0.0.1', sink.port, TAG, [60_000]);
    await settle(() => seen.length);
    const big = seen.filter((s) => s.tag === TAG);
    expect(big).toEqual([{ tag: TAG, caplen: 42 + 60_000, origLen: 42 + 60_000 }]);
    expect(warnings).toHaveLength(1);
  });

  it('a build with level 1 of the patch: the snaplen asked, no buffer timeout (the V2 ring), one warning that says so', async () => {
    level = 1;
    const sink = await udpSink();
    const cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${sink.port}` });
    stop = () => { cap.stop(); sink.close(); };
    expect(cap.interfaces[0].snaplen).toBe(DEFAULTS.snaplen.loopback);
    expect(opened.map((args) => args.length)).toEqual([5]);
    expect(opened[0][4]).toBe(DEFAULTS.snaplen.loopback);

    const warnings: string[] = [];
    const seen: { tag: number; caplen: number; origLen: number }[] = [];
    cap.start((p) => {
      seen.push({ tag: p.buf.readUInt32BE(p.off + 42), caplen: p.caplen, origLen: p.origLen });
    }, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([expect.stringMatching(/^the cap addon was built with an older native\/cap-patch \(level 1\): a TPACKET_V2 ring.*npm run build:native/)]);

    await warmUp(seen, '127.0.0.1', sink.port);
    await sendDatagrams('127.0.0.1', sink.port, TAG, [60_000]);
    await settle(() => seen.length);
    // Cut at the snaplen asked (level 1 takes it), its wire length kept.
    expect(seen.filter((s) => s.tag === TAG)).toEqual([{ tag: TAG, caplen: DEFAULTS.snaplen.loopback, origLen: 42 + 60_000 }]);
    expect(warnings).toHaveLength(1);
  });
});
