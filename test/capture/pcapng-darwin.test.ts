/**
 * Apple's process blocks and packet options, read from two captures written by Apple's own
 * tcpdump (fixtures/darwin/, provenance in fixtures/README.md). Expected values: the facts of
 * those captures (Apple's test suite) and tshark's pcapng file dissector (`-X read_format:MIME
 * Files Format`), never our own output.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCaptureFile } from '../../src/capture/read-file.js';
import type { ReadResult } from '../../src/capture/read-result.js';
import type { PktapProcess } from '../../src/capture/packet.js';
import { tsharkFields } from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';
import { toBigEndian } from '../helpers/pcapng-swap.js';
import { tmpDir } from './helpers.js';

const IPERF = path.resolve('fixtures/darwin/radar-101007576-iperf.pcapng');
const UTUN = path.resolve('fixtures/darwin/radar-88502733.pcapng');
const UUID = 'fb1bb7b1-7daf-3973-b5da-9383b19a8994';
const FILE_FORMAT = ['-X', 'read_format:MIME Files Format'];

const dir = tmpDir('oa-darwin-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Tagged {
  process: PktapProcess | null;
  effective: PktapProcess | null;
  serviceClass: number;
  flags: number;
  direction: number;
}

function readTagged(file: string): { result: ReadResult; packets: Tagged[]; table: readonly PktapProcess[] } {
  const packets: Tagged[] = [];
  let table: readonly PktapProcess[] = [];
  const result = readCaptureFile(file, (p) => {
    table = p.pktapProcesses ?? [];
    packets.push({
      process: p.pktapProcess < 0 ? null : p.pktapProcesses![p.pktapProcess],
      effective: p.pktapEffective < 0 ? null : p.pktapProcesses![p.pktapEffective],
      serviceClass: p.serviceClass, flags: p.pktapFlags, direction: p.direction,
    });
  });
  return { result, packets, table };
}

function writeCopy(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('Apple pktap blocks: the facts of the captures', () => {
  it('iperf on lo0: three PIBs by index (same pid twice, with and without UUID), every packet tagged', () => {
    const { result, packets, table } = readTagged(IPERF);
    expect(result.warnings).toEqual([]);
    expect(table).toEqual([
      { pid: 53245, name: 'iperf', path: null, uuid: UUID },
      { pid: 53147, name: 'iperf', path: null, uuid: UUID },
      { pid: 53245, name: 'iperf', path: null, uuid: null },
    ]);
    expect(packets).toHaveLength(24);
    expect(packets.every((p) => p.process !== null && p.effective === null)).toBe(true);
  });

  it('utun3: pid 554 packetdrill, the SYN of service class 900 (control), the last packet (RST) without a process', () => {
    const { result, packets, table } = readTagged(UTUN);
    expect(result.warnings).toEqual([]);
    expect(table).toEqual([{ pid: 554, name: 'packetdrill', path: null, uuid: null }]);
    expect(packets.map((p) => p.process?.pid ?? null)).toEqual([554, 554, 554, null]);
    expect(packets[0].serviceClass).toBe(900);
    expect(packets.map((p) => p.direction)).toEqual([2, 1, 2, 2]);
  });

  it('a capture without Apple blocks leaves every pktap field at -1', () => {
    const { packets } = readTagged(path.resolve('fixtures/pull-dumpcap.pcapng'));
    expect(packets.length).toBeGreaterThan(0);
    expect(packets.every((p) => p.process === null && p.serviceClass === -1 && p.direction === -1)).toBe(true);
  });

  it('a name written with a trailing NUL (libpcap 1.9.1) reads without it', () => {
    const bytes = Buffer.from(fs.readFileSync(IPERF));
    const at = bytes.indexOf(Buffer.from('iperf'));
    expect(bytes.readUInt16LE(at - 2)).toBe(5);
    bytes.writeUInt16LE(6, at - 2); // the option now covers the padding NUL after "iperf"
    const { table } = readTagged(writeCopy('nul.pcapng', bytes));
    expect(table[0].name).toBe('iperf');
  });

  it('a second section counts its PIBs from 0 again', () => {
    const one = fs.readFileSync(UTUN);
    const two = fs.readFileSync(IPERF);
    const { packets, table } = readTagged(writeCopy('two-sections.pcapng', Buffer.concat([one, two])));
    expect(table.map((p) => p.pid)).toEqual([554, 53245, 53147, 53245]);
    // The iperf section's packets name its PIBs 0..2, i.e. table entries 1..3, never packetdrill.
    expect(packets.slice(4).every((p) => p.process !== null && p.process.name === 'iperf')).toBe(true);
    expect(packets.slice(4).map((p) => p.process!.pid)).toEqual(readTagged(IPERF).packets.map((p) => p.process!.pid));
  });
});

describe('Apple pktap blocks: sections of both byte orders in one file', () => {
  it('a little-endian section then a big-endian one: each reads its own PIBs and options', () => {
    const le = fs.readFileSync(UTUN);
    const be = toBigEndian(fs.readFileSync(IPERF));
    const { result, packets, table } = readTagged(writeCopy('le-be.pcapng', Buffer.concat([le, be])));
    expect(result.warnings).toEqual([]);
    expect(table).toEqual([...readTagged(UTUN).table, ...readTagged(IPERF).table]);
    expect(packets).toEqual([...readTagged(UTUN).packets, ...readTagged(IPERF).packets]);
  });
});

describeNeeding(['tshark'], 'Apple pktap blocks against tshark\'s pcapng dissector', () => {
  function oracle(file: string) {
    const [row] = tsharkFields(file, [
      'pcapng.darwin.process_id', 'pcapng.darwin.process_name', 'pcapng.darwin.process_uuid',
      'pcapng.options.option.data.packet.darwin.dpeb_id', 'pcapng.options.option.data.packet.flags.direction',
    ], undefined, FILE_FORMAT);
    return row;
  }

  for (const [name, file] of [['iperf', IPERF], ['utun', UTUN]] as const) {
    it(`${name}: PIB pids, names, UUIDs as tshark reads them`, () => {
      const o = oracle(file);
      const { table } = readTagged(file);
      expect(table.map((p) => String(p.pid))).toEqual(o['pcapng.darwin.process_id']);
      expect(table.map((p) => p.name)).toEqual(o['pcapng.darwin.process_name']);
      expect(table.filter((p) => p.uuid !== null).map((p) => p.uuid)).toEqual(o['pcapng.darwin.process_uuid']);
    });
  }

  it('iperf: each packet\'s process index and direction as tshark reads them', () => {
    const o = oracle(IPERF);
    const { packets, table } = readTagged(IPERF);
    expect(packets.map((p) => String(table.indexOf(p.process!)))).toEqual(o['pcapng.options.option.data.packet.darwin.dpeb_id']);
    expect(packets.map((p) => `0x${p.direction.toString(16).padStart(4, '0')}`)).toEqual(o['pcapng.options.option.data.packet.flags.direction']);
  });

  for (const [name, file] of [['iperf', IPERF], ['utun', UTUN]] as const) {
    it(`${name}: a big-endian copy (tshark reads it alike) gives the same processes and packets`, () => {
      const be = writeCopy(`${name}-be.pcapng`, toBigEndian(fs.readFileSync(file)));
      expect(fs.readFileSync(be).readUInt32BE(8)).toBe(0x1a2b3c4d);
      expect(oracle(be)).toEqual(oracle(file));
      const fields = ['frame.len', 'ip.src', 'ip.dst', 'frame.time_epoch'];
      expect(tsharkFields(be, fields)).toEqual(tsharkFields(file, fields));
      const a = readTagged(file);
      const b = readTagged(be);
      expect(b.result.warnings).toEqual([]);
      expect(b.table).toEqual(a.table);
      expect(b.packets).toEqual(a.packets);
    });
  }
});

describe('Apple pktap blocks: truncated and corrupt files', () => {
  it('every truncation of both captures: no crash, at most one one-line warning, packets before it kept', () => {
    for (const file of [IPERF, UTUN]) {
      const bytes = fs.readFileSync(file);
      const whole = readTagged(file).packets;
      const shbLen = bytes.readUInt32LE(4);
      const step = Math.max(1, Math.floor(bytes.length / 1500));
      for (let cut = 1; cut < bytes.length; cut += step) {
        const copy = writeCopy('cut.pcapng', bytes.subarray(0, cut));
        let r: ReturnType<typeof readTagged>;
        try {
          r = readTagged(copy);
        } catch (e) {
          // Only a file too short for its first section header is refused, with one line.
          expect(cut).toBeLessThan(shbLen);
          expect(String((e as Error).message)).not.toContain('\n');
          continue;
        }
        expect(r.result.warnings.length).toBeLessThanOrEqual(1);
        for (const w of r.result.warnings) expect(w).not.toContain('\n');
        expect(r.packets).toEqual(whole.slice(0, r.packets.length));
      }
    }
  });

  it('a PIB too short for its pid stops the read there with one line naming its offset', () => {
    const bytes = Buffer.from(fs.readFileSync(UTUN));
    const pib = findBlock(bytes, 0x80000001);
    // Shrink the PIB to 12 bytes (no body) and pad the freed bytes as an unknown block that follows.
    const len = bytes.readUInt32LE(pib + 4);
    bytes.writeUInt32LE(12, pib + 4);
    bytes.writeUInt32LE(12, pib + 8);
    bytes.writeUInt32LE(0x0bad, pib + 12);
    bytes.writeUInt32LE(len - 12, pib + 16);
    bytes.writeUInt32LE(len - 12, pib + len - 4);
    const r = readTagged(writeCopy('short-pib.pcapng', bytes));
    expect(r.result.warnings).toEqual([`corrupt process information block: 0 body bytes, a pid needs 4 at byte ${pib}`]);
    expect(r.result.stoppedAt).toBe(pib);
    expect(r.packets).toEqual([]);
  });

  it('corrupt option lengths and process indexes past the table: no crash, no process invented', () => {
    const bytes = fs.readFileSync(IPERF);
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 300; round++) {
      const copy = Buffer.from(bytes);
      const shbLen = bytes.readUInt32LE(4);
      for (let k = 0; k < 4; k++) copy[shbLen + Math.floor(rand() * (copy.length - shbLen))] = Math.floor(rand() * 256);
      const r = readTagged(writeCopy('flip.pcapng', copy));
      for (const w of r.result.warnings) expect(w).not.toContain('\n');
      for (const p of r.packets) {
        if (p.process !== null) expect(r.table).toContain(p.process);
      }
    }
  });

  it('a process index past the section\'s PIBs reads as no process', () => {
    const bytes = Buffer.from(fs.readFileSync(UTUN));
    const epb = findBlock(bytes, 6);
    const opt = findOption(bytes, epb, 0x8001);
    bytes.writeUInt32LE(1, opt + 4); // PIB 1: the section has only PIB 0
    const r = readTagged(writeCopy('bad-index.pcapng', bytes));
    expect(r.result.warnings).toEqual([]);
    expect(r.packets[0].process).toBeNull();
    expect(r.packets[1].process?.pid).toBe(554);
  });
});

function findBlock(b: Buffer, type: number): number {
  for (let pos = 0; pos < b.length; pos += b.readUInt32LE(pos + 4)) if (b.readUInt32LE(pos) === type) return pos;
  throw new Error(`no block of type ${type}`);
}

function findOption(b: Buffer, epb: number, code: number): number {
  let o = epb + 28 + ((b.readUInt32LE(epb + 20) + 3) & ~3);
  const end = epb + b.readUInt32LE(epb + 4) - 4;
  while (o + 4 <= end) {
    if (b.readUInt16LE(o) === code) return o;
    o += 4 + ((b.readUInt16LE(o + 2) + 3) & ~3);
  }
  throw new Error(`no option ${code}`);
}
