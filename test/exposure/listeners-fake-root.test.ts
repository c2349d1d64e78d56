/**
 * A hand-built proc root: Ollama-tree processes with listening sockets on each kind of address,
 * one in another network namespace, and an unrelated listener that must be left out.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOllamaListeners, type LiveListeners } from '../../src/exposure/listeners.js';
import { exposureFindings } from '../../src/exposure/findings.js';
import { parseAddr } from '../../src/decode/addr-parse.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** The kernel prints each 32-bit word of an address with %08X in host (little-endian here) order. */
function hexAddr(text: string): string {
  const b = parseAddr(text)!;
  let out = '';
  for (let i = 0; i < b.length; i += 4) out += b.readUInt32LE(i).toString(16).toUpperCase().padStart(8, '0');
  return out;
}

function line(local: string, port: number, inode: number, state = 0x0a): string {
  const zero = local.includes(':') ? '0'.repeat(32) : '00000000';
  const p = port.toString(16).toUpperCase().padStart(4, '0');
  return `   0: ${hexAddr(local)}:${p} ${zero}:0000 ${state.toString(16).toUpperCase().padStart(2, '0')} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000\n`;
}

interface Proc { pid: number; ppid: number; comm: string; cmdline: string[]; env?: string[]; sockets: number[]; tcp: string; tcp6: string; netns?: string }

let root: string;
let result: LiveListeners;

function writeProc(p: Proc): void {
  const d = join(root, String(p.pid));
  mkdirSync(join(d, 'fd'), { recursive: true });
  mkdirSync(join(d, 'net'));
  writeFileSync(join(d, 'stat'), `${p.pid} (${p.comm}) S ${p.ppid} ${p.pid} ${p.pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 1000 10\n`);
  writeFileSync(join(d, 'status'), `Name:\t${p.comm}\nUid:\t0\t0\t0\t0\n`);
  writeFileSync(join(d, 'cmdline'), `${p.cmdline.join('\0')}\0`);
  if (p.env) writeFileSync(join(d, 'environ'), `${p.env.join('\0')}\0`);
  symlinkSync(`/usr/bin/${p.comm}`, join(d, 'exe'));
  p.sockets.forEach((ino, i) => symlinkSync(`socket:[${ino}]`, join(d, 'fd', String(3 + i))));
  writeFileSync(join(d, 'net', 'tcp'), HEADER + p.tcp);
  writeFileSync(join(d, 'net', 'tcp6'), HEADER + p.tcp6);
  if (p.netns) {
    mkdirSync(join(d, 'ns'));
    writeFileSync(join(d, 'ns', 'net'), p.netns);
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'oaex-proc-'));
  writeFileSync(join(root, 'stat'), 'cpu 0 0 0 0\nbtime 1700000000\n');
  const hostTcp = line('0.0.0.0', 9000, 101) + line('127.0.0.1', 41000, 102) + line('192.168.7.5', 11434, 103)
    + line('0.0.0.0', 22, 900) + line('127.0.0.1', 9000, 104, 0x01);
  const hostTcp6 = line('::1', 9000, 105) + line('2001:db8::5', 11434, 106);
  writeProc({ pid: 500, ppid: 1, comm: 'ollama', cmdline: ['/usr/bin/ollama', 'serve'], env: ['HOME=/root', 'OLLAMA_HOST=:9000', 'OLLAMA_ORIGINS=*'], sockets: [101, 103, 104, 105, 106], tcp: hostTcp, tcp6: hostTcp6 });
  writeProc({ pid: 501, ppid: 500, comm: 'llama-server', cmdline: ['llama-server', '--port', '41000'], sockets: [102], tcp: hostTcp, tcp6: hostTcp6 });
  writeProc({ pid: 502, ppid: 1, comm: 'sshd', cmdline: ['sshd'], sockets: [900], tcp: hostTcp, tcp6: hostTcp6 });
  // In a container: the same inode numbers mean nothing outside its namespace.
  writeProc({ pid: 600, ppid: 1, comm: 'ollama', cmdline: ['ollama', 'serve'], env: ['OLLAMA_HOST=0.0.0.0'], sockets: [101], tcp: line('0.0.0.0', 11434, 101), tcp6: '', netns: 'container' });
  result = listOllamaListeners({ procRoot: root });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('listOllamaListeners on a fake proc root', () => {
  it('lists the tree only, with each listener judged by its address', () => {
    const seen = result.listeners.map((l) => [l.pid, l.address, l.port, l.scope, l.api]);
    expect(seen).toEqual(expect.arrayContaining([
      [500, '0.0.0.0', 9000, 'all-interfaces', true],
      [500, '192.168.7.5', 11434, 'lan', false],
      [500, '::1', 9000, 'loopback', true],
      [500, '2001:db8::5', 11434, 'public', false],
      [501, '127.0.0.1', 41000, 'loopback', false],
      [600, '0.0.0.0', 11434, 'all-interfaces', true],
    ]));
    expect(result.listeners).toHaveLength(6); // not sshd's :22, not the established socket 104
  });

  it('reads OLLAMA_HOST and OLLAMA_ORIGINS from environ and parses the host like Ollama', () => {
    const p = result.processes.find((x) => x.pid === 500)!;
    expect(p.env).toEqual({ readable: true, unreadable_reason: null, ollama_host: ':9000', ollama_origins: '*' });
    expect(p.ollama_host).toMatchObject({ host: '', port: 9000, scope: 'all-interfaces' });
    expect(p.role).toBe('server');
    const runner = result.processes.find((x) => x.pid === 501)!;
    expect(runner.env.readable).toBe(false);
    expect(runner.env.unreadable_reason).toBe('process gone'); // no environ file in the fake root
  });

  it('redacts command lines (the exposure report prints them): option names kept, values replaced', () => {
    expect(result.processes.find((x) => x.pid === 500)!.cmdline).toEqual(['/usr/bin/ollama', 'serve']);
    expect(result.processes.find((x) => x.pid === 501)!.cmdline).toEqual(['llama-server', '--port', '<5 chars>']);
  });

  it('keeps the container namespace apart', () => {
    const l = result.listeners.find((x) => x.pid === 600)!;
    expect(l.host_netns).toBe(false);
    expect(result.listeners.find((x) => x.pid === 500)!.host_netns).toBe(true);
  });

  it('flags every non-loopback listener, the wildcard origin, and nothing for loopback', () => {
    const f = exposureFindings({ processes: result.processes, listeners: result.listeners, visibility: result.visibility, clients: [], proxies: [], hostTrap: [] });
    const noAuth = f.filter((x) => x.code === 'no-auth-on-network');
    expect(noAuth.map((x) => x.severity).sort()).toEqual(['high', 'high', 'high', 'medium']);
    expect(noAuth.some((x) => x.message.includes(':41000') || x.message.includes('[::1]'))).toBe(false);
    expect(f.find((x) => x.code === 'origins-wildcard')?.message).toContain('pid 500');
  });
});

