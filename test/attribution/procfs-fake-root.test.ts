/**
 * A hand-built proc root: every file the attributor reads, with values chosen here, so that
 * pid reuse, namespaces, unowned sockets and debouncing can be driven step by step.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProcfsAttributor } from '../../src/attribution/procfs-attributor.js';
import type { Attributor, ProcessInfo } from '../../src/attribution/attributor.js';
import { itNeeding } from '../helpers/needs.js';
import { LO6, sha256sum, synFlow, v4 } from './procfs-helpers.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const BTIME = 1_700_000_000;

/**
 * One /proc/net/{tcp,udp,tcp6,udp6} line; addresses as dotted quads or '::1', converted the way a
 * little-endian kernel prints them (each 32-bit word in host order).
 */
function tcpLine(local: string, lport: number, remote: string, rport: number, state: number, inode: number, uid = 1000): string {
  const bytes = (a: string): Buffer => (a === '::1' ? LO6 : a === '::' ? Buffer.alloc(16) : Buffer.from(a.split('.').map(Number)));
  const hex = (a: string): string => {
    const b = bytes(a);
    let out = '';
    for (let i = 0; i < b.length; i += 4) out += b.readUInt32LE(i).toString(16).toUpperCase().padStart(8, '0');
    return out;
  };
  const port = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
  const st = state.toString(16).toUpperCase().padStart(2, '0');
  return `   0: ${hex(local)}:${port(lport)} ${hex(remote)}:${port(rport)} ${st} 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 1 0000000000000000\n`;
}

interface FakeProc {
  pid: number;
  comm: string;
  ppid?: number;
  startTicks: number;
  cmdline: string[];
  exe?: string;
  sockets: number[];
  netns?: string;
  net?: string;
}

let root: string;
const exeFile = (): string => join(root, 'bin-file');

function writeProc(p: FakeProc): void {
  const d = join(root, String(p.pid));
  rmSync(d, { recursive: true, force: true });
  mkdirSync(join(d, 'fd'), { recursive: true });
  writeFileSync(join(d, 'stat'), `${p.pid} (${p.comm}) S ${p.ppid ?? 1} ${p.pid} ${p.pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${p.startTicks} 1000 10\n`);
  writeFileSync(join(d, 'status'), `Name:\t${p.comm}\nUid:\t1000\t1000\t1000\t1000\n`);
  writeFileSync(join(d, 'cmdline'), `${p.cmdline.join('\0')}\0`);
  symlinkSync(p.exe ?? exeFile(), join(d, 'exe'));
  p.sockets.forEach((ino, i) => symlinkSync(`socket:[${ino}]`, join(d, 'fd', String(3 + i))));
  symlinkSync('/dev/null', join(d, 'fd', '0')); // not a socket
  if (p.netns) {
    mkdirSync(join(d, 'ns'));
    writeFileSync(join(d, 'ns', 'net'), p.netns);
  }
  if (p.net) {
    mkdirSync(join(d, 'net'));
    writeFileSync(join(d, 'net', 'tcp'), HEADER + p.net);
  }
}

function writeHostTcp(lines: string): void {
  writeFileSync(join(root, 'net', 'tcp'), HEADER + lines);
}

function writeHostTable(file: 'tcp6' | 'udp' | 'udp6', lines: string): void {
  writeFileSync(join(root, 'net', file), HEADER + lines);
}

function freshRoot(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = mkdtempSync(join(tmpdir(), 'oaat-proc-'));
  mkdirSync(join(root, 'net'));
  mkdirSync(join(root, 'self', 'ns'), { recursive: true });
  writeFileSync(join(root, 'self', 'ns', 'net'), 'host');
  writeFileSync(join(root, 'stat'), `cpu 1 2 3\nbtime ${BTIME}\n`);
  writeFileSync(exeFile(), 'hello\n');
  for (const f of ['tcp6', 'udp', 'udp6']) writeFileSync(join(root, 'net', f), HEADER);
  writeHostTcp('');
}

