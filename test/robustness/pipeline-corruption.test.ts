import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCaptureFile } from '../../src/pipeline/analyze.js';
import { CaptureFileError } from '../../src/capture/read-result.js';
import { fixture } from '../differential/fixture-files.js';
import { mulberry32 } from '../helpers/seeded-random.js';


const dir = mkdtempSync(join(tmpdir(), 'oa-corrupt-'));

/** The whole pipeline (read, decode, flows, naming, classification) on damaged bytes: never a crash. */
function analyzeBytes(bytes: Buffer, name: string): { ok: boolean; packets: number } {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  try {
    const r = analyzeCaptureFile(file);
    // Every packet is in exactly one flow or counted under exactly one skip reason.
    const inFlows = r.flows.reduce((n, f) => n + f.packetsOut + f.packetsIn, 0);
    expect(Object.values(r.skips).every((n) => n >= 0)).toBe(true);
    expect(inFlows + Object.values(r.skips).reduce((a, b) => a + b, 0)).toBe(r.packets);
    if (r.read.stoppedAt !== null) expect(r.read.warnings.length).toBeGreaterThan(0);
    for (const w of r.read.warnings) expect(w).toMatch(/byte \d+/);
    return { ok: true, packets: r.packets };
  } catch (err) {
    expect(err).toBeInstanceOf(CaptureFileError);
    expect((err as Error).message.length).toBeGreaterThan(10);
    return { ok: false, packets: 0 };
  }
}

describe('the pipeline on damaged real captures', () => {
  it('every truncation point of a small real capture (VLAN/QinQ, 802.1Q + IPv6 + DNS + HTTP)', () => {
    const bytes = readFileSync(fixture('vlan-qinq.pcap'));
    const whole = analyzeCaptureFile(fixture('vlan-qinq.pcap')).packets;
    let previous = 0;
    for (let n = 0; n <= bytes.length; n++) {
      const r = analyzeBytes(bytes.subarray(0, n), 'cut.pcap');
      if (n < 24) expect(r.ok).toBe(false); // no whole pcap header: not a capture
      else {
        expect(r.ok).toBe(true);
        expect(r.packets).toBeGreaterThanOrEqual(previous); // a longer prefix never yields fewer packets
        previous = r.packets;
      }
    }
    expect(previous).toBe(whole);
  });

  it('random byte flips in real pcap and pcapng captures (fixed seed), packet contents included', () => {
    const rand = mulberry32(20261123);
    for (const name of ['pull-any-sll2.pcap', 'pull-dumpcap.pcapng']) {
      const original = readFileSync(fixture(name));
      const total = analyzeCaptureFile(fixture(name)).packets;
      for (let round = 0; round < 150; round++) {
        const bytes = Buffer.from(original);
        const flips = 1 + Math.floor(rand() * 16);
        for (let i = 0; i < flips; i++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        const r = analyzeBytes(bytes, name);
        // A flip cannot invent packets beyond what the file's records can hold (SPB/EPB counts stay bounded).
        if (r.ok) expect(r.packets).toBeLessThanOrEqual(total + 4);
      }
    }
  });

  it('random flips inside the packets of the fragment and keep-alive captures (reassembly, sliding HTTP windows)', () => {
    const rand = mulberry32(11434);
    for (const name of ['dns-fragments.pcap', 'api-keepalive.pcap']) {
      const original = readFileSync(fixture(name));
      const total = analyzeCaptureFile(fixture(name)).packets;
      // Packet bytes only (little-endian classic pcap: 24-byte file header, 16-byte record headers),
      // so every round reads every record and the damage lands in IP, UDP/TCP, DNS and HTTP.
      const spans: [number, number][] = [];
      for (let pos = 24; pos + 16 <= original.length; pos += 16 + original.readUInt32LE(pos + 8)) {
        spans.push([pos + 16, original.readUInt32LE(pos + 8)]);
      }
      for (let round = 0; round < 200; round++) {
        const bytes = Buffer.from(original);
        const flips = 1 + Math.floor(rand() * 24);
        for (let i = 0; i < flips; i++) {
          const [at, len] = spans[Math.floor(rand() * spans.length)];
          // Headers more often than payload: the first 64 bytes hold link, IP, fragment and transport fields.
          const off = rand() < 0.6 ? Math.floor(rand() * Math.min(64, len)) : Math.floor(rand() * len);
          bytes[at + off] = Math.floor(rand() * 256);
        }
        const r = analyzeBytes(bytes, name);
        expect(r.ok).toBe(true);
        expect(r.packets).toBe(total);
      }
    }
  });
});
