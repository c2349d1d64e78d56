/**
 * Kernel socket events (bpftrace) name the process of connections that were gone before /proc
 * could be read. The live part is the lab on loopback: 50 TCP connections of a few ms and
 * 50 DNS-style UDP queries from a process named `ollama`, all finished before the attributor is
 * asked; procfs alone can then name none of them, the kernel's events must name them all.
 */
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProcfsAttributor } from '../../src/attribution/procfs-attributor.js';
import { startKernelEvents, type KernelEventSource } from '../../src/attribution/os/linux/bpftrace-source.js';
import { parseKernelEvent } from '../../src/attribution/os/linux/kernel-events.js';
import { createKernelEventIndex } from '../../src/attribution/os/linux/kernel-event-index.js';
import { describeNeeding } from '../helpers/needs.js';
import { NODE, killAll, startKid, synFlow, v4, LO6 } from './procfs-helpers.js';

// Lines as bpftrace 0.17 printed them on this project's machine (kernel 6.18) for: curl to a
// python3 http.server on 127.0.0.1:8766 (C4, then the server's A4), curl to [::1]:9 (C6), and
// python3 sending one datagram to 127.0.0.1:5555 and one to [::1]:5556 (U4, U6).
const REAL_LINES = [
  'C4 10603862717173 15093 15093 0 4026531833 6 100007f 8097 100007f 3e22 curl',
  'A4 10603876302368 15027 15027 0 4026531833 6 100007f 223e 100007f 8097 python3',
  'C6 10603911395859 15095 15095 0 4026531833 6 0:0:0:1000000 a4 0:0:0:1000000 900 curl',
  'U4 10604479241393 15096 15096 0 4026531833 17 100007f 6b89 100007f b315 python3',
  'U6 10604479338630 15096 15096 0 4026531833 17 0:0:0:1000000 8289 0:0:0:1000000 b415 python3',
];

describe('kernel event lines', () => {
  it('reads both ends, ports and the sender from each kind of line', () => {
    const [c4, a4, c6, u4, u6] = REAL_LINES.map(parseKernelEvent);
    expect(c4).toMatchObject({ kind: 'connect', pid: 15093, uid: 0, proto: 6, localPort: 0x9780, remotePort: 8766, comm: 'curl' });
    expect(c4!.localAddr).toEqual(v4('127.0.0.1'));
    // The server's accepted socket is the same connection seen from the other end.
    expect(a4).toMatchObject({ kind: 'accept', pid: 15027, localPort: 8766, remotePort: 0x9780, comm: 'python3' });
    expect(c6).toMatchObject({ kind: 'connect', localPort: 0xa400, remotePort: 9 });
    expect(c6!.remoteAddr).toEqual(LO6);
    expect(u4).toMatchObject({ kind: 'udp-send', proto: 17, localPort: 0x896b, remotePort: 5555 });
    expect(u6).toMatchObject({ kind: 'udp-send', remotePort: 5556 });
    expect(c4!.monotonicUs).toBe(10603862717);
  });

  it('keeps a process name with spaces and refuses anything else', () => {
    expect(parseKernelEvent('C4 1 2 2 0 1 6 100007f 8097 100007f 3e22 Web Content')?.comm).toBe('Web Content');
    for (const bad of ['Attaching 5 probes...', 'R ready', 'C4 1 2 2 0 1 6 zz 8097 100007f 3e22 x', 'C4 1 2', 'C6 1 2 2 0 1 6 100007f 1 100007f 2 x']) {
      expect(parseKernelEvent(bad)).toBeNull();
    }
  });
});

describe('kernel event index', () => {
  const ev = (line: string) => parseKernelEvent(line)!;
  it('finds the newest event of a socket and maps IPv4 peers of IPv6 sockets to IPv4', () => {
    const idx = createKernelEventIndex(4026531833);
    idx.add(ev('C4 1000 10 10 0 4026531833 6 100007f 8097 100007f 3e22 old'));
    idx.add(ev('C4 2000 11 11 0 4026531833 6 100007f 8097 100007f 3e22 new'));
    expect(idx.find(6, v4('127.0.0.1'), 0x9780, v4('127.0.0.1'), 8766)?.comm).toBe('new');
    expect(idx.find(6, v4('127.0.0.1'), 0x9780, v4('127.0.0.1'), 8767)).toBeNull();
    expect(idx.find(17, v4('127.0.0.1'), 0x9780, v4('127.0.0.1'), 8766)).toBeNull();
    // accept() on a dual-stack listener: ::ffff:10.0.0.2 is what the capture sees as 10.0.0.2.
    idx.add(ev('A6 3000 12 12 0 4026531833 6 0:0:ffff0000:100000a 2cab 0:0:ffff0000:200000a 5000 ollama'));
    expect(idx.find(6, v4('10.0.0.1'), 11435, v4('10.0.0.2'), 80)?.comm).toBe('ollama');
  });

  it('forgets an event no flow asked about within 10 s (bounded memory)', () => {
    const idx = createKernelEventIndex(4026531833);
    idx.add(ev('C4 1000000000 10 10 0 4026531833 6 100007f 8097 100007f 3e22 old'));
    // Later events (11 s on): the pruning that runs as events come drops the old one.
    for (let i = 0; i < 1100; i++) idx.add(ev(`U4 ${11_000_000_000 + i} 11 11 0 4026531833 17 100007f ${(i + 1).toString(16)} 100007f 3500 new`));
    expect(idx.find(6, v4('127.0.0.1'), 0x9780, v4('127.0.0.1'), 8766)).toBeNull();
    expect(idx.size).toBe(1100);
  });

  it("never answers with another namespace's loopback socket", () => {
    const idx = createKernelEventIndex(4026531833);
    idx.add(ev('C4 1000 10 10 0 4026532000 6 100007f 8097 100007f 3e22 elsewhere'));
    expect(idx.find(6, v4('127.0.0.1'), 0x9780, v4('127.0.0.1'), 8766)).toBeNull();
    // A container's own address is unique: its events answer.
    idx.add(ev('C4 1000 10 10 0 4026532000 6 20011ac 8097 10011ac 3500 ollama'));
    expect(idx.find(6, v4('172.17.0.2'), 0x9780, v4('172.17.0.1'), 53)?.comm).toBe('ollama');
  });
});