const A = v4('10.0.0.2');
const CF = v4('104.18.0.1');
let att: Attributor | null = null;

beforeEach(() => {
  att?.close();
  att = null;
  freshRoot();
});
afterAll(() => {
  att?.close();
  rmSync(root, { recursive: true, force: true });
});

async function attributed(a: Attributor, flow: ReturnType<typeof synFlow>): Promise<ProcessInfo | null> {
  a.attributeFlow(flow);
  await vi.waitFor(() => expect(a.stats().pending).toBe(0), { timeout: 2000, interval: 5 });
  return a.processOf(flow);
}

describe('procfs attributor on a hand-built proc root', () => {
  itNeeding(['sha256sum'], 'finds owner, start time (btime + ticks / 100) and the exe digest', async () => {
    writeHostTcp(tcpLine('10.0.0.2', 40000, '104.18.0.1', 443, 1, 100));
    writeProc({ pid: 4242, comm: 'curl', startTicks: 1000, cmdline: ['curl', 'https://x'], sockets: [100] });
    att = createProcfsAttributor({ procRoot: root });
    const p = att.lookup(6, A, 40000, CF, 443)!;
    expect(p).toMatchObject({ pid: 4242, comm: 'curl', startTime: (BTIME + 10) * 1e6, cmdline: ['curl', 'https://x'], uid: 1000, exe: exeFile() });
    const expected = sha256sum(exeFile());
    await vi.waitFor(() => expect(p.exeSha256).toBe(expected), { timeout: 2000, interval: 5 });
  });

  it('keeps a reused pid apart: same pid, new start time, new process record', async () => {
    writeHostTcp(tcpLine('10.0.0.2', 40000, '104.18.0.1', 443, 1, 100));
    writeProc({ pid: 4242, comm: 'curl', startTicks: 1000, cmdline: ['curl'], sockets: [100] });
    att = createProcfsAttributor({ procRoot: root });
    const first = att.lookup(6, A, 40000, CF, 443)!;
    // curl exits; wget gets pid 4242 and opens a new socket.
    writeHostTcp(tcpLine('10.0.0.2', 40001, '104.18.0.1', 443, 1, 200));
    writeProc({ pid: 4242, comm: 'wget', startTicks: 5000, cmdline: ['wget'], sockets: [200] });
    const second = await attributed(att, synFlow(A, 40001, CF, 443));
    expect(second).toMatchObject({ pid: 4242, comm: 'wget', startTime: (BTIME + 50) * 1e6 });
    expect(second).not.toBe(first);
    const records = [...att.processes()].filter((p) => p.pid === 4242).map((p) => [p.comm, p.startTime]);
    expect(records).toEqual([['curl', (BTIME + 10) * 1e6], ['wget', (BTIME + 50) * 1e6]]);
  });

  it('does not search again for a socket no process holds, and counts it', () => {
    writeHostTcp(tcpLine('10.0.0.2', 40000, '104.18.0.1', 443, 1, 300));
    att = createProcfsAttributor({ procRoot: root });
    const before = att.stats();
    expect(att.lookup(6, A, 40000, CF, 443)).toBeNull();
    expect(att.stats()).toMatchObject({ unownedSockets: 1, pending: 0, rescans: before.rescans });
  });

  it('pins an inbound flow on a wildcard listener, but not an outbound flow to the same port', async () => {
    writeHostTcp(tcpLine('0.0.0.0', 443, '0.0.0.0', 0, 0x0a, 900) + tcpLine('10.0.0.2', 22, '10.0.0.9', 50000, 1, 901));
    writeProc({ pid: 90, comm: 'nginx', startTicks: 10, cmdline: ['nginx'], sockets: [900] });
    att = createProcfsAttributor({ procRoot: root });
    expect((await attributed(att, synFlow(v4('198.51.100.7'), 5555, A, 443)))?.pid).toBe(90);
    const out = synFlow(A, 40002, v4('93.184.216.34'), 443);
    expect(await attributed(att, out)).toBeNull();
    expect(out.process).toBeNull();
    expect(att.stats().unattributed).toBe(1);
  });

  it('reads the network namespace of an Ollama process (and of --process picks), not of others', async () => {
    const nsLine = tcpLine('172.17.0.2', 45000, '104.18.0.1', 443, 1, 700);
    writeProc({ pid: 77, comm: 'ollama', startTicks: 10, cmdline: ['/bin/ollama', 'serve'], sockets: [700], netns: 'c1', net: nsLine });
    writeProc({ pid: 78, comm: 'other', startTicks: 10, cmdline: ['other'], sockets: [800], netns: 'c2',
      net: tcpLine('172.18.0.2', 45000, '104.18.0.1', 443, 1, 800) });
    att = createProcfsAttributor({ procRoot: root });
    expect((await attributed(att, synFlow(v4('172.17.0.2'), 45000, CF, 443)))).toMatchObject({ pid: 77, role: 'server', ollamaTree: true });
    expect(await attributed(att, synFlow(v4('172.18.0.2'), 45000, CF, 443))).toBeNull();
    const picked = createProcfsAttributor({ procRoot: root, extraNames: ['other'] });
    try {
      expect(picked.lookup(6, v4('172.18.0.2'), 45000, CF, 443)).toMatchObject({ pid: 78, role: null, ollamaTree: true });
    } finally {
      picked.close();
    }
  });

  it('debounces: one rescan answers a burst, the next waits rescanMinIntervalMs', async () => {
    // 200 ms: the files below are written after the attributor's first scan, and the bounds below
    // leave 50 ms for that on a loaded machine.
    att = createProcfsAttributor({ procRoot: root, rescanMinIntervalMs: 200 });
    let lines = '';
    for (let i = 0; i < 20; i++) lines += tcpLine('10.0.0.2', 41000 + i, '104.18.0.1', 443, 1, 1000 + i);
    writeHostTcp(lines);
    writeProc({ pid: 500, comm: 'burst', startTicks: 10, cmdline: ['burst'], sockets: Array.from({ length: 20 }, (_, i) => 1000 + i) });
    const flows = Array.from({ length: 20 }, (_, i) => synFlow(A, 41000 + i, CF, 443));
    const done: number[] = [];
    for (const f of flows) att.attributeFlow(f, () => done.push(performance.now()));
    // The attributor's last scan (the initial one) ended just now: the first rescan waits too.
    const t0 = performance.now();
    await vi.waitFor(() => expect(done).toHaveLength(20), { timeout: 2000, interval: 2 });
    expect(att.stats()).toMatchObject({ rescans: 1, misses: 20, resolvedLater: 20 });
    expect(flows.every((f) => f.process?.pid === 500)).toBe(true);
    expect(done[0] - t0).toBeGreaterThanOrEqual(150);
    // A miss right after a rescan waits for the interval as well.
    writeHostTcp(lines + tcpLine('10.0.0.2', 42000, '104.18.0.1', 443, 1, 2000));
    writeProc({ pid: 501, comm: 'late', startTicks: 20, cmdline: ['late'], sockets: [2000] });
    const t1 = performance.now();
    const late = await attributed(att, synFlow(A, 42000, CF, 443));
    expect(late?.pid).toBe(501);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(150);
    expect(att.stats().rescans).toBe(2);
  });

  it('a flood at a port nothing listens on rescans at most once per inboundRescanMs; a local process\'s miss amid it is answered within rescanMinIntervalMs', async () => {
    // 10.0.0.2 is ours (a socket of it is in the tables from the start); nothing listens on its port 8080.
    writeHostTcp(tcpLine('10.0.0.2', 41000, '104.18.0.1', 443, 1, 3000));
    writeProc({ pid: 600, comm: 'client', startTicks: 10, cmdline: ['client'], sockets: [3000] });
    att = createProcfsAttributor({ procRoot: root, rescanMinIntervalMs: 5, inboundRescanMs: 100 });
    const before = att.stats().rescans;
    const flood: ReturnType<typeof synFlow>[] = [];
    const t0 = performance.now();
    let local: { flow: ReturnType<typeof synFlow>; at: number; done: number } | null = null;
    for (let i = 0; performance.now() - t0 < 600; i++) {
      const f = synFlow(v4(`198.51.100.${1 + (i % 200)}`), 1024 + i, A, 8080);
      flood.push(f);
      att.attributeFlow(f);
      if (local === null && performance.now() - t0 > 300) {
        // A connection of a local process, made after the last table reading: found by the next (fast) rescan.
        writeHostTcp(tcpLine('10.0.0.2', 41000, '104.18.0.1', 443, 1, 3000) + tcpLine('10.0.0.2', 42000, '104.18.0.1', 443, 1, 3001));
        writeProc({ pid: 601, comm: 'short', startTicks: 20, cmdline: ['short'], sockets: [3001] });
        const l = { flow: synFlow(A, 42000, CF, 443), at: performance.now(), done: 0 };
        att.attributeFlow(l.flow, () => { l.done = performance.now(); });
        local = l;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await vi.waitFor(() => expect(att!.stats().pending).toBe(0), { timeout: 2000, interval: 5 });
    const rescans = att.stats().rescans - before;
    console.log(`${flood.length} inbound misses in 600 ms: ${rescans} rescans; the local miss answered after ${(local!.done - local!.at).toFixed(1)} ms`);
    expect(flood.length).toBeGreaterThan(100);
    expect(flood.every((f) => f.process === null)).toBe(true);
    // 600 ms / 100 ms, +1 for the local miss, +1 for the last batch (at 5 ms apart it would be over 100).
    expect(rescans).toBeLessThanOrEqual(8);
    expect(local!.flow.process?.pid).toBe(601);
    expect(local!.done - local!.at).toBeLessThan(60);
  });
});

/**
 * On loopback (or via one of our own addresses) both sockets of a connection are in the tables,
 * and the server's listener and accepted socket share its port. The old lookup took the first end
 * with a known owner and fell through to the server's sockets when the client's was gone (a quick
 * curl had closed it before the rescan): the server was credited with the client's flow.
 */
describe('both ends on this machine: process is the initiator\'s owner, peerProcess the responder\'s', () => {
  const LO = v4('127.0.0.1');
  const TIME_WAIT = 0x06;

  it('loopback TCP with both sockets listed: curl is the process, the ollama server the peer', async () => {
    writeHostTcp(tcpLine('127.0.0.1', 11434, '0.0.0.0', 0, 0x0a, 100)
      + tcpLine('127.0.0.1', 11434, '127.0.0.1', 40000, 1, 102)
      + tcpLine('127.0.0.1', 40000, '127.0.0.1', 11434, 1, 101));
    writeProc({ pid: 10, comm: 'ollama', startTicks: 10, cmdline: ['/usr/bin/ollama', 'serve'], sockets: [100, 102] });
    writeProc({ pid: 20, comm: 'curl', startTicks: 20, cmdline: ['curl', 'http://127.0.0.1:11434/api/tags'], sockets: [101] });
    att = createProcfsAttributor({ procRoot: root });
    const flow = synFlow(LO, 40000, LO, 11434);
    expect((await attributed(att, flow))?.pid).toBe(20);
    expect(flow.process).toMatchObject({ pid: 20, name: 'curl' });
    expect(flow.peerProcess).toMatchObject({ pid: 10, name: 'ollama', exe: exeFile() });
    expect(att.peerOf(flow)).toMatchObject({ pid: 10, role: 'server', ollamaTree: true });
  });

  it('loopback TCP whose client socket is gone (TIME_WAIT, no inode): the server is the peer, never the process', async () => {
    writeHostTcp(tcpLine('127.0.0.1', 8000, '0.0.0.0', 0, 0x0a, 200)
      + tcpLine('127.0.0.1', 8000, '127.0.0.1', 40001, 1, 201)
      + tcpLine('127.0.0.1', 40001, '127.0.0.1', 8000, TIME_WAIT, 0));
    writeProc({ pid: 30, comm: 'python3', startTicks: 10, cmdline: ['python3', '-m', 'http.server'], sockets: [200, 201] });
    att = createProcfsAttributor({ procRoot: root });
    const flow = synFlow(LO, 40001, LO, 8000);
    expect(await attributed(att, flow)).toBeNull();
    expect(flow.process).toBeNull();
    expect(flow.peerProcess).toMatchObject({ pid: 30, name: 'python3' });
    expect(att.stats().unattributed).toBe(1);
  });

  it('UDP on loopback: the client (bound to the wildcard) is the process, the bound server the peer; the server never takes a gone client\'s flow', async () => {
    writeHostTable('udp', tcpLine('127.0.0.1', 5353, '0.0.0.0', 0, 0x07, 300) + tcpLine('0.0.0.0', 50000, '0.0.0.0', 0, 0x07, 301));
    writeProc({ pid: 31, comm: 'dnsd', startTicks: 10, cmdline: ['dnsd'], sockets: [300] });
    writeProc({ pid: 32, comm: 'dig', startTicks: 10, cmdline: ['dig'], sockets: [301] });
    att = createProcfsAttributor({ procRoot: root });
    const asked = synFlow(LO, 50000, LO, 5353, 17);
    expect((await attributed(att, asked))?.pid).toBe(32);
    expect(asked.peerProcess?.pid).toBe(31);
    const gone = synFlow(LO, 50001, LO, 5353, 17);
    expect(await attributed(att, gone)).toBeNull();
    expect(gone.peerProcess?.pid).toBe(31);
  });

  it('IPv6 loopback to a dual-stack [::] listener: the server is the peer of a gone client\'s flow', async () => {
    writeHostTable('tcp6', tcpLine('::', 8080, '::', 0, 0x0a, 400) + tcpLine('::1', 8080, '::1', 40002, 1, 401));
    writeProc({ pid: 40, comm: 'node', startTicks: 10, cmdline: ['node', 'server.js'], sockets: [400, 401] });
    att = createProcfsAttributor({ procRoot: root });
    const flow = synFlow(LO6, 40002, LO6, 8080);
    expect(await attributed(att, flow)).toBeNull();
    expect(flow.peerProcess?.pid).toBe(40);
  });

  it('a local server reached through one of our non-loopback addresses: the client is the process, the server the peer', async () => {
    writeHostTcp(tcpLine('10.0.0.2', 8000, '0.0.0.0', 0, 0x0a, 500) + tcpLine('10.0.0.2', 40003, '10.0.0.2', 8000, 1, 501));
    writeProc({ pid: 50, comm: 'python3', startTicks: 10, cmdline: ['python3', '-m', 'http.server'], sockets: [500] });
    writeProc({ pid: 51, comm: 'curl', startTicks: 10, cmdline: ['curl'], sockets: [501] });
    att = createProcfsAttributor({ procRoot: root });
    const live = synFlow(A, 40003, A, 8000);
    expect((await attributed(att, live))?.pid).toBe(51);
    expect(live.peerProcess?.pid).toBe(50);
    const gone = synFlow(A, 40004, A, 8000);
    expect(await attributed(att, gone)).toBeNull();
    expect(gone.peerProcess?.pid).toBe(50);
  });

  it('a remote client of a local server: the server is the process and there is no peer', async () => {
    writeHostTcp(tcpLine('0.0.0.0', 11434, '0.0.0.0', 0, 0x0a, 600) + tcpLine('10.0.0.2', 11434, '198.51.100.7', 5555, 1, 601));
    writeProc({ pid: 60, comm: 'ollama', startTicks: 10, cmdline: ['ollama', 'serve'], sockets: [600, 601] });
    att = createProcfsAttributor({ procRoot: root });
    const flow = synFlow(v4('198.51.100.7'), 5555, A, 11434);
    expect((await attributed(att, flow))?.pid).toBe(60);
    expect(flow.peerProcess).toBeNull();
  });
});
