/**
 * The macOS live capture path, run on Linux: the live engine with its platform set to 'darwin'
 * (the same selection code a Mac runs: capture/os/select.ts, attribution/os/select.ts) runs the
 * `tcpdump` first on PATH, here the stand-in bin/tcpdump: it writes a capture made by Apple's
 * tcpdump (fixtures/darwin/) slowly in random chunks, with its times moved to now, prints Apple's
 * statistics lines when interrupted, and records its arguments and the bytes it wrote.
 *
 * Expected values: the capture's facts (fixtures/README.md: pids 53245 -> 53147 `iperf`, UDP
 * 127.0.0.1:50160 -> 5001, 12 datagrams seen twice), `import` of the very bytes tcpdump wrote, the
 * drop count the stand-in printed, and the argument list Apple's tcpdump needs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { startLiveEngine, type LiveEngine } from '../../../src/live/engine.js';
import { runCli } from '../../helpers/run-cli.js';
import { tmpDir } from '../../capture/helpers.js';

const BIN = path.resolve(import.meta.dirname, 'bin');
const IPERF = path.resolve('fixtures/darwin/radar-101007576-iperf.pcapng');
const UTUN = path.resolve('fixtures/darwin/radar-88502733.pcapng');
const UUID = 'fb1bb7b1-7daf-3973-b5da-9383b19a8994';
const dir = tmpDir('oa-darwin-live-');
const saved = { PATH: process.env.PATH };
const FAKE_ENV = ['FAKE_TCPDUMP_CAPTURE', 'FAKE_TCPDUMP_RECORD', 'FAKE_TCPDUMP_DROPS', 'FAKE_TCPDUMP_SEED', 'FAKE_TCPDUMP_FAIL', 'FAKE_TCPDUMP_CUT', 'FAKE_TCPDUMP_CORRUPT'];

beforeAll(() => {
  process.env.PATH = `${BIN}:${process.env.PATH}`;
});
afterAll(() => {
  process.env.PATH = saved.PATH;
  for (const k of FAKE_ENV) delete process.env[k];
  fs.rmSync(dir, { recursive: true, force: true });
});

function fake(name: string, env: Record<string, string>): string {
  const record = path.join(dir, name);
  fs.mkdirSync(record);
  for (const k of FAKE_ENV) delete process.env[k];
  Object.assign(process.env, { FAKE_TCPDUMP_RECORD: record, ...env });
  return record;
}

async function packetsSeen(engine: LiveEngine, n: number, ms = 20_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} packets`)), ms);
    engine.on('stats', (s) => {
      if (s.packets >= n) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** flows --json of a store, without what names the session or row. */
async function flowsOf(db: string): Promise<Record<string, unknown>[]> {
  const out = await runCli('flows', '--db', db, '--json');
  expect(out.code).toBe(0);
  return (JSON.parse(out.stdout) as Record<string, unknown>[]).map(({ session_id: _s, id: _i, ...rest }) => rest);
}

