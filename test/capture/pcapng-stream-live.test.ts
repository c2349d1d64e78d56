/**
 * The streaming pcapng reader on a real pipe: dumpcap capturing lo writes pcapng to stdout (`-w -`)
 * while we send UDP datagrams on lo; the reader must hand on each packet while the capture still
 * runs (not only at its end) and, after dumpcap stops, its Interface Statistics Block.
 * Checked against tshark -n reading the same bytes, saved as they came, and the datagrams we sent.
 *
 * Linux tcpdump cannot be the writer here: it writes classic pcap only (`tcpdump -w - | head -c 4`
 * gives d4c3b2a1; libpcap has no pcapng writer); dumpcap writes pcapng by default.
 */
import { afterAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPcapngStream } from '../../src/capture/pcapng-stream.js';
import { tsharkFields } from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';
import { tmpDir } from './helpers.js';

const dir = tmpDir('oa-stream-live-');
let dumpcap: ChildProcess | null = null;
afterAll(() => {
  if (dumpcap !== null && dumpcap.exitCode === null) dumpcap.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const COUNT = 20;

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeNeeding(['root', 'dumpcap', 'tshark'], 'streaming pcapng from dumpcap -w - on lo', () => {
  it('hands on each datagram while the capture runs, then the ISB; tshark reads the same packets from the saved bytes', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port; // our own socket's port: no other test sends to it
    const seen: { ts: number; len: number; payload: string }[] = [];
    const stream = createPcapngStream("dumpcap's output", (p) => {
      // Ethernet (lo) + IPv4 (20) + UDP (8): the payload is the rest.
      seen.push({ ts: p.ts, len: p.origLen, payload: p.buf.toString('latin1', p.off + 42, p.off + p.caplen) });
    });
    const saved: Buffer[] = [];
    let stderr = '';
    dumpcap = spawn('dumpcap', ['-i', 'lo', '-f', `udp dst port ${port}`, '-w', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    dumpcap.stdout!.on('data', (chunk: Buffer) => {
      saved.push(chunk);
      stream.push(chunk);
    });
    dumpcap.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const closed = new Promise<void>((r) => dumpcap!.on('close', () => r()));
    await until('dumpcap to start capturing', () => /Capturing on/.test(stderr));
    // Interfaces arrive before packets: dumpcap writes its header blocks at once.
    await until('the section header and interface', () => stream.result.interfaces.length === 1);

    for (let i = 0; i < COUNT; i++) {
      sock.send(`oamc-datagram-${i}`, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Live: every datagram is read before dumpcap is asked to stop.
    await until('all datagrams while dumpcap runs', () => seen.length === COUNT);
    expect(dumpcap.exitCode).toBeNull();
    expect(stream.result.drops).toBeNull(); // no statistics block yet

    dumpcap.kill('SIGINT');
    await closed;
    sock.close();
    const result = stream.end();
    expect(result.warnings).toEqual([]);
    expect(result.stoppedAt).toBeNull();
    expect(seen.map((s) => s.payload)).toEqual(Array.from({ length: COUNT }, (_, i) => `oamc-datagram-${i}`));

    const file = path.join(dir, 'piped.pcapng');
    fs.writeFileSync(file, Buffer.concat(saved));
    expect(result.bytesRead).toBe(fs.statSync(file).size);
    const rows = tsharkFields(file, ['frame.time_epoch', 'frame.len', 'udp.dstport']);
    expect(rows).toHaveLength(COUNT);
    expect(rows.map((r) => Number(r['frame.len'][0]))).toEqual(seen.map((s) => s.len));
    expect(rows.every((r) => Number(r['udp.dstport'][0]) === port)).toBe(true);
    // dumpcap stamps in ns; our µs are a double, whose step at today's epoch is 0.25 µs, so a time
    // like …959.9995 µs reads as …960: equal within a microsecond, not floor for floor.
    const tsUs = rows.map((r) => {
      const [sec, frac = ''] = r['frame.time_epoch'][0].split('.');
      return Number(sec) * 1e6 + Number(frac.padEnd(9, '0').slice(0, 9)) / 1000;
    });
    seen.forEach((s, i) => expect(Math.abs(s.ts - tsUs[i]!)).toBeLessThan(1));
    // The drop count of dumpcap's ISB, as tshark's pcapng file dissector reads it.
    const isb = tsharkFields(file, ['pcapng.options.option.data.interface.dropped'], undefined, ['-X', 'read_format:MIME Files Format'])
      .flatMap((r) => r['pcapng.options.option.data.interface.dropped']);
    expect(isb).toHaveLength(1);
    expect(result.drops).toBe(Number(isb[0]));
  });
});