const N = 50;
// Each TCP connection: connect, one byte each way, close (a few ms on loopback).
const SERVER = `const s=require('net').createServer(c=>{c.on('error',()=>{});c.once('data',()=>c.end('y'))});
s.listen(0,'127.0.0.1',()=>console.log('T '+s.address().port));
const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(m,r.port,r.address));d.bind(0,'127.0.0.1',()=>console.log('U '+d.address().port));
setInterval(()=>{},1e3)`;
const TCP_CLIENT = `const net=require('net');const port=+process.argv[1];const n=+process.argv[2];const ms=[];
function one(i){if(i===n){console.log('D '+ms.sort((a,b)=>a-b)[n>>1].toFixed(1));process.exit(0)}
const t=performance.now();const c=net.connect(port,'127.0.0.1',()=>{console.log('C '+c.localPort);c.write('x')});
c.on('data',()=>{});c.on('end',()=>c.destroy());c.on('close',()=>{ms.push(performance.now()-t);one(i+1)})}
one(0)`;
// A resolver-style query: a fresh connected UDP socket per lookup, closed at the answer (as Go's resolver does).
const DNS_CLIENT = `const dgram=require('dgram');const port=+process.argv[1];const n=+process.argv[2];
function one(i){if(i===n){console.log('D');process.exit(0)}
const s=dgram.createSocket('udp4');s.connect(port,'127.0.0.1',()=>{console.log('Q '+s.address().port);s.send('q')});
s.on('message',()=>{s.close();one(i+1)})}
one(0)`;

async function linesUntilDone(kid: ReturnType<typeof startKid>, tag: string): Promise<number[]> {
  const ports: number[] = [];
  await new Promise<void>((resolve) => kid.onLine((line) => {
    const [t, a] = line.split(' ');
    if (t === tag) ports.push(Number(a));
    else if (t === 'D') resolve();
  }));
  await new Promise((r) => kid.child.exitCode !== null ? r(null) : kid.child.once('exit', r));
  return ports;
}

