import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openLiveCapture, type LiveCapture } from '../../src/capture/live-capture.js';
import { LINKTYPE } from '../../src/capture/packet.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS, collect, sendDatagrams, settle, udpSink, warmUp } from './helpers.js';

// A namespace and a veth pair of our own: oalv-<pid> names, deleted in afterAll even on failure.
const id = process.pid % 100_000;
const NS = `oalv-ns${id}`;
const HOST_IF = `oalv-h${id}`;
const NS_IF = `oalv-n${id}`;
const third = 16 + (id % 200);
const HOST_IP = `10.213.${third}.1`;
const NS_IP = `10.213.${third}.2`;
const TAG_LO = 0x4c4f0001;
const TAG_VETH = 0x56450002;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

describeNeeding([...LIVE_NEEDS, 'ip'], 'live capture on two interfaces at once', () => {
  let cap: LiveCapture | null = null;

  beforeAll(() => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('-n', NS, 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
    ip('-n', NS, 'link', 'set', NS_IF, 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');
  });

  afterAll(() => {
    cap?.stop();
    for (const args of [['link', 'del', HOST_IF], ['netns', 'del', NS]]) {
      try {
        ip(...args);
      } catch {
        // already gone (setup failed half way)
      }
    }
  });

  it('tags each packet with its interface index and link type', async () => {
    const sink = await udpSink();
    try {
      // Same port on both: to lo (delivered to our sink) and across the veth into the namespace
      // (nobody listens there; the ICMP error that comes back does not match the filter).
      cap = openLiveCapture({ interfaces: ['lo', HOST_IF], filter: `udp and dst port ${sink.port}` });
      expect(cap.interfaces.map((i) => [i.index, i.name, i.linktype])).toEqual([
        [0, 'lo', LINKTYPE.ETHERNET],
        [1, HOST_IF, LINKTYPE.ETHERNET],
      ]);
      const seen = collect(cap);
      await warmUp(seen, '127.0.0.1', sink.port);
      await warmUp(seen, NS_IP, sink.port);
      const n = 25;
      await sendDatagrams('127.0.0.1', sink.port, TAG_LO, Array(n).fill(200));
      await sendDatagrams(NS_IP, sink.port, TAG_VETH, Array(n).fill(300));
      await settle(() => seen.length);

      const lo = seen.filter((s) => s.tag === TAG_LO);
      const veth = seen.filter((s) => s.tag === TAG_VETH);
      expect(lo.map((s) => s.seq)).toEqual([...Array(n).keys()]);
      expect(veth.map((s) => s.seq)).toEqual([...Array(n).keys()]);
      for (const s of lo) expect(s).toMatchObject({ iface: 0, linktype: LINKTYPE.ETHERNET, dstLast: 1, ipLen: 228 });
      for (const s of veth) expect(s).toMatchObject({ iface: 1, linktype: LINKTYPE.ETHERNET, dstLast: 2, ipLen: 328 });

      cap.stop();
      const st = cap.stats();
      expect(st.interfaces.map((i) => i.name)).toEqual(['lo', HOST_IF]);
      expect(st.interfaces[0].delivered + st.interfaces[1].delivered).toBe(seen.length);
      expect(st.interfaces[1].delivered).toBe(seen.filter((s) => s.iface === 1).length);
      for (const i of st.interfaces) expect(i).toMatchObject({ kernelPackets: i.delivered, kernelDrops: 0, ifDrops: 0 });
      expect(st.total.delivered).toBe(seen.length);
    } finally {
      sink.close();
    }
  });
});
