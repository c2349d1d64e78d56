import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addrToString } from '../../src/decode/addr.js';
import { TCP_LISTEN, parseHexAddr, parseProcNet, parseProcNetLine } from '../../src/attribution/procfs-net.js';
import { buildSocketIndex, findBound, findConnected, hasLocalAddr } from '../../src/attribution/socket-index.js';
import { parseStat, startTimeMicros } from '../../src/attribution/procfs-stat.js';
import { parseCmdline, parseStatusUid } from '../../src/attribution/procfs-process.js';
import { interfaceAddrs, ipv6Hex } from '../../src/attribution/local-addrs.js';
import { describeNeeding } from '../helpers/needs.js';
import { killAll, startKid, v4, NODE } from './procfs-helpers.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

// Worked by hand: 127.0.0.1 is bytes 7f 00 00 01, read as a little-endian u32 0x0100007F.
// 192.168.1.20 -> c0 a8 01 14 -> 0x1401A8C0; 104.18.32.47 -> 68 12 20 2f -> 0x2F201268.
const TCP4 = [
  HEADER,
  '   0: 0100007F:2CAE 00000000:0000 0A 00000000:00000000 00:00000000 00000000   997        0 4242 1 0000000000000000 100 0 0 10 0',
  '   1: 1401A8C0:D431 2F201268:01BB 01 00000000:00000000 02:000A7D8C 00000000  1000        0 123456 2 0000000000000000 20 4 30 10 -1',
  '   2: 0100007F:2CAE 0100007F:A2C4 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000',
  '',
].join('\n');

// ::1 -> word 3 is bytes 00 00 00 01 -> 0x01000000. 2001:db8::5 -> words 0xB80D0120, 0, 0, 0x05000000.
// ::ffff:127.0.0.1 -> words 0, 0, 0xFFFF0000 (bytes 00 00 ff ff), 0x0100007F.
const TCP6 = [
  HEADER,
  '   0: 00000000000000000000000001000000:2CAE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   997        0 5001 1 0000000000000000 100 0 0 10 0',
  '   1: B80D0120000000000000000005000000:9C40 B80D01200000000000000000AB000000:0050 01 00000000:00000000 00:00000000 00000000  1000        0 5002 1 0000000000000000 20 4 30 10 -1',
  '   2: 0000000000000000FFFF00000100007F:2CAE 0000000000000000FFFF00000100007F:B000 01 00000000:00000000 00:00000000 00000000   997        0 5003 1 0000000000000000 20 4 30 10 -1',
].join('\n');

// UDP: 0.0.0.0:5353 unconnected (state 07), and a connected socket 10.0.0.2:40000 -> 9.9.9.9:53.
const UDP4 = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  '  123: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20567 2 0000000000000000 0',
  '  124: 0200000A:9C40 09090909:0035 01 00000000:00000000 00:00000000 00000000  1000        0 20568 2 0000000000000000 0',
].join('\n');

const text = (b: Buffer): string => addrToString(b);

describe('parseProcNet (hand-written samples)', () => {
  it('reads IPv4 lines: addresses in host order, ports, state, uid, inode', () => {
    const e = parseProcNet(TCP4, 6, true);
    expect(e).toHaveLength(3);
    expect([text(e[0].localAddr), e[0].localPort, e[0].state, e[0].uid, e[0].inode]).toEqual(['::ffff:127.0.0.1', 11438, TCP_LISTEN, 997, 4242]);
    expect([text(e[1].localAddr), e[1].localPort, text(e[1].remoteAddr), e[1].remotePort]).toEqual(['::ffff:192.168.1.20', 54321, '::ffff:104.18.32.47', 443]);
    expect([e[1].state, e[1].uid, e[1].inode]).toEqual([1, 1000, 123456]);
    expect([e[2].state, e[2].inode]).toEqual([6, 0]); // TIME_WAIT: no inode
  });

  it('reads IPv6 lines, IPv4-mapped included', () => {
    const e = parseProcNet(TCP6, 6, true);
    expect(e.map((x) => text(x.localAddr))).toEqual(['::1', '2001:db8::5', '::ffff:127.0.0.1']);
    expect(text(e[1].remoteAddr)).toBe('2001:db8::ab');
    expect([e[1].localPort, e[1].remotePort, e[2].remotePort]).toEqual([40000, 80, 45056]);
  });

  it('reads UDP lines, unconnected and connected', () => {
    const e = parseProcNet(UDP4, 17, true);
    expect(e.map((x) => [text(x.localAddr), x.localPort, text(x.remoteAddr), x.remotePort, x.state, x.inode])).toEqual([
      ['::ffff:0.0.0.0', 5353, '::ffff:0.0.0.0', 0, 7, 20567],
      ['::ffff:10.0.0.2', 40000, '::ffff:9.9.9.9', 53, 1, 20568],
    ]);
  });

  it('honours a big-endian host and rejects malformed lines', () => {
    expect(text(parseHexAddr('7F000001', false)!)).toBe('::ffff:127.0.0.1');
    expect(parseHexAddr('7F0000', true)).toBeNull();
    expect(parseProcNetLine('   0: 0100007F:XYZ 00000000:0000 0A', 6, true)).toBeNull();
    expect(parseProcNetLine('garbage', 6, true)).toBeNull();
  });
});

