// How many packets the live capture's kernel ring holds (issue #9, native-notes/cap.md "The ring's size").
//
//   node bench/ring.mjs [SIZES_MIB=32,128] [K=20000]      root, after `npx tsc -p tsconfig.build.json`
//
// Namespaces RING_NS-s (sender) and RING_NS-d (capture; RING_NS default oarg-ring) joined by a veth.
// In RING_NS-d, for each device (`any`, `lo`, the veth with its offloads on, then off) and each ring
// size: open the capture with a filter for one UDP port, block this thread in spawnSync while a
// python child sends K 64-byte datagrams (nobody reads the ring meanwhile), then read what the ring
// held. delivered = packets the ring held; delivered + drops = K (the kernel's own counters).
// RING_SNAPLEN=65535,4008 repeats each run per snapshot length (default: the capture's default,
// DEFAULTS.snaplen; 65535 gives cap 0.2.1's fixed frames back, for a before/after in one run).
// RING_TIMEOUT=0,50 repeats each run per buffer timeout (default: DEFAULTS.captureBufferTimeoutMs, a
// TPACKET_V3 ring with cap patched to level 2; 0 = immediate mode, the TPACKET_V2 ring of level 1).
// RING_PAYLOAD=1472 sends datagrams of that payload instead of 64 bytes (1472: full 1514-byte frames).
// Also printed: VmRSS after the ring was read (only the ring pages the process touched count) and
// MemFree before/after open (the kernel's allocation of the ring; noisy on a shared machine).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NS = process.env.RING_NS ?? 'oarg-ring';
const [sizesArg = '32,128', kArg = '20000'] = process.argv.slice(2);
const K = Number(process.env.RING_K ?? kArg);
const PORT = 40999;
const PAYLOAD = Number(process.env.RING_PAYLOAD ?? 64);

function sh(cmd) {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

function sender(ns, dst, k) {
  const code = `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nb=b'r'*${PAYLOAD}\nfor i in range(${k}): s.sendto(b,('${dst}',${PORT}))`;
  return ['ip', ['netns', 'exec', ns, 'python3', '-c', code]];
}

const meminfo = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
const status = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const vmRss = () => status('VmRSS');

async function inner() {
  const { openLiveCapture } = await import(join(root, 'dist/capture/live-capture.js'));
  const [device, label, mib, snap, tmo] = process.argv.slice(3);
  const snaplen = snap === 'default' ? undefined : Number(snap);
  const bufferTimeoutMs = tmo === 'default' ? undefined : Number(tmo);
  const free0 = meminfo('MemFree');
  const cap = openLiveCapture({ interfaces: [device], filter: `udp and dst port ${PORT}`, bufferBytes: Number(mib) * 1024 * 1024, snaplen, bufferTimeoutMs });
  const free1 = meminfo('MemFree');
  let n = 0;
  cap.start(() => { n++; });
  const rss0 = vmRss();
  const [cmd, args] = device === 'lo' ? sender(`${NS}-d`, '127.0.0.1', K) : sender(`${NS}-s`, '192.0.2.2', K);
  const r = spawnSync(cmd, args, { encoding: 'utf8' }); // blocks this thread: nobody reads the ring
  if (r.status !== 0) throw new Error(r.stderr);
  let last = -1;
  while (last !== n) { last = n; await new Promise((res) => setTimeout(res, 300)); }
  const rss1 = vmRss();
  const kinds = { rssAnonKiB: status('RssAnon'), rssFileKiB: status('RssFile'), rssShmemKiB: status('RssShmem') };
  await cap.stop();
  const st = cap.stats().interfaces[0];
  console.log(JSON.stringify({ label, mib: Number(mib), snaplen: cap.interfaces[0].snaplen, timeoutMs: tmo, payload: PAYLOAD, sent: K, delivered: st.delivered, drops: st.kernelDrops, kernelPackets: st.kernelPackets,
    rssBeforeKiB: rss0, rssAfterKiB: rss1, ...kinds, memFreeDropKiB: free0 - free1 }));
}

/**
 * `node bench/ring.mjs memcg [MIB=512]`: is the ring charged to the process's memory cgroup (v1), i.e. to a
 * service unit's MemoryMax? Opens a ring on lo three times and prints the cgroup's usage and the machine's
 * MemFree before and after.
 */
async function memcg(mib) {
  const { openLiveCapture } = await import(join(root, 'dist/capture/live-capture.js'));
  const path = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /:memory:/.test(l))?.split(':')[2];
  if (path === undefined) throw new Error('no cgroup v1 memory controller here');
  const usage = (f) => Number(readFileSync(`/sys/fs/cgroup/memory${path}/${f}`, 'utf8')) / 2 ** 20;
  for (let i = 0; i < 3; i++) {
    const u0 = usage('memory.usage_in_bytes'), f0 = meminfo('MemFree') / 1024;
    const cap = openLiveCapture({ interfaces: ['lo'], filter: `udp and dst port ${PORT}`, bufferBytes: mib * 2 ** 20 });
    const u1 = usage('memory.usage_in_bytes'), f1 = meminfo('MemFree') / 1024;
    cap.stop();
    console.log(JSON.stringify({ mib, memcgUsageDeltaMiB: +(u1 - u0).toFixed(1), memFreeDropMiB: +(f0 - f1).toFixed(1) }));
  }
}

if (process.argv[2] === 'inner') await inner();
else if (process.argv[2] === 'memcg') await memcg(Number(process.argv[3] ?? 512));
else {
  const S = `${NS}-s`, D = `${NS}-d`;
  const cleanup = () => spawnSync('/bin/sh', ['-c', `ip netns del ${S} 2>/dev/null; ip netns del ${D} 2>/dev/null`]);
  cleanup();
  try {
    sh(`ip netns add ${S} && ip netns add ${D} && ip link add ${S}0 netns ${S} type veth peer name ${D}0 netns ${D}`);
    sh(`ip -n ${S} addr add 192.0.2.1/24 dev ${S}0 && ip -n ${S} link set ${S}0 up && ip -n ${S} link set lo up`);
    sh(`ip -n ${D} addr add 192.0.2.2/24 dev ${D}0 && ip -n ${D} link set ${D}0 up && ip -n ${D} link set lo up`);
    const runs = [['any', 'any'], ['lo', 'lo'], [`${D}0`, 'veth, offloads on'], [`${D}0`, 'veth, offloads off']];
    for (const [device, label] of runs) {
      if (label === 'veth, offloads off') sh(`ip netns exec ${D} ethtool -K ${D}0 tso off gso off gro off`);
      const offload = sh(`ip netns exec ${D} ethtool -k ${device === 'any' ? `${D}0` : device} | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' | tr -s '\\n' ' '`);
      console.log(`# ${label}: ${offload}`);
      for (const tmo of (process.env.RING_TIMEOUT ?? 'default').split(',')) {
        for (const snap of (process.env.RING_SNAPLEN ?? 'default').split(',')) {
          for (const mib of sizesArg.split(',')) {
            const r = spawnSync('ip', ['netns', 'exec', D, process.execPath, fileURLToPath(import.meta.url), 'inner', device, label, mib, snap, tmo], { encoding: 'utf8', env: { ...process.env, RING_NS: NS, RING_K: String(K) } });
            process.stdout.write(r.stdout);
            if (r.status !== 0) process.stdout.write(r.stderr);
          }
        }
      }
    }
  } finally {
    cleanup();
  }
}
