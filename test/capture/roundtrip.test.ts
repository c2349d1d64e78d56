import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { createPcapngWriter } from '../../src/capture/pcapng-writer.js';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { END_OPT, block, opt, readAll, shb, tmpDir, u16, u32, u64 } from './helpers.js';

const dir = tmpDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('classic pcap round trip', () => {
  for (const littleEndian of [true, false]) {
    for (const nano of [false, true]) {
      it(`${littleEndian ? 'LE' : 'BE'} ${nano ? 'ns' : 'µs'}`, () => {
        const file = path.join(dir, `rt-${littleEndian}-${nano}.pcap`);
        const w = createPcapWriter(file, { linktype: 113, snaplen: 200, littleEndian, nano });
        // 1.5 µs only survives at ns resolution; at µs the writer rounds to 2.
        const ts = [1700000000000000, 1700000000000001.5, 1700000123999999];
        const data = [bytes(60, 1), bytes(200, 2), bytes(0, 3)];
        const orig = [60, 1514, 0];
        for (let i = 0; i < 3; i++) w.writePacket(ts[i], data[i], 0, data[i].length, orig[i]);
        w.close();
        expect(w.bytesWritten).toBe(24 + 3 * 16 + 260);
        expect(fs.statSync(file).size).toBe(w.bytesWritten);
        const { result, packets } = readAll(file);
        expect(result.format).toBe('pcap');
        expect(result.interfaces).toEqual([{ index: 0, linktype: 113, name: null, description: null, snaplen: 200 }]);
        expect(result.packets).toBe(3);
        expect(result.stoppedAt).toBeNull();
        expect(result.warnings).toEqual([]);
        expect(result.bytesRead).toBe(result.fileSize);
        expect(result.drops).toBeNull();
        expect(packets.map((p) => p.ts)).toEqual([ts[0], nano ? ts[1] : 1700000000000002, ts[2]]);
        expect(packets.map((p) => p.origLen)).toEqual(orig);
        for (let i = 0; i < 3; i++) {
          expect(packets[i].data.equals(data[i])).toBe(true);
          expect(packets[i]).toMatchObject({ caplen: data[i].length, linktype: 113, iface: 0, comment: null });
        }
      });
    }
  }

  it('masks the FCS bits of the link-type field and reads hand-built BE nanosecond bytes', () => {
    // Link type 1 with "FCS present, 4 bytes" (0x04000000 | 2 << 28) as libpcap writes it.
    const hdr = Buffer.from('a1b23c4d00020004000000000000000000000100' + '24000001', 'hex');
    const rec = Buffer.from('6553f100' + '075bcd15' + '00000004' + '00000040' + 'deadbeef', 'hex');
    const file = path.join(dir, 'fcs.pcap');
    fs.writeFileSync(file, Buffer.concat([hdr, rec]));
    const { result, packets } = readAll(file);
    expect(result.interfaces[0].linktype).toBe(1);
    expect(result.interfaces[0].snaplen).toBe(256);
    // 0x6553f100 = 1700000000 s, 0x075bcd15 = 123456789 ns.
    expect(packets).toHaveLength(1);
    expect(packets[0].ts).toBe(1700000000 * 1e6 + 123456.789);
    expect(packets[0].origLen).toBe(64);
    expect(packets[0].data.toString('hex')).toBe('deadbeef');
  });
});

