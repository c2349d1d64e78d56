/**
 * Independent check: tshark (Wireshark's reader) must see in our writers' files, and in
 * captures made by tcpdump and dumpcap, exactly what our readers return, packet by packet.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { createPcapngWriter } from '../../src/capture/pcapng-writer.js';
import { describeNeeding } from '../helpers/needs.js';
import { END_OPT, block, opt, readAll, shb, tmpDir, tsharkRows, u16, u32, u64 } from './helpers.js';

const dir = tmpDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));


/** Our reader against tshark, packet by packet. */
function expectAgreesWithTshark(file: string, quirks: { untimed?: number[]; sectionBase?: number[] } = {}): number {
  const ours = readAll(file);
  const theirs = tsharkRows(file);
  expect(ours.result.stoppedAt).toBeNull();
  expect(ours.packets.length).toBe(theirs.length);
  ours.packets.forEach((p, i) => {
    const t = theirs[i];
    // Both sides are doubles near 1.7e15 µs, where one ulp is 0.25 µs.
    if (!quirks.untimed?.includes(i)) expect(Math.abs(p.ts - t.tsUs), `packet ${i}: ${p.ts} vs ${t.tsUs}`).toBeLessThanOrEqual(0.25);
    const iface = p.iface - (quirks.sectionBase?.[i] ?? 0);
    expect([p.origLen, p.caplen, iface, p.comment], `packet ${i}`).toEqual([t.len, t.capLen, t.iface, t.comment]);
  });
  return theirs.length;
}

function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

describeNeeding(['tshark'], 'tshark agrees with our writers and reader', () => {
  for (const littleEndian of [true, false]) {
    for (const nano of [false, true]) {
      it(`pcap ${littleEndian ? 'LE' : 'BE'} ${nano ? 'ns' : 'µs'}`, () => {
        const file = path.join(dir, `t-${littleEndian}-${nano}.pcap`);
        const w = createPcapWriter(file, { linktype: 1, snaplen: 100, littleEndian, nano });
        w.writePacket(1700000000123456, payload(60, 1), 0, 60, 60);
        w.writePacket(1700000000123457.25, payload(100, 2), 0, 100, 1514);
        w.writePacket(1000000, payload(14, 3), 0, 14, 14);
        w.close();
        expect(expectAgreesWithTshark(file)).toBe(3);
      });
    }
  }

  for (const littleEndian of [true, false]) {
    it(`pcapng ${littleEndian ? 'LE' : 'BE'}: two interfaces, ns and µs, comments`, () => {
      const file = path.join(dir, `t-${littleEndian}.pcapng`);
      const w = createPcapngWriter(file, { littleEndian, userAppl: 'ollama-audit tests' });
      w.addInterface({ linktype: 1, snaplen: 65535, name: 'eth0' });
      w.addInterface({ linktype: 276, snaplen: 262144, name: 'any', tsresol: 9 });
      w.writePacket(0, 1700000000123456, payload(60, 1), 0, 60, 60, 'PID: 1234 Cmd: curl');
      w.writePacket(1, 1700000000999999.5, payload(80, 2), 0, 40, 80, null);
      w.writePacket(1, 1700000001000000.25, payload(20, 3), 0, 20, 20, 'PID: 77 Cmd: ollama serve');
      w.writePacket(0, 1700000002000000, payload(54, 4), 0, 54, 54, null);
      w.close();
      expect(expectAgreesWithTshark(file)).toBe(4);
    });
  }

  it('hand-built: 2^-20 s resolution, if_tsoffset, SPB, two sections of opposite byte order', () => {
    const idb = (le: boolean, linktype: number, options: Buffer): Buffer =>
      block(1, Buffer.concat([u16(linktype, le), u16(0, le), u32(65535, le), options]), le);
    const epb = (le: boolean, iface: number, high: number, low: number, data: string, comment?: string): Buffer => {
      const d = Buffer.from(data);
      const pad = Buffer.alloc(((d.length + 3) & ~3) - d.length);
      const options = comment === undefined ? Buffer.alloc(0) : Buffer.concat([opt(1, Buffer.from(comment), le), END_OPT(le)]);
      return block(6, Buffer.concat([u32(iface, le), u32(high, le), u32(low, le), u32(d.length, le), u32(d.length, le), d, pad, options]), le);
    };
    const file = path.join(dir, 'hand.pcapng');
    fs.writeFileSync(file, Buffer.concat([
      shb(true),
      idb(true, 1, Buffer.concat([opt(9, Buffer.from([0x80 | 20]), true), opt(14, u64(1600000000n, true), true), END_OPT(true)])),
      epb(true, 0, 1, 0x80000, 'abcdefghijklmn', 'two to the minus twenty'),
      block(3, Buffer.concat([u32(14, true), Buffer.from('opqrstuvwxyz01')]), true),
      shb(false),
      idb(false, 101, END_OPT(false)),
      idb(false, 1, Buffer.concat([opt(9, Buffer.from([9]), false), END_OPT(false)])),
      epb(false, 1, 395812094, 1032178965, 'ABCDEFGHIJKLMNOPQRST'),
      epb(false, 0, 395812, 404759104, '\x45'.repeat(20)),
    ]));
    // An SPB has no timestamp: tshark shows 0, we carry the previous packet's (see the reader).
    // tshark 4.0 shows section-local interface ids (and then the first section's interface
    // names, wrongly); we number interfaces across the file, so section 2 starts at 1 here.
    expect(expectAgreesWithTshark(file, { untimed: [1], sectionBase: [0, 0, 1, 1] })).toBe(4);
    expect(readAll(file).packets[1].ts).toBe(1600004096500000);
  });
});

