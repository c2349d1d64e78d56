/**
 * Flows attributed from Apple's per-packet process blocks, on the two captures Apple's tcpdump
 * wrote (fixtures/darwin/, fixtures/README.md). Expected values: the captures' facts (Apple's test
 * suite: pids, names, UUID, addresses) and tshark's reading of the packets, never our own output.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { analyzeCaptureFile } from '../../src/pipeline/analyze.js';
import { addrToString } from '../../src/decode/addr.js';
import type { Flow } from '../../src/flows/flow.js';
import { attributionMethod, createPlatformAttributor } from '../../src/attribution/os/select.js';
import { pktapProcessRole } from '../../src/knowledge/processes.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkFields } from '../helpers/tshark.js';
import { describeNeeding } from '../helpers/needs.js';
import { toBigEndian } from '../helpers/pcapng-swap.js';
import { makeFlow } from '../helpers/make-flow.js';
import { tmpDir } from '../capture/helpers.js';

const IPERF = path.resolve('fixtures/darwin/radar-101007576-iperf.pcapng');
const UTUN = path.resolve('fixtures/darwin/radar-88502733.pcapng');
const UUID = 'fb1bb7b1-7daf-3973-b5da-9383b19a8994';

const dir = tmpDir('oa-pktap-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeCopy(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function ends(f: Flow): string {
  return `${addrToString(f.initiatorAddr)}:${f.initiatorPort} -> ${addrToString(f.responderAddr)}:${f.responderPort}`;
}

/** Byte offsets of every block of a little-endian pcapng file, with their types. */
function blocks(b: Buffer): { pos: number; type: number; len: number }[] {
  const out = [];
  for (let pos = 0; pos < b.length; pos += b.readUInt32LE(pos + 4)) out.push({ pos, type: b.readUInt32LE(pos), len: b.readUInt32LE(pos + 4) });
  return out;
}

describe('flows attributed from pktap process blocks', () => {
  it('iperf on lo0: one UDP flow, each datagram counted once, the sender as process and the receiver as peer, UUID kept', () => {
    const a = analyzeCaptureFile(IPERF);
    expect(a.read.warnings).toEqual([]);
    expect(a.flows).toHaveLength(1);
    const [f] = a.flows;
    expect(f.proto).toBe(17);
    expect(ends(f)).toBe('127.0.0.1:50160 -> 127.0.0.1:5001');
    expect(f.process).toEqual({ pid: 53245, name: 'iperf', exe: null, exeUuid: UUID, source: 'pktap' });
    expect(f.peerProcess).toEqual({ pid: 53147, name: 'iperf', exe: null, exeUuid: UUID, source: 'pktap' });
    expect(f.effectiveProcess).toBeNull();
    // 24 captured packets are 12 datagrams, each seen going out and coming in.
    expect(a.packets).toBe(24);
    expect(f.packetsOut + f.packetsIn).toBe(12);
    expect(a.skips['duplicate-loopback-in']).toBe(12);
    expect(a.skips['duplicate-other-interface']).toBe(0);
  });

  it('utun3: TCP to 192.0.2.1:8080 owned by pid 554 packetdrill, no peer (one local end), all 4 packets counted', () => {
    const a = analyzeCaptureFile(UTUN);
    expect(a.flows).toHaveLength(1);
    const [f] = a.flows;
    expect(ends(f)).toBe('192.168.0.1:57734 -> 192.0.2.1:8080');
    expect(f.process).toEqual({ pid: 554, name: 'packetdrill', exe: null, exeUuid: null, source: 'pktap' });
    expect(f.peerProcess).toBeNull();
    expect(f.packetsOut + f.packetsIn).toBe(4);
    expect(a.skips['duplicate-loopback-in']).toBe(0);
  });

  it('the RST alone (the packet pktap could not tag) makes an unattributed flow', () => {
    const bytes = fs.readFileSync(UTUN);
    const all = blocks(bytes);
    const epbs = all.filter((b) => b.type === 6);
    expect(epbs).toHaveLength(4);
    const kept = all.filter((b) => b.type !== 6 || b === epbs[3]).map((b) => bytes.subarray(b.pos, b.pos + b.len));
    const a = analyzeCaptureFile(writeCopy('rst-only.pcapng', Buffer.concat(kept)));
    expect(a.flows).toHaveLength(1);
    expect(a.flows[0].process).toBeNull();
  });

  it('a packet sent by a daemon on behalf of another process (option 0x8003) names it as effective_process', () => {
    // No real capture has 0x8003: see effectiveCopy.
    const bytes = effectiveCopy();
    const o = effectiveOption(bytes);
    const a = analyzeCaptureFile(writeCopy('effective.pcapng', bytes));
    expect(a.flows[0].process?.pid).toBe(53245);
    expect(a.flows[0].effectiveProcess).toEqual({ pid: 53147, name: 'iperf' });
    // Pointing at the packet's own process is no "on behalf of": stays null.
    bytes.writeUInt32LE(0, o + 4);
    expect(analyzeCaptureFile(writeCopy('effective-self.pcapng', bytes)).flows[0].effectiveProcess).toBeNull();
  });

  it('a big-endian copy attributes the same', () => {
    const strip = (fl: Flow[]) => fl.map((f) => ({ ends: ends(f), p: f.process, q: f.peerProcess, n: f.packetsOut + f.packetsIn }));
    for (const [name, file] of [['iperf', IPERF], ['utun', UTUN]] as const) {
      const be = writeCopy(`${name}-be.pcapng`, toBigEndian(fs.readFileSync(file)));
      expect(strip(analyzeCaptureFile(be).flows)).toEqual(strip(analyzeCaptureFile(file).flows));
    }
  });
});