describe('a /proc mounted hidepid (hand-built: mountinfo and our own CapEff)', () => {
  function fakeRoot(capEff: string): string {
    const r = mkdtempSync(join(tmpdir(), 'oacl-hidepid-'));
    writeFileSync(join(r, 'stat'), 'cpu 0 0 0 0\nbtime 1700000000\n');
    mkdirSync(join(r, 'self'));
    writeFileSync(join(r, 'self', 'mountinfo'), `22 26 0:5 / /sys rw - sysfs sysfs rw\n23 26 0:21 / ${r} rw,nosuid,nodev,noexec - proc proc rw,hidepid=invisible\n`);
    writeFileSync(join(r, 'self', 'status'), `Name:\tnode\nCapEff:\t${capEff}\n`);
    return r;
  }

  it('without CAP_SYS_PTRACE: no process seen is not "nothing listens": a not-visible finding naming hidepid', () => {
    const r = fakeRoot('0000000000000000');
    try {
      const live = listOllamaListeners({ procRoot: r });
      expect(live.processes).toEqual([]);
      expect(live.visibility).toEqual({ unreadable: [], unowned: [], hidepid: 'invisible' });
      const f = exposureFindings({ ...live, clients: [], proxies: [], hostTrap: [] });
      expect(f).toEqual([expect.objectContaining({ code: 'not-visible', severity: 'info' })]);
      expect(f[0].message).toContain("/proc is mounted with hidepid=invisible: other users' processes are invisible");
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('with CAP_SYS_PTRACE (root) hidepid hides nothing: no finding', () => {
    const r = fakeRoot('000001ffffffffff');
    try {
      const live = listOllamaListeners({ procRoot: r });
      expect(live.visibility.hidepid).toBeNull();
      expect(exposureFindings({ ...live, clients: [], proxies: [], hostTrap: [] })).toEqual([]);
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });
});
