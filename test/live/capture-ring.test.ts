/**
 * The capture ring (issue #9, native-notes/cap.md "The ring's size", "The ring's frames"). libpcap
 * gives every packet one frame of the snapshot length: with cap 0.2.1's fixed 65535 a frame takes
 * a 128 KiB block on `any` and on interfaces with offloads, and the default 64 MiB ring holds 1,023
 * packets; with the default snaplens (native/cap-patch) a frame is 16 KiB on `any` (4,096 packets)
 * and one 4 KiB page on other interfaces (16,384). A burst that arrives while the JS thread is blocked must fit in the ring or is dropped. Namespace
 * oarn-cr (the sender) and a veth whose other end (oarn-cr0, 192.0.2.2) is in this test's
 * namespace, captured on `any` and on that veth end; the sender (python in the namespace) runs inside spawnSync, which
 * blocks this thread: nobody reads the ring until the burst is over. The kernel's counters
 * (packet-stats) say what was dropped.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openLiveCapture } from '../../src/capture/live-capture.js';
import { DEFAULTS } from '../../src/settings.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, settle } from './helpers.js';

const NS = 'oarn-cr';
const HOST_END = 'oarn-cr0';
const PORT = 40998;
// Four times what the default ring held with 64 KiB frames (1,023), within what it holds with 16 KiB frames (4,096).
const BURST_ANY = 4000;
// Within what it holds with 4 KiB frames (16,384).
const BURST_VETH = 16_000;

function sh(cmd: string): void {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

function cleanup(): void {
  spawnSync('/bin/sh', ['-c', `ip netns del ${NS} 2>/dev/null; ip link del ${HOST_END} 2>/dev/null`]);
}

/** n 64-byte datagrams from the namespace to this host's end of the veth, this thread blocked meanwhile. */
function burstWhileBlocked(n: number): void {
  const code = `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nb=b'r'*64\nfor i in range(${n}): s.sendto(b,('192.0.2.2',${PORT}))`;
  const r = spawnSync('ip', ['netns', 'exec', NS, 'python3', '-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`burst failed: ${r.stderr}`);
}

/**
 * The event loop's turns while the ring holds a backlog (the default ring and snaplen on `device`):
 * the packets delivered between one turn's check phase (a setImmediate chain) and the next.
 */
async function turnsDuringBacklog(device: string, n: number): Promise<{ perTurn: number[]; delivered: number }> {
  const cap = openLiveCapture({ interfaces: [device], filter: `udp and dst host 192.0.2.2 and dst port ${PORT}` });
  try {
    let seen = 0;
    let last = 0;
    let done = false;
    const perTurn: number[] = [];
    const turn = (): void => {
      if (seen > last) perTurn.push(seen - last);
      last = seen;
      if (!done) setImmediate(turn);
    };
    cap.start(() => { seen++; });
    burstWhileBlocked(n);
    setImmediate(turn);
    await settle(() => seen);
    done = true;
    return { perTurn, delivered: seen };
  } finally {
    cap.stop();
  }
}

/** Captures one burst of n on a device with the default ring and the given snaplen (undefined: the default) and returns the kernel's counts. */
async function oneBurst(device: string, n: number, snaplen?: number): Promise<{ delivered: number; drops: number | null; packets: number | null; snaplen: number }> {
  const cap = openLiveCapture({ interfaces: [device], filter: `udp and dst host 192.0.2.2 and dst port ${PORT}`, snaplen });
  try {
    let seen = 0;
    cap.start(() => { seen++; });
    burstWhileBlocked(n);
    await settle(() => seen);
    cap.stop();
    const st = cap.stats().total;
    return { delivered: st.delivered, drops: st.kernelDrops, packets: st.kernelPackets, snaplen: cap.interfaces[0].snaplen };
  } finally {
    cap.stop();
  }
}

describeNeeding([...LIVE_NEEDS, 'packet-stats', 'python3'], 'the capture ring', () => {
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

  const RING = DEFAULTS.captureBufferBytes;
  for (const [where, device, n, frame] of [['`any`', 'any', BURST_ANY, 16384], ['a veth with offloads', HOST_END, BURST_VETH, 4096]] as const) {
    it(`${where}: a burst of ${n} datagrams while JS is blocked: 64 KiB frames (snaplen 65535) hold 1,023 of it, the default snaplen holds it all`, async () => {
      const old = await oneBurst(device, n, 65535);
      const now = await oneBurst(device, n);
      console.log(`${device}, burst of ${n}: default ${RING / 2 ** 20} MiB ring with snaplen 65535 delivered ${old.delivered}, dropped ${old.drops}; with the default snaplen ${now.snaplen} delivered ${now.delivered}, dropped ${now.drops}`);
      // The kernel saw every datagram both times; 64 KiB frames in 128 KiB blocks: 64 MiB / 64 KiB, minus one.
      expect(old.packets).toBe(n);
      expect(old.delivered).toBeLessThanOrEqual(RING / 65536);
      expect(old.delivered + (old.drops ?? 0)).toBe(n);
      expect(now.snaplen).toBe(device === 'any' ? DEFAULTS.snaplen.loopback : DEFAULTS.snaplen.device);
      expect(RING / frame).toBeGreaterThanOrEqual(n); // the burst fits the frames the default gives
      expect(now.packets).toBe(n);
      expect(now.drops).toBe(0);
      expect(now.delivered).toBe(n);
    }, 60_000);
  }

  it('the event loop turns while the ring holds a backlog: cap reads at most 1,024 packets per poll callback (native/cap-patch)', async () => {
    const r = await turnsDuringBacklog(HOST_END, BURST_VETH);
    console.log(`backlog of ${BURST_VETH}: delivered over ${r.perTurn.length} turns of the event loop, at most ${Math.max(...r.perTurn)} in one; ${r.delivered} in all`);
    expect(r.delivered).toBe(BURST_VETH);
    expect(Math.max(...r.perTurn)).toBeLessThanOrEqual(1024);
    expect(r.perTurn.length).toBeGreaterThanOrEqual(Math.ceil(BURST_VETH / 1024));
  }, 60_000);
});