// Root: macOS picks pktap (tcpdump) only as root; otherwise cap + lsof (lsof-fallback.test.ts).
describeNeeding(['root'], 'macOS live capture through tcpdump (platform darwin, stand-in tcpdump on PATH)', () => {
  it('runs tcpdump -i pktap,all -k -U -s 0 -w - BPF; stores the flows and pktap processes import stores for the same bytes; drops from the exit line', async () => {
    const record = fake('iperf', { FAKE_TCPDUMP_CAPTURE: IPERF, FAKE_TCPDUMP_DROPS: '7', FAKE_TCPDUMP_SEED: '3' });
    const db = path.join(dir, 'live.db');
    const warnings: string[] = [];
    const engine = startLiveEngine({ db, platform: 'darwin', evidence: 'none', filter: 'udp or tcp' });
    engine.on('warning', (w) => warnings.push(w));
    await packetsSeen(engine, 24);
    const summary = await engine.stop();

    expect(JSON.parse(fs.readFileSync(path.join(record, 'argv.json'), 'utf8'))).toEqual(
      ['-i', 'pktap,all', '-k', '-U', '-s', '0', '-w', '-', 'udp or tcp']);
    expect(summary.error).toBeNull();
    expect(summary.packets).toBe(24);
    expect(summary.kernelDrops).toBe(7);
    expect(warnings).toEqual([]);
    const session = new Database(db, { readonly: true }).prepare('SELECT source, drops, packets, attribution FROM sessions').get() as Record<string, unknown>;
    expect({ ...session, attribution: undefined }).toEqual({ source: 'pktap,all', drops: 7, packets: 24, attribution: undefined });
    // Attributed from the packets: no bpftrace was tried, and the session says pktap, not procfs.
    expect(JSON.parse(session.attribution as string)).toMatchObject({ method: 'pktap', kernel_events_since_us: null, why_not: null });

    // The capture's facts.
    const live = await flowsOf(db);
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({
      proto: 'udp', initiator_addr: '127.0.0.1', initiator_port: 50160, responder_addr: '127.0.0.1', responder_port: 5001,
      packets_out: 11, packets_in: 1,
      process: { pid: 53245, name: 'iperf', exe: null }, peer_process: { pid: 53147, name: 'iperf', exe: null }, effective_process: null,
    });
    const processes = new Database(db, { readonly: true }).prepare('SELECT pid, comm, exe_uuid, source FROM processes ORDER BY pid').all();
    expect(processes).toEqual([
      { pid: 53147, comm: 'iperf', exe_uuid: UUID, source: 'pktap' },
      { pid: 53245, comm: 'iperf', exe_uuid: UUID, source: 'pktap' },
    ]);

    // Import of the bytes tcpdump wrote stores the same flow, field for field.
    const imported = path.join(dir, 'imported.db');
    const imp = await runCli('import', path.join(record, 'written.pcapng'), '--db', imported);
    expect(imp.code).toBe(0);
    expect(live).toEqual(await flowsOf(imported));
  });

  it('the utun capture: packetdrill\'s TCP flow, its RST unattributed by pktap but the flow owned; tcpdump\'s single-packet wording', async () => {
    fake('utun', { FAKE_TCPDUMP_CAPTURE: UTUN, FAKE_TCPDUMP_DROPS: '1', FAKE_TCPDUMP_SEED: '9' });
    const db = path.join(dir, 'utun.db');
    const engine = startLiveEngine({ db, platform: 'darwin', evidence: 'none', interface: ['en0', 'utun3'] });
    await packetsSeen(engine, 4);
    const summary = await engine.stop();
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'utun', 'argv.json'), 'utf8'))).toEqual(
      ['-i', 'pktap,en0,utun3', '-k', '-U', '-s', '0', '-w', '-']);
    expect(summary.kernelDrops).toBe(1); // "1 packet dropped by kernel"
    const [flow] = await flowsOf(db);
    expect(flow).toMatchObject({ proto: 'tcp', initiator_port: 57734, responder_addr: '192.0.2.1', responder_port: 8080, process: { pid: 554, name: 'packetdrill' } });
  });

  it('output that ends inside a block: the packets before it are stored, a warning names the byte, and the packets that never arrived', async () => {
    // The iperf capture's blocks: cut 100 bytes into the 13th EPB (from the file's own block lengths).
    const bytes = fs.readFileSync(IPERF);
    const epbs: number[] = [];
    for (let pos = 0; pos < bytes.length; pos += bytes.readUInt32LE(pos + 4)) if (bytes.readUInt32LE(pos) === 6) epbs.push(pos);
    const cut = epbs[12] + 100;
    fake('cut', { FAKE_TCPDUMP_CAPTURE: IPERF, FAKE_TCPDUMP_CUT: String(cut), FAKE_TCPDUMP_SEED: '5' });
    const warnings: string[] = [];
    const engine = startLiveEngine({ db: path.join(dir, 'cut.db'), platform: 'darwin', evidence: 'none' });
    engine.on('warning', (w) => warnings.push(w));
    await packetsSeen(engine, 12);
    // Every byte the stand-in writes is out before it is stopped (else the cut would be elsewhere).
    while (!fs.existsSync(path.join(dir, 'cut', 'all-written'))) await new Promise((r) => setTimeout(r, 20));
    const summary = await engine.stop();
    expect(summary.error).toBeNull();
    expect(summary.packets).toBe(12);
    const len = bytes.readUInt32LE(epbs[12] + 4);
    expect(warnings).toEqual([
      `tcpdump's output: truncated at byte ${epbs[12]}: block of type 6 needs ${len} bytes, 100 remain`,
      'tcpdump captured 24 packets, 12 reached the audit',
    ]);
    expect(summary.kernelDrops).toBe(0);
  });

  it('a corrupt block mid-stream ends the session with one line naming the byte (not a blind session that reports silence)', async () => {
    // The 13th EPB's length field overwritten (from the file's own block lengths).
    const bytes = fs.readFileSync(IPERF);
    const epbs: number[] = [];
    for (let pos = 0; pos < bytes.length; pos += bytes.readUInt32LE(pos + 4)) if (bytes.readUInt32LE(pos) === 6) epbs.push(pos);
    fake('corrupt', { FAKE_TCPDUMP_CAPTURE: IPERF, FAKE_TCPDUMP_CORRUPT: String(epbs[12] + 4), FAKE_TCPDUMP_SEED: '5' });
    const engine = startLiveEngine({ db: path.join(dir, 'corrupt.db'), platform: 'darwin', evidence: 'none' });
    const summary = await new Promise<Awaited<ReturnType<LiveEngine['stop']>>>((resolve) => engine.on('stopped', resolve));
    expect(summary.error?.message).toMatch(new RegExp(`^tcpdump's output cannot be read past byte ${epbs[12]} \\(.+\\): the capture stopped there$`));
    expect(summary.error?.message).not.toContain('\n');
    expect(summary.packets).toBe(12);
  });

  it('a tcpdump that cannot capture: the engine stops with its message in one line and the access_bpf hint', async () => {
    fake('denied', { FAKE_TCPDUMP_FAIL: "pktap: You don't have permission to capture on that device ((cannot open BPF device) /dev/bpf0: Permission denied)" });
    const engine = startLiveEngine({ db: path.join(dir, 'denied.db'), platform: 'darwin', evidence: 'none' });
    const summary = await new Promise<Awaited<ReturnType<LiveEngine['stop']>>>((resolve) => engine.on('stopped', resolve));
    expect(summary.error?.message).toBe(
      "tcpdump exited with status 1: tcpdump: pktap: You don't have permission to capture on that device ((cannot open BPF device) /dev/bpf0: Permission denied)"
      + "; run with sudo, or join the access_bpf group (Wireshark's ChmodBPF installs it)");
    expect(summary.kernelDrops).toBeNull();
  });
  // No tcpdump on PATH is no longer an error: macOS then captures with cap and attributes by lsof
  // lookups (test/live/darwin/lsof-fallback.test.ts).
});