/**
 * Runs a capture tool on lo filtered to two UDP ports. After its "ready" line on stderr it
 * sends warm-up datagrams to the second port until the file grows (the capture is really
 * running), then `count` datagrams to the first port; then stops the tool with SIGINT.
 */
async function captureUdp(cmd: string, file: string, args: (filter: string) => string[], ready: RegExp, count: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  const port = 40000 + Math.floor(Math.random() * 20000);
  const warm = port + 1;
  const child = spawn(cmd, args(`udp port ${port} or udp port ${warm}`), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const send = (msg: Buffer, to: number): Promise<void> =>
    new Promise<void>((res, rej) => sock.send(msg, to, '127.0.0.1', (e) => (e ? rej(e) : res())));
  const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${cmd} did not start: ${stderr}`)), 15000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (ready.test(stderr)) { clearTimeout(timer); res(); }
      });
      child.on('exit', () => { clearTimeout(timer); rej(new Error(`${cmd} exited early: ${stderr}`)); });
    });
    const sizeNow = (): number => (fs.existsSync(file) ? fs.statSync(file).size : 0);
    await sleep(100);
    const before = sizeNow();
    for (let tries = 0; sizeNow() === before; tries++) {
      if (tries > 100) throw new Error(`${cmd} wrote nothing after 100 warm-up datagrams: ${stderr}`);
      await send(Buffer.from('warm-up'), warm);
      await sleep(100);
    }
    for (let i = 0; i < count; i++) {
      await send(Buffer.from(`datagram ${i} `.repeat(i + 1)), port);
      await sleep(20);
    }
    // Stop the tool once every datagram is in its file (it writes each packet as it comes).
    for (const until = Date.now() + 10_000; realDatagrams(file) < count;) {
      if (Date.now() > until) throw new Error(`${cmd} wrote ${realDatagrams(file)} of ${count} datagrams within 10 s: ${stderr}`);
      await sleep(20);
    }
  } finally {
    child.kill('SIGINT');
    await exited;
    sock.close();
  }
}

/** Packets whose UDP payload is one of ours (not warm-up). */
function realDatagrams(file: string): number {
  return readAll(file).packets.filter((p) => p.data.includes(Buffer.from('datagram '))).length;
}

describeNeeding(['root', 'tshark', 'tcpdump', 'dumpcap'], 'captures made by real tools', () => {
  it('tcpdump -w (µs pcap)', async () => {
    const file = path.join(dir, 'tcpdump-us.pcap');
    await captureUdp('tcpdump', file, (f) => ['-Z', 'root', '-i', 'lo', '--immediate-mode', '-U', '-w', file, f], /listening on/, 5);
    expect(expectAgreesWithTshark(file)).toBeGreaterThanOrEqual(6);
    expect(realDatagrams(file)).toBe(5);
    const { result, packets } = readAll(file);
    expect(result.format).toBe('pcap');
    expect(packets[packets.length - 1].data.includes(Buffer.from('datagram 4 datagram 4 datagram 4'))).toBe(true);
  });

  it('tcpdump --time-stamp-precision=nano -w (ns pcap)', async () => {
    const file = path.join(dir, 'tcpdump-ns.pcap');
    await captureUdp('tcpdump', file, (f) => ['-Z', 'root', '-i', 'lo', '--immediate-mode', '-U', '--time-stamp-precision=nano', '-w', file, f], /listening on/, 4);
    expect(fs.readFileSync(file).readUInt32LE(0)).toBe(0xa1b23c4d);
    expect(expectAgreesWithTshark(file)).toBeGreaterThanOrEqual(5);
    expect(realDatagrams(file)).toBe(4);
  });

  it('dumpcap -w (pcapng, with statistics)', async () => {
    const file = path.join(dir, 'dumpcap.pcapng');
    await captureUdp('dumpcap', file, (f) => ['-i', 'lo', '-w', file, '-f', f], /Capturing on/, 3);
    expect(expectAgreesWithTshark(file)).toBeGreaterThanOrEqual(4);
    expect(realDatagrams(file)).toBe(3);
    const { result } = readAll(file);
    expect(result.format).toBe('pcapng');
    expect(result.interfaces[0]).toMatchObject({ index: 0, linktype: 1, name: 'lo' });
    expect(result.drops).toBe(0);
  });
});