describe('pcapng round trip', () => {
  for (const littleEndian of [true, false]) {
    it(`${littleEndian ? 'LE' : 'BE'}: two interfaces, µs and ns, comments`, () => {
      const file = path.join(dir, `rt-${littleEndian}.pcapng`);
      const w = createPcapngWriter(file, { littleEndian, userAppl: 'ollama-audit test', mode: 0o600 });
      expect(w.addInterface({ linktype: 1, snaplen: 65535, name: 'eth0' })).toBe(0);
      expect(w.addInterface({ linktype: 276, snaplen: 262144, name: 'any', tsresol: 9 })).toBe(1);
      const rows = [
        { i: 0, ts: 1700000000123456, data: bytes(61, 1), orig: 61, comment: 'PID: 1234 Cmd: curl' },
        { i: 1, ts: 1700000000123456.75, data: bytes(100, 2), orig: 1500, comment: null },
        { i: 1, ts: 1700000001000000, data: bytes(3, 3), orig: 3, comment: 'naïve ✓ ünïcode' },
        { i: 0, ts: 1, data: bytes(4, 4), orig: 4, comment: '' },
      ];
      for (const r of rows) w.writePacket(r.i, r.ts, r.data, 0, r.data.length, r.orig, r.comment);
      w.close();
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
      expect(fs.statSync(file).size).toBe(w.bytesWritten);
      const { result, packets } = readAll(file);
      expect(result.format).toBe('pcapng');
      expect(result.interfaces).toEqual([
        { index: 0, linktype: 1, name: 'eth0', description: null, snaplen: 65535 },
        { index: 1, linktype: 276, name: 'any', description: null, snaplen: 262144 },
      ]);
      expect(result).toMatchObject({ packets: 4, stoppedAt: null, warnings: [], drops: null, bytesRead: result.fileSize });
      expect(packets).toHaveLength(4);
      rows.forEach((r, k) => {
        expect(packets[k].iface).toBe(r.i);
        expect(packets[k].linktype).toBe(r.i === 0 ? 1 : 276);
        expect(packets[k].ts).toBe(r.ts);
        expect(packets[k].origLen).toBe(r.orig);
        expect(packets[k].data.equals(r.data)).toBe(true);
        // An empty comment is written as no option at all.
        expect(packets[k].comment).toBe(r.comment === '' ? null : r.comment);
      });
    });
  }

  it('buffers writes yet loses nothing across several MiB', () => {
    const file = path.join(dir, 'big.pcapng');
    const w = createPcapngWriter(file);
    w.addInterface({ linktype: 101, snaplen: 262144 });
    const big = bytes(200000, 9);
    for (let i = 0; i < 40; i++) w.writePacket(0, 1e15 + i, big, i, 200000 - i, 200000 - i, i % 7 === 0 ? `n${i}` : null);
    w.close();
    let n = 0;
    const r = readCaptureFile(file, (p) => {
      expect(p.caplen).toBe(200000 - n);
      expect(p.buf[p.off]).toBe(big[n]);
      expect(p.buf[p.off + p.caplen - 1]).toBe(big[199999]);
      expect(p.comment).toBe(n % 7 === 0 ? `n${n}` : null);
      n++;
    });
    expect(n).toBe(40);
    expect(r.stoppedAt).toBeNull();
  });
});