describeNeeding(['tshark'], 'pktap flows against tshark', () => {
  it('iperf: the flow counts what tshark shows once per direction-out copy, each way', () => {
    const rows = tsharkFields(IPERF, ['udp.srcport', 'frame.len']);
    const [f] = analyzeCaptureFile(IPERF).flows;
    const fromClient = rows.filter((r) => r['udp.srcport'][0] === '50160').length;
    const fromServer = rows.filter((r) => r['udp.srcport'][0] === '5001').length;
    expect(f.packetsOut).toBe(fromClient / 2);
    expect(f.packetsIn).toBe(fromServer / 2);
  });
});

describe('import of pktap captures into the store', () => {
  it('flows --json has process, peer_process and effective_process; processes rows keep source pktap and the UUID', async () => {
    const db = path.join(dir, 'pktap.db');
    const imp = await runCli('import', IPERF, UTUN, '--db', db);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    const out = await runCli('flows', '--db', db, '--json');
    expect(out.code).toBe(0);
    const flows = JSON.parse(out.stdout) as Record<string, unknown>[];
    const byPort = new Map(flows.map((f) => [f.responder_port, f]));
    expect(byPort.get(5001)).toMatchObject({
      proto: 'udp', initiator_port: 50160, packets_out: 11, packets_in: 1,
      process: { pid: 53245, name: 'iperf', exe: null }, peer_process: { pid: 53147, name: 'iperf', exe: null }, effective_process: null,
    });
    expect(byPort.get(8080)).toMatchObject({ process: { pid: 554, name: 'packetdrill', exe: null }, peer_process: null, effective_process: null });
    const rows = new Database(db, { readonly: true })
      .prepare('SELECT pid, comm, exe_uuid, source, role FROM processes ORDER BY pid').all();
    expect(rows).toEqual([
      { pid: 554, comm: 'packetdrill', exe_uuid: null, source: 'pktap', role: null },
      { pid: 53147, comm: 'iperf', exe_uuid: UUID, source: 'pktap', role: null },
      { pid: 53245, comm: 'iperf', exe_uuid: UUID, source: 'pktap', role: null },
    ]);
    const imp2 = await runCli('import', writeCopy('eff.pcapng', effectiveCopy()), '--db', db, '--json');
    expect(imp2.code).toBe(0);
    const sid = JSON.parse(imp2.stdout)[0].session_id;
    const eff = JSON.parse((await runCli('flows', '--db', db, '--json', '--session', String(sid))).stdout);
    expect(eff[0].effective_process).toEqual({ pid: 53147, name: 'iperf' });
    const text = (await runCli('flows', '--db', db, '--session', String(sid))).stdout;
    expect(text).toContain('iperf[53245](for iperf[53147])→iperf[53147]');
  });
});

/**
 * The iperf capture with the third packet's flow-id option (0x8005, u32) turned into an
 * effective-process option pointing at PIB 1 (pid 53147), the rest of the bytes untouched. The
 * third packet: the first out copy after PIB 1's block (a packet can only name a PIB before it).
 */
function effectiveCopy(): Buffer {
  const bytes = Buffer.from(fs.readFileSync(IPERF));
  const o = effectiveOption(bytes);
  bytes.writeUInt16LE(0x8003, o);
  bytes.writeUInt32LE(1, o + 4);
  return bytes;
}

function effectiveOption(bytes: Buffer): number {
  const epb = blocks(bytes).filter((b) => b.type === 6)[2];
  let o = epb.pos + 28 + ((bytes.readUInt32LE(epb.pos + 20) + 3) & ~3);
  while (bytes.readUInt16LE(o) !== 0x8005 && bytes.readUInt16LE(o) !== 0x8003) o += 4 + ((bytes.readUInt16LE(o + 2) + 3) & ~3);
  return o;
}