describe('socket index', () => {
  const idx = buildSocketIndex([parseProcNet(TCP4, 6, true), parseProcNet(TCP6, 6, true), parseProcNet(UDP4, 17, true)]);
  const w = (s: string): Buffer => Buffer.concat([Buffer.from('00000000000000000000ffff', 'hex'), v4(s)]);

  it('matches TCP by the full 4-tuple, skipping inode-0 sockets', () => {
    expect(findConnected(idx, 6, w('192.168.1.20'), 54321, w('104.18.32.47'), 443)?.inode).toBe(123456);
    expect(findConnected(idx, 6, w('192.168.1.20'), 54321, w('104.18.32.47'), 444)).toBeNull();
    // The TIME_WAIT line's tuple is owned only by the dual-stack socket of the tcp6 table.
    expect(findConnected(idx, 6, w('127.0.0.1'), 11438, w('127.0.0.1'), 45056)?.inode).toBe(5003);
    expect(findConnected(idx, 6, w('127.0.0.1'), 11438, w('127.0.0.1'), 41668)).toBeNull();
  });

  it('matches listeners and unconnected UDP by address or wildcard', () => {
    expect(findBound(idx, 6, w('127.0.0.1'), 11438)?.inode).toBe(4242);
    expect(findBound(idx, 17, w('10.0.0.2'), 5353)?.inode).toBe(20567); // 0.0.0.0:5353
    expect(findBound(idx, 17, w('10.0.0.2'), 5353, true)).toBeNull(); // specific only
    expect(findBound(idx, 6, w('127.0.0.2'), 11438)).toBeNull(); // bound to 127.0.0.1 only
    expect(hasLocalAddr(idx, w('192.168.1.20'))).toBe(true);
    expect(hasLocalAddr(idx, w('192.168.1.21'))).toBe(false);
  });

  it('takes an IPv4 address as 4 bytes (as a flow has it) or as ::ffff:a.b.c.d alike', () => {
    expect(findConnected(idx, 6, v4('192.168.1.20'), 54321, v4('104.18.32.47'), 443)?.inode).toBe(123456);
    expect(findConnected(idx, 6, v4('127.0.0.1'), 11438, w('127.0.0.1'), 45056)?.inode).toBe(5003);
    expect(findBound(idx, 6, v4('127.0.0.1'), 11438)?.inode).toBe(4242);
    expect(findBound(idx, 17, v4('10.0.0.2'), 5353)?.inode).toBe(20567);
    expect(hasLocalAddr(idx, v4('192.168.1.20'))).toBe(true);
  });
});

describe('stat, status, cmdline', () => {
  it('parses /proc/<pid>/stat with spaces and parentheses in comm', () => {
    const line = '4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 123456 1000000 100 18446744073709551615';
    expect(parseStat(line)).toEqual({ pid: 4242, comm: 'a (b) c', ppid: 17, startTicks: 123456 });
    expect(startTimeMicros(1_700_000_000, 123456)).toBe(1_700_000_000_000_000 + 1_234_560_000);
  });
  it('parses status Uid and NUL-separated cmdline', () => {
    expect(parseStatusUid('Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\n')).toBe(1000);
    expect(parseCmdline('/usr/bin/ollama\0serve\0')).toEqual(['/usr/bin/ollama', 'serve']);
  });
});

describeNeeding(['ss'], 'parseProcNet against ss (real sockets)', () => {
  let port = 0;
  let pid = 0;
  beforeAll(async () => {
    const kid = startKid(NODE, ['-e', `const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>console.log(s.address().port));setInterval(()=>{},1e3)`]);
    port = Number(await kid.next());
    pid = kid.pid;
  });
  afterAll(killAll);

  it('finds the listener ss reports, with the same inode and uid', () => {
    const ss = spawnSync('ss', ['-tlnpeH', `sport = :${port}`], { encoding: 'utf8' }).stdout;
    const ino = Number(/ino:(\d+)/.exec(ss)?.[1]);
    const ssUid = Number(/uid:(\d+)/.exec(ss)?.[1] ?? 0); // ss omits uid:0
    expect(ss).toContain(`pid=${pid},`);
    const ours = parseProcNet(readFileSync('/proc/net/tcp', 'latin1'), 6).filter((e) => e.localPort === port);
    expect(ours).toHaveLength(1);
    expect([text(ours[0].localAddr), ours[0].state, ours[0].inode, ours[0].uid]).toEqual(['::ffff:127.0.0.1', TCP_LISTEN, ino, ssUid]);
  });
});

describe('local interface addresses', () => {
  it('writes IPv6 text as 32 hex digits, scope dropped', () => {
    expect(ipv6Hex('fe80::1%eth0')).toBe('fe800000000000000000000000000001');
    expect(ipv6Hex('2001:db8::5')).toBe('20010db8000000000000000000000005');
    expect(ipv6Hex('::1')).toBe('00000000000000000000000000000001');
    expect(ipv6Hex('1:2:3:4:5:6:7:8')).toBe('00010002000300040005000600070008');
  });
  it('lists 127.0.0.1 of lo, IPv4-mapped', () => {
    expect(interfaceAddrs()).toContain('00000000000000000000ffff7f000001');
  });
});