describe('pcapng hand-built blocks', () => {
  /** EPB body: interface, ts high, ts low, caplen, origlen, data, options. */
  function epb(le: boolean, iface: number, high: number, low: number, data: Buffer, orig: number, options: Buffer = Buffer.alloc(0)): Buffer {
    const pad = Buffer.alloc(((data.length + 3) & ~3) - data.length);
    return block(6, Buffer.concat([u32(iface, le), u32(high, le), u32(low, le), u32(data.length, le), u32(orig, le), data, pad, options]), le);
  }
  function idb(le: boolean, linktype: number, snaplen: number, options: Buffer = Buffer.alloc(0)): Buffer {
    return block(1, Buffer.concat([u16(linktype, le), u16(0, le), u32(snaplen, le), options]), le);
  }

  for (const le of [true, false]) {
    it(`${le ? 'LE' : 'BE'}: power-of-two and decimal resolutions, tsoffset, SPB, PB, ISB, NRB, custom blocks`, () => {
      const ns = 1700000000123456789n;
      const nsHigh = Number(ns >> 32n);
      const nsLow = Number(ns & 0xffffffffn);
      const file = path.join(dir, `hand-${le}.pcapng`);
      fs.writeFileSync(file, Buffer.concat([
        shb(le),
        // if 0: 2^-20 s units, offset +1000 s; if_description set.
        idb(le, 1, 96, Buffer.concat([opt(9, Buffer.from([0x80 | 20]), le), opt(14, u64(1000n, le), le), opt(3, Buffer.from('loopback, sort of'), le), END_OPT(le)])),
        // if 1: nanoseconds, with a name.
        idb(le, 101, 0, Buffer.concat([opt(2, Buffer.from('wlan0'), le), opt(9, Buffer.from([9]), le), END_OPT(le)])),
        // high=1, low=2^19 at 2^-20 s: 4096.5 s, plus 1000 s offset = 5096.5 s.
        // Two opt_comment options, as ptcpdump writes them (process, then parent): both kept, joined by a newline.
        epb(le, 0, 1, 0x80000, Buffer.from('abcde'), 5, Buffer.concat([opt(1, Buffer.from('first'), le), opt(1, Buffer.from('ParentPID: 1'), le), END_OPT(le)])),
        block(0x00000bad, Buffer.from('custom block, copy me or not'), le),
        block(0x40000bad, Buffer.from('custom block, do not copy'), le),
        block(0x12345678, Buffer.alloc(40, 7), le),
        epb(le, 1, nsHigh, nsLow, Buffer.alloc(10, 1), 10),
        // SPB: origlen 200 but snaplen 96 and only 100 data bytes in the block -> caplen 96.
        block(3, Buffer.concat([u32(200, le), Buffer.alloc(100, 2)]), le),
        // SPB: origlen 3 with 4 data bytes (padding) -> caplen 3.
        block(3, Buffer.concat([u32(3, le), Buffer.from('xyz')]), le),
        // Obsolete PB: iface (16 bits), drops_count, ts, caplen, len, data. 2^20 units = 1 s + offset.
        block(2, Buffer.concat([u16(0, le), u16(0xffff, le), u32(0, le), u32(1 << 20, le), u32(2, le), u32(9, le), Buffer.from('pb')]), le),
        // ISB for if 0 twice (cumulative: only the last counts) and once for if 1.
        block(5, Buffer.concat([u32(0, le), u32(0, le), u32(0, le), opt(5, u64(3n, le), le), END_OPT(le)]), le),
        block(5, Buffer.concat([u32(0, le), u32(0, le), u32(0, le), opt(4, u64(99n, le), le), opt(5, u64(7n, le), le), END_OPT(le)]), le),
        block(5, Buffer.concat([u32(1, le), u32(0, le), u32(0, le), opt(5, u64(5n, le), le), END_OPT(le)]), le),
        block(4, Buffer.concat([
          opt(1, Buffer.concat([Buffer.from([127, 0, 0, 1]), Buffer.from('localhost\0lo\0')]), le),
          opt(2, Buffer.concat([Buffer.from('2606470000000000000000000000abcd', 'hex'), Buffer.from('registry.ollama.ai\0')]), le),
          opt(2, Buffer.concat([Buffer.from('00000000000000000000000000000001', 'hex'), Buffer.from('ip6-localhost\0')]), le),
          END_OPT(le),
        ]), le),
      ]));
      const { result, packets } = readAll(file);
      expect(result).toMatchObject({ format: 'pcapng', packets: 5, stoppedAt: null, warnings: [], drops: 12 });
      expect(result.interfaces).toEqual([
        { index: 0, linktype: 1, name: null, description: 'loopback, sort of', snaplen: 96 },
        { index: 1, linktype: 101, name: 'wlan0', description: null, snaplen: 0 },
      ]);
      expect(result.nameResolution).toEqual([
        { addr: '127.0.0.1', names: ['localhost', 'lo'] },
        { addr: '2606:4700::abcd', names: ['registry.ollama.ai'] },
        { addr: '::1', names: ['ip6-localhost'] },
      ]);
      expect(packets.map((p) => p.ts)).toEqual([5096.5e6, 1700000000123456.789, 1700000000123456.789, 1700000000123456.789, 1001e6]);
      expect(packets.map((p) => [p.iface, p.linktype, p.caplen, p.origLen])).toEqual([
        [0, 1, 5, 5], [1, 101, 10, 10], [0, 1, 96, 200], [0, 1, 3, 3], [0, 1, 2, 9],
      ]);
      expect(packets.map((p) => p.comment)).toEqual(['first\nParentPID: 1', null, null, null, null]);
      expect(packets[0].data.toString()).toBe('abcde');
      expect(packets[3].data.toString()).toBe('xyz');
      expect(packets[4].data.toString()).toBe('pb');
    });
  }

  it('two sections of opposite byte order: interfaces restart per section, numbered across the file', () => {
    const file = path.join(dir, 'two-sections.pcapng');
    fs.writeFileSync(file, Buffer.concat([
      shb(true),
      idb(true, 1, 65535),
      epb(true, 0, 0, 10, Buffer.from('one'), 3),
      shb(false),
      idb(false, 113, 65535),
      idb(false, 228, 65535),
      epb(false, 1, 0, 20, Buffer.from('two'), 3),
      epb(false, 0, 0, 30, Buffer.from('three'), 5),
      // Interface 2 does not exist in this section: corrupt, reading stops here.
      epb(false, 2, 0, 40, Buffer.from('four'), 4),
    ]));
    const { result, packets } = readAll(file);
    expect(result.interfaces.map((i) => [i.index, i.linktype])).toEqual([[0, 1], [1, 113], [2, 228]]);
    expect(packets.map((p) => [p.iface, p.linktype, p.ts, p.data.toString()])).toEqual([
      [0, 1, 10, 'one'], [2, 228, 20, 'two'], [1, 113, 30, 'three'],
    ]);
    expect(result.packets).toBe(3);
    const lastAt = result.fileSize - 36; // the last EPB: 12 + 20 + 4 bytes
    expect(result.stoppedAt).toBe(lastAt);
    expect(result.warnings).toEqual([`corrupt packet block at byte ${lastAt}: interface 2 not described (section has 2)`]);
  });

  it('a later section of an unknown major version stops with a warning; a first one throws', () => {
    const file = path.join(dir, 'v2.pcapng');
    const first = Buffer.concat([shb(true), idb(true, 1, 0), epb(true, 0, 0, 1, Buffer.from('a'), 1)]);
    fs.writeFileSync(file, Buffer.concat([first, shb(true, 2), idb(true, 1, 0)]));
    const r = readCaptureFile(file, () => {});
    expect(r.packets).toBe(1);
    expect(r.stoppedAt).toBe(first.length);
    expect(r.warnings[0]).toMatch(/unsupported pcapng version 2\.0 at byte/);
    fs.writeFileSync(file, Buffer.concat([shb(false, 2), idb(false, 1, 0)]));
    expect(() => readCaptureFile(file, () => {})).toThrow(/pcapng version 2\.0/);
  });

  it('a mismatched trailer or an absurd length stops at that block', () => {
    const head = Buffer.concat([shb(true), idb(true, 1, 0), epb(true, 0, 0, 1, Buffer.from('ok'), 2)]);
    const bad = epb(true, 0, 0, 2, Buffer.from('bad'), 3);
    bad.writeUInt32LE(999, bad.length - 4);
    const file = path.join(dir, 'trailer.pcapng');
    fs.writeFileSync(file, Buffer.concat([head, bad, epb(true, 0, 0, 3, Buffer.from('x'), 1)]));
    let r = readCaptureFile(file, () => {});
    expect(r).toMatchObject({ packets: 1, stoppedAt: head.length, bytesRead: head.length });
    expect(r.warnings).toEqual([`corrupt block at byte ${head.length}: trailing length 999 differs from leading length ${bad.length}`]);
    const huge = Buffer.concat([u32(6, true), u32(0x7ffffff0, true), Buffer.alloc(64)]);
    fs.writeFileSync(file, Buffer.concat([head, huge]));
    r = readCaptureFile(file, () => {});
    expect(r).toMatchObject({ packets: 1, stoppedAt: head.length });
    expect(r.warnings[0]).toBe(`corrupt block at byte ${head.length}: length 2147483632 exceeds the 64 MiB limit`);
  });
});

describe('progress', () => {
  it('reports about every 4 MiB and once at the end', () => {
    const file = path.join(dir, 'progress.pcap');
    const w = createPcapWriter(file, { linktype: 1 });
    const data = bytes(1000, 5);
    for (let i = 0; i < 10000; i++) w.writePacket(i, data, 0, 1000, 1000); // ~10 MB
    w.close();
    const calls: number[] = [];
    const r0size = fs.statSync(file).size;
    const r = readCaptureFile(file, () => {}, { onProgress: (done, size) => { calls.push(done); expect(size).toBe(r0size); } });
    expect(r.packets).toBe(10000);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(calls[calls.length - 1]).toBe(r0size);
  });
});
