import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadCap } from '../../src/capture/live-cap-module.js';
import { openLiveCapture, type LiveCapture } from '../../src/capture/live-capture.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkColumns } from '../helpers/tshark.js';
import { LIVE_NEEDS, collect, sendDatagrams, settle, sleep, udpSink, warmUp } from './helpers.js';

const TAG = 0x54494d45; // "TIME"
const N = 200;
const dir = mkdtempSync(join(tmpdir(), 'oalv-ts-'));
let cap: LiveCapture | null = null;
let tcpdump: ChildProcess | null = null;
afterAll(() => {
  cap?.stop();
  if (tcpdump?.exitCode === null) tcpdump.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startTcpdump(file: string, port: number): Promise<ChildProcess> {
  // -Z root: Debian's tcpdump otherwise drops to user tcpdump, which cannot write into our 0700 temp dir.
  const child = spawn('tcpdump', ['-Z', 'root', '-i', 'lo', '-n', '-U', '--immediate-mode', '--time-stamp-precision=nano', '-w', file, `udp and dst port ${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('listening on')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
}

/** Kernel timestamps (µs) by payload length (unique per datagram), read back with tshark from tcpdump's file. */
function kernelStamps(file: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const [t, raw] of tsharkColumns(file, ['frame.time_epoch', 'udp.payload'])) {
    const payload = raw.replace(/:/g, '');
    if (!payload?.startsWith(TAG.toString(16))) continue;
    const [sec, frac = ''] = t.split('.');
    m.set(payload.length / 2, Number(sec) * 1e6 + Number(frac.padEnd(9, '0').slice(0, 9)) / 1000);
  }
  return m;
}

/**
 * Our packet stamps against tcpdump's (the kernel's, read in ns). cap patched to level 2
 * (native/cap-patch) passes the kernel's own stamp: the same, to the µs. Older builds stamp on
 * arrival: never earlier than the kernel, late by little on an idle loop.
 */
describeNeeding([...LIVE_NEEDS, 'tcpdump', 'tshark'], 'live timestamps against the kernel', () => {
  const kernelStamped = (loadCap().snaplenPatch ?? 0) >= 2;
  it(kernelStamped ? 'are the kernel\'s stamps (cap patched to level 2): each within 1 µs of tcpdump\'s' : 'arrival stamps: never earlier than the kernel stamp and late by little on an idle loop', async () => {
    const sink = await udpSink();
    try {
      const file = join(dir, 'kernel.pcap');
      tcpdump = await startTcpdump(file, sink.port);
      cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${sink.port}` });
      const seen = collect(cap);
      await warmUp(seen, '127.0.0.1', sink.port);
      for (let i = 0; i < N; i++) {
        await sendDatagrams('127.0.0.1', sink.port, TAG, [64 + i]);
        await sleep(2); // one packet at a time: what is measured is latency, not queueing
      }
      await settle(() => seen.length);
      cap.stop();
      tcpdump.kill('SIGINT');
      await new Promise((r) => tcpdump!.once('exit', r));

      const kernel = kernelStamps(file);
      const lateUs: number[] = [];
      for (const s of seen) {
        if (s.tag !== TAG) continue;
        const k = kernel.get(s.payloadLen);
        if (k !== undefined) lateUs.push(s.ts - k);
      }
      expect(lateUs.length).toBe(N);
      lateUs.sort((a, b) => a - b);
      const q = (f: number) => lateUs[Math.min(N - 1, Math.floor(f * N))].toFixed(0);
      console.log(`our stamp - kernel stamp (tcpdump's), µs: min ${q(0)} median ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${q(1)}`);
      if (kernelStamped) {
        // The kernel's µs (its ns cut to µs) against tcpdump's ns / 1000: in (-1, 0], to a double's 0.25 µs at this epoch.
        expect(lateUs[0]).toBeGreaterThanOrEqual(-1);
        expect(lateUs[N - 1]).toBeLessThanOrEqual(0);
        return;
      }
      // We stamp after the kernel; the anchor is within tens of µs of the wall clock (measured down to -33).
      expect(lateUs[0]).toBeGreaterThanOrEqual(-250);
      // Loose on purpose (2 shared cores): the figures above are what native-notes/cap.md reports.
      expect(lateUs[Math.floor(N / 2)]).toBeLessThan(20_000);
      expect(lateUs[N - 1]).toBeLessThan(1_000_000);
    } finally {
      sink.close();
    }
  });
});