describe('the macOS Ollama tree by pktap name and path', () => {
  it('app bundle, Homebrew and runner paths; 16-byte names', () => {
    expect(pktapProcessRole('Ollama', '/Applications/Ollama.app/Contents/MacOS/Ollama')).toBe('app');
    expect(pktapProcessRole('ollama', '/Applications/Ollama.app/Contents/Resources/ollama')).toBe('server');
    expect(pktapProcessRole('ollama', '/opt/homebrew/opt/ollama/bin/ollama')).toBe('server');
    expect(pktapProcessRole('ollama', '/usr/local/Cellar/ollama/0.12.0/bin/ollama')).toBe('server');
    expect(pktapProcessRole('llama-server', '/opt/homebrew/opt/ollama/libexec/lib/ollama/llama-server')).toBe('runner');
    expect(pktapProcessRole('llama-server', null)).toBe('runner');
    expect(pktapProcessRole('ollama_llama_ser', null)).toBe('runner'); // ollama_llama_server cut to p_comm's 16 bytes
    expect(pktapProcessRole('ollama_llama_se', null)).toBe('runner'); // Linux's 15
    expect(pktapProcessRole('iperf', null)).toBeNull();
    expect(pktapProcessRole('ollama-ish', '/opt/homebrew/bin/ollama-ish')).toBeNull();
  });
});

describe('attribution chosen by platform', () => {
  it('linux reads procfs, darwin takes pktap tags, anything else is refused with one line', () => {
    expect(attributionMethod('linux')).toBe('procfs');
    expect(attributionMethod('darwin')).toBe('pktap');
    expect(attributionMethod('win32')).toBeNull();
    expect(() => createPlatformAttributor({}, 'win32')).toThrow(/^live attribution is not supported on win32 [^\n]*$/);
  });

  it('the darwin attributor answers from the flow\'s pktap names: roles by path, unattributed flows counted', () => {
    const att = createPlatformAttributor({}, 'darwin');
    const named = makeFlow({ process: { pid: 700, name: 'ollama', exe: '/Applications/Ollama.app/Contents/Resources/ollama', source: 'pktap' } });
    const unknown = makeFlow({ id: 2 });
    att.attributeFlow(named);
    att.attributeFlow(unknown);
    expect(att.lookup(6, Buffer.from([127, 0, 0, 1]), 1, Buffer.from([127, 0, 0, 1]), 2)).toBeNull();
    expect(att.processOf(named)).toMatchObject({ pid: 700, comm: 'ollama', role: 'server', ollamaTree: true, source: 'pktap', exeUuid: null });
    expect(att.processOf(unknown)).toBeNull();
    expect(att.stats()).toMatchObject({ lookups: 2, unattributed: 1 });
    att.close();
  });
});

describe('corrupt process blocks and options through the whole pipeline', () => {
  it('random bytes in PIBs and EPB option areas: no crash, one-line warnings, only processes of the file', () => {
    const bytes = fs.readFileSync(IPERF);
    const targets: number[] = [];
    for (const b of blocks(bytes)) {
      if (b.type === 0x80000001) for (let i = b.pos + 8; i < b.pos + b.len - 4; i++) targets.push(i);
      if (b.type === 6) {
        const opts = b.pos + 28 + ((bytes.readUInt32LE(b.pos + 20) + 3) & ~3);
        for (let i = opts; i < b.pos + b.len - 4; i++) targets.push(i);
      }
    }
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 200; round++) {
      const copy = Buffer.from(bytes);
      for (let k = 0; k < 3; k++) copy[targets[Math.floor(rand() * targets.length)]] = Math.floor(rand() * 256);
      const a = analyzeCaptureFile(writeCopy('flip.pcapng', copy));
      for (const w of a.read.warnings) expect(w).not.toContain('\n');
      // Packets are counted once each, whatever the tags say; blocks are never misread as more packets.
      expect(a.packets).toBeLessThanOrEqual(24);
      let counted = 0;
      for (const f of a.flows) counted += f.packetsOut + f.packetsIn;
      expect(counted + a.skips['duplicate-loopback-in'] + a.skips['duplicate-other-interface']).toBeLessThanOrEqual(a.packets);
    }
  });
});

describe('import --help', () => {
  it('says that macOS tcpdump -k process blocks are read', async () => {
    // Commander wraps help to the terminal's width: compare the words, not the line breaks.
    const help = (await runCli('import', '--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('macOS tcpdump -k process blocks');
  });
});