describeNeeding(['root', 'bpftrace'], 'kernel socket events through bpftrace (root)', () => {
  let source: KernelEventSource | null = null;
  let dir = '';
  afterAll(async () => {
    killAll();
    await source?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`names the senders of ${N} short TCP connections and ${N} DNS queries of a process named ollama after they exited`, async () => {
    const index = createKernelEventIndex();
    source = await startKernelEvents({ bpftrace: 'bpftrace', attachTimeoutMs: 20_000, tracefsDir: '/sys/kernel/tracing', index, onExit: () => {}, onStderr: () => {} });
    dir = mkdtempSync(join(tmpdir(), 'oa-kev-'));
    // comm is the name the program was started by: a link named ollama to node.
    symlinkSync(NODE, join(dir, 'ollama'));
    const server = startKid(NODE, ['-e', SERVER]);
    const ports = new Map<string, number>();
    for (let i = 0; i < 2; i++) {
      const [t, p] = (await server.next()).split(' ');
      ports.set(t!, Number(p));
    }
    const tcpPort = ports.get('T')!;
    const udpPort = ports.get('U')!;
    const tcp = startKid(NODE, ['-e', TCP_CLIENT, String(tcpPort), String(N)]);
    const tcpPorts = await linesUntilDone(tcp, 'C');
    const dns = startKid(join(dir, 'ollama'), ['-e', DNS_CLIENT, String(udpPort), String(N)]);
    const dnsPorts = await linesUntilDone(dns, 'Q');
    expect(tcpPorts).toHaveLength(N);
    expect(dnsPorts).toHaveLength(N);
    // Every client has exited: its sockets and its /proc entry are gone.
    await new Promise((r) => setTimeout(r, 300));

    const lo = v4('127.0.0.1');
    const attribute = async (kernel: boolean) => {
      const att = createProcfsAttributor(kernel ? { kernelEvents: index } : {});
      const tcpFlows = tcpPorts.map((p) => synFlow(lo, p, lo, tcpPort));
      const dnsFlows = dnsPorts.map((p) => synFlow(lo, p, lo, udpPort, 17));
      for (const f of [...tcpFlows, ...dnsFlows]) att.attributeFlow(f);
      while (att.stats().pending > 0) await new Promise((r) => setTimeout(r, 5));
      const infos = tcpFlows.map((f) => att.processOf(f));
      att.close();
      return {
        tcp: tcpFlows.filter((f) => f.process?.pid === tcp.pid).length,
        tcpPeerServer: tcpFlows.filter((f) => f.peerProcess?.pid === server.pid).length,
        dns: dnsFlows.filter((f) => f.process?.pid === dns.pid && f.process.name === 'ollama').length,
        creditedToServer: tcpFlows.filter((f) => f.process?.pid === server.pid).length,
        uid: infos.filter((i) => i?.uid === 0).length,
      };
    };
    const procfs = await attribute(false);
    const kernel = await attribute(true);
    console.log(`after exit: procfs alone ${procfs.tcp}/${N} TCP, ${procfs.dns}/${N} DNS; with kernel events ${kernel.tcp}/${N} TCP, ${kernel.dns}/${N} DNS; events read ${source.stats().events}, lost ${source.stats().lost}`);
    // procfs cannot see a socket that no longer exists: the case the kernel events are for.
    expect(procfs.tcp).toBe(0);
    expect(procfs.dns).toBe(0);
    expect(kernel.tcp).toBe(N);
    expect(kernel.dns).toBe(N);
    expect(kernel.uid).toBe(N);
    // The server still lives: its accepted sockets name it as the peer, never as the initiator.
    expect(kernel.creditedToServer).toBe(0);
    expect(kernel.tcpPeerServer).toBe(N);
  }, 90_000);
});

describe('an event that comes after the flow was asked about', () => {
  it('still names the flow and says so through onResolved (bpftrace runs behind under load)', async () => {
    const index = createKernelEventIndex();
    const att = createProcfsAttributor({ kernelEvents: index });
    try {
      // Ports no socket of this machine holds: /proc cannot name it.
      const flow = synFlow(v4('127.0.0.1'), 1, v4('127.0.0.1'), 2, 17);
      const resolved: number[] = [];
      att.attributeFlow(flow, (f, p) => resolved.push(p?.pid ?? -1));
      while (att.stats().pending > 0) await new Promise((r) => setTimeout(r, 5));
      expect(flow.process).toBeNull();
      const before = att.stats().unattributed;
      // This process sent it (its /proc entry is readable, so procfs fills in the rest).
      index.add(parseKernelEvent(`U4 ${process.hrtime.bigint()} ${process.pid} ${process.pid} 0 ${statSync('/proc/self/ns/net').ino} 17 100007f 100 100007f 200 node`)!);
      expect(flow.process?.pid).toBe(process.pid);
      expect(att.processOf(flow)?.exe).toBe(NODE);
      expect(resolved).toEqual([process.pid]);
      expect(att.stats().unattributed).toBe(before - 1);
    } finally {
      att.close();
    }
  });

  it('at most 20,000 flows wait, oldest dropped first: a late event still names the newest, not the first', async () => {
    const index = createKernelEventIndex();
    const att = createProcfsAttributor({ kernelEvents: index });
    const lo = v4('127.0.0.1');
    // UDP ports no socket holds, each flow one waiter per end (both ends are this host's).
    const flows = Array.from({ length: 10_100 }, (_, i) => synFlow(lo, 20_000 + i, lo, 9, 17));
    // Ports as bpftrace prints them: the network-order u16 read little-endian, in hex (port 1 is 100).
    const wire = (port: number) => (((port & 0xff) << 8) | (port >> 8)).toString(16);
    const event = (port: number) => parseKernelEvent(`U4 ${process.hrtime.bigint()} ${process.pid} ${process.pid} 0 ${statSync('/proc/self/ns/net').ino} 17 100007f ${wire(port)} 100007f ${wire(9)} node`)!;
    try {
      for (const f of flows) att.attributeFlow(f);
      while (att.stats().pending > 0) await new Promise((r) => setTimeout(r, 5));
      expect(flows.every((f) => f.process === null)).toBe(true);
      for (const i of [0, 99, 100, 5_000, 10_099]) index.add(event(20_000 + i));
      // 10,100 flows × 2 ends = 20,200 waiters: the first 100 flows' went to keep 20,000.
      expect([0, 99, 100, 5_000, 10_099].map((i) => flows[i]!.process?.pid ?? null)).toEqual([null, null, process.pid, process.pid, process.pid]);
    } finally {
      att.close();
    }
  });
});
