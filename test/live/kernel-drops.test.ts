import { spawn } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { openLiveCapture, type LiveCapture } from '../../src/capture/live-capture.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, settle, udpSink, warmUp, WARMUP_TAG } from './helpers.js';

const FLOOD = 100_000;
let cap: LiveCapture | null = null;
afterEach(() => {
  cap?.stop();
  cap = null;
});

/** A child process sends `n` datagrams to 127.0.0.1:port as fast as it can and prints how many. */
function flood(port: number, n: number): Promise<number> {
  const code = `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nb=b'f'*64\nfor i in range(${n}): s.sendto(b,('127.0.0.1',${port}))\nprint(${n})`;
  const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) =>
    child.on('exit', (status) => (status === 0 ? resolve(Number(out.trim())) : reject(new Error(`flood exited ${status}`)))),
  );
}

describeNeeding([...LIVE_NEEDS, 'packet-stats', 'python3'], 'kernel drop counters', () => {
  it('a full ring while JS is busy shows up as kernel drops; delivered + drops = sent', async () => {
    const sink = await udpSink();
    try {
      // 256 KiB ring: about 3 frames of lo's 64 KiB maximum frame, so it overflows at once.
      cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${sink.port}`, bufferBytes: 256 * 1024 });
      let n = 0;
      const seen: { tag: number }[] = [];
      cap.start((p) => {
        n++;
        if (p.caplen === 14 + 20 + 8 + 16 && p.buf.readUInt32BE(42) === WARMUP_TAG) seen.push({ tag: WARMUP_TAG });
      });
      const warm = await warmUp(seen, '127.0.0.1', sink.port);
      const sent = flood(sink.port, FLOOD);
      const until = Date.now() + 600; // busy JS: the ring fills while nobody reads it
      while (Date.now() < until);
      const floodSent = await sent;
      await settle(() => n);
      await cap.stop();
      const st = cap.stats().interfaces[0];
      console.log(`flood: sent ${floodSent} (+${warm} warm-up), delivered ${st.delivered}, kernel packets ${st.kernelPackets}, kernel drops ${st.kernelDrops}`);
      expect(floodSent).toBe(FLOOD);
      expect(st.delivered).toBe(n);
      expect(st.kernelDrops).toBeGreaterThan(0);
      expect(st.kernelPackets).toBe(FLOOD + warm);
      expect(st.delivered + (st.kernelDrops ?? 0)).toBe(FLOOD + warm);
    } finally {
      sink.close();
    }
  });
});
