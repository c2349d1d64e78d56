/**
 * The capture ring's size (issue #9, native-notes/cap.md "The ring's size"). On `any` libpcap
 * sizes every ring frame for a 64 KiB packet, so the ring holds few packets: a burst that arrives
 * while the JS thread is blocked must fit in it or is dropped. Namespace oarg-cr (the sender) and a
 * veth whose other end (oarg-cr0, 192.0.2.2) is in this test's namespace, captured on `any`; the
 * sender (python in the namespace) runs inside spawnSync, which blocks this thread: nobody reads the
 * ring until the burst is over. The kernel's counters (packet-stats) say what was dropped.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openLiveCapture } from '../../src/capture/live-capture.js';
import { DEFAULTS } from '../../src/settings.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, settle } from './helpers.js';

const NS = 'oarg-cr';
const HOST_END = 'oarg-cr0';
const PORT = 40998;
// More than the old ring's 512 frames, less than the default 64 MiB ring's 1,023.
const BURST = 900;

function sh(cmd: string): void {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

function cleanup(): void {
  spawnSync('/bin/sh', ['-c', `ip netns del ${NS} 2>/dev/null; ip link del ${HOST_END} 2>/dev/null`]);
}

/** BURST 64-byte datagrams from the namespace to this host's end of the veth, this thread blocked meanwhile. */
function burstWhileBlocked(): void {
  const code = `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nb=b'r'*64\nfor i in range(${BURST}): s.sendto(b,('192.0.2.2',${PORT}))`;
  const r = spawnSync('ip', ['netns', 'exec', NS, 'python3', '-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`burst failed: ${r.stderr}`);
}

/** Captures one burst on `any` with the given ring (undefined: the default) and returns the kernel's counts. */
async function oneBurst(bufferBytes: number | undefined): Promise<{ delivered: number; drops: number | null; packets: number | null }> {
  const cap = openLiveCapture({ interfaces: ['any'], filter: `udp and dst host 192.0.2.2 and dst port ${PORT}`, bufferBytes });
  try {
    let n = 0;
    cap.start(() => { n++; });
    burstWhileBlocked();
    await settle(() => n);
    cap.stop();
    const st = cap.stats().total;
    return { delivered: st.delivered, drops: st.kernelDrops, packets: st.kernelPackets };
  } finally {
    cap.stop();
  }
}

describeNeeding([...LIVE_NEEDS, 'packet-stats', 'python3'], 'the capture ring on `any`', () => {
  beforeAll(() => {
    cleanup();
    sh(`ip netns add ${NS} && ip link add ${HOST_END} type veth peer name ${NS}1 netns ${NS}`);
    sh(`ip addr add 192.0.2.2/24 dev ${HOST_END} && ip link set ${HOST_END} up`);
    sh(`ip -n ${NS} addr add 192.0.2.1/24 dev ${NS}1 && ip -n ${NS} link set ${NS}1 up && ip -n ${NS} link set lo up`);
    // The sender's first datagram must not wait for ARP: the host end's address is known up front.
    const mac = spawnSync('cat', [`/sys/class/net/${HOST_END}/address`], { encoding: 'utf8' }).stdout.trim();
    sh(`ip -n ${NS} neigh replace 192.0.2.2 lladdr ${mac} dev ${NS}1 nud permanent`);
  });
  afterAll(cleanup);

  it(`a burst of ${BURST} datagrams while JS is blocked: the old 32 MiB ring drops part of it, the default ring holds it all`, async () => {
    const old = await oneBurst(32 * 1024 * 1024);
    const now = await oneBurst(undefined);
    console.log(`burst of ${BURST}: 32 MiB ring delivered ${old.delivered}, dropped ${old.drops}; default (${DEFAULTS.captureBufferBytes / 2 ** 20} MiB) delivered ${now.delivered}, dropped ${now.drops}`);
    // The kernel saw every datagram both times; the old ring held at most its 512 frames.
    expect(old.packets).toBe(BURST);
    expect(old.delivered).toBeLessThanOrEqual(512);
    expect(old.delivered + (old.drops ?? 0)).toBe(BURST);
    expect(now.packets).toBe(BURST);
    expect(now.drops).toBe(0);
    expect(now.delivered).toBe(BURST);
  }, 60_000);
});
