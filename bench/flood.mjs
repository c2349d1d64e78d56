// Flood benchmarks (issue #9 item 6). Figures go to bench/RESULTS.md by hand.
//
//   node bench/flood.mjs import [N=1000000]   generate N distinct SYNs (10 µs apart: 100k/s, all within the
//                                             30 s half-open timeout, so all "open" at once) and import them
//                                             with /usr/bin/time -f %M: peak RSS, wall time, expired_early;
//                                             also with --max-flows N (nothing evicted) for bytes per open flow.
//   node bench/flood.mjs live [RATE=20000] [SECONDS=20] [SENDER=node]
//                                             root: namespaces oafl-bs (sender) and oafl-bd (daemon) on a veth
//                                             pair; RATE new flows/s for SECONDS while the daemon captures on
//                                             the daemon's veth; then SIGTERM. SENDER:
//                                               node  a node program in oafl-bs sends UDP datagrams, each to a new
//                                                     (source port, destination port) pair: local sockets, so
//                                                     bpftrace sees each send (a flood from this host's own programs);
//                                               udp   a generated pcap of RATE×SECONDS such datagrams from 10.x.y.z
//                                                     (no local socket owns them: a remote flood) replayed into the
//                                                     veth by tcpreplay --pps RATE (apt-get install tcpreplay);
//                                               syn   the same for a random-source SYN flood to port 11434 (nothing
//                                                     listens: the daemon's kernel answers each with a RST).
//                                             The replaying senders cost this host a few % of a core (printed), the
//                                             node sender most of one. Reports kernel drops, packets
//                                             seen vs sent, peak RSS, the time from SIGTERM to exit, and the
//                                             daemon's CPU (utime+stime of /proc/PID/stat, all its threads)
//                                             per 1000 new flows offered, from the sender's start to 1.5 s after its end.
//                                             FLOOD_NS=prefix names the namespaces (default oafl); FLOOD_ROOT=dir
//                                             runs another build's bin/ollama-audit.js (e.g. the code before a change);
//                                             FLOOD_PROF=dir writes the daemon's --cpu-prof there; FLOOD_ATTRIBUTION=ebpf
//                                             requires kernel events (auto gives bpftrace 2 s to attach, too little
//                                             under load); FLOOD_OFFLOAD=off turns the daemon veth's offloads off
//                                             (libpcap then sizes its ring frames by the MTU, not for 64 KiB packets);
//                                             FLOOD_DAEMON_ARGS="--capture-buffer 32MiB" adds arguments to the daemon's;
//                                             FLOOD_CAPTURER=tcpdump runs tcpdump (-B 65536: immediate mode, the
//                                             TPACKET_V2 ring of cap's level-1 patch; FLOOD_TCPDUMP_RING=v3 leaves
//                                             immediate mode off: TPACKET_V3 with tcpdump's 1000 ms timeout, the
//                                             daemon's ring with level 2) instead of the daemon: the drops of a C
//                                             reader under the same flood;
//                                             FLOOD_NODE_ARGS="--trace-gc" adds node options to the daemon's node.
//                                             Also printed: the capture (main) thread's own CPU per 1000 captured
//                                             (the daemon's other threads: libuv, V8's, the store thread), drops
//                                             in % of what was sent, and the machine's load average before and after.
// Needs `npm run build` (dist/) first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, existsSync, statSync, readFileSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPcapWriter } from '../dist/capture/pcap-writer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });
const cli = join(process.env.FLOOD_ROOT ?? root, 'bin', 'ollama-audit.js');
const [mode = 'import', a1, a2, a3] = process.argv.slice(2);

function timed(args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`import failed (${r.status}): ${r.stderr.slice(-500)}`);
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  return { wall: Number(m[1]), rssMb: Number(m[2]) / 1024, summary: JSON.parse(r.stdout)[0] };
}

/** N SYNs from distinct (address, port) pairs to one server, Ethernet/IPv4/TCP, 10 µs apart. */
function synFlood(path, n) {
  const w = createPcapWriter(path, { linktype: 1, snaplen: 65535 });
  const f = Buffer.alloc(14 + 20 + 20);
  Buffer.from('020000000002020000000001', 'hex').copy(f, 0);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45; f.writeUInt16BE(40, 16); f[22] = 64; f[23] = 6;
  f.writeUInt32BE(((198 << 24) | (51 << 16) | (100 << 8) | 80) >>> 0, 30);
  f.writeUInt16BE(443, 36); f.writeUInt32BE(1, 38); f[46] = 5 << 4; f[47] = 0x02; f.writeUInt16BE(64240, 48);
  let ts = 1_767_225_600_000_000;
  for (let i = 0; i < n; i++) {
    f.writeUInt32BE(((10 << 24) | ((i >> 14) & 0xffff) << 8 | 1) >>> 0, 26); // 10.x.y.1: 16384 ports per address
    f.writeUInt16BE(1024 + (i & 0x3fff), 34);
    w.writePacket(ts, f, 0, f.length, f.length);
    ts += 10;
  }
  w.close();
}

function importBench(n) {
  const pcap = join(out, `syn-flood-${n}.pcap`);
  if (!existsSync(pcap)) synFlood(pcap, n);
  console.log(`capture ${pcap}: ${n} SYNs, ${(statSync(pcap).size / 1e6).toFixed(1)} MB`);
  for (const extra of [[], ['--max-flows', String(n)]]) {
    const db = join(out, 'flood.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    const r = timed(['import', pcap, '--db', db, '--json', '--again', ...extra]);
    console.log(`import ${extra.join(' ') || '(default --max-flows)'}: ${r.wall} s, peak RSS ${r.rssMb.toFixed(0)} MB, flows ${r.summary.flows}, expired_early ${JSON.stringify(r.summary.expired_early)}`);
  }
}

// ---- live ----

const NS = process.env.FLOOD_NS ?? 'oafl';
const NS_S = `${NS}-bs`, NS_D = `${NS}-bd`;
const sh = (cmd) => {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};
function cleanup() {
  for (const ns of [NS_S, NS_D]) spawnSync('ip', ['netns', 'del', ns]);
}

/** The sender, run inside NS_S: RATE datagrams/s, each from a new socket (a new source port), for SECONDS. */
const SENDER = `
const dgram = require('node:dgram');
const [rate, secs] = process.argv.slice(1).map(Number);
// 400 sockets (400 source ports) x destination ports 10000..59999: datagram k goes from socket
// k % 400 to port 10000 + floor(k / 400): every datagram is a new flow, with no socket churn.
const socks = Array.from({ length: 400 }, () => dgram.createSocket('udp4'));
const payload = Buffer.alloc(32);
let sent = 0; const t0 = Date.now();
function tick() {
  const due = Math.min(rate * secs, Math.floor((Date.now() - t0) / 1000 * rate));
  for (; sent < due; sent++) socks[sent % 400].send(payload, 10000 + Math.floor(sent / 400) % 50000, '192.0.2.2');
  if (sent < rate * secs) setTimeout(tick, 1);
  else setTimeout(() => { console.log('sent ' + sent + ' in ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s'); for (const s of socks) s.close(); }, 500);
}
tick();
`;

const SENDER_MAC = '020000000001', DAEMON_MAC = '020000000002';

/** RFC 1071 sum of buf[from, to) added to `sum`, not yet folded. */
function sum16(buf, from, to, sum = 0) {
  for (let i = from; i < to; i += 2) sum += (buf[i] << 8) | (i + 1 < to ? buf[i + 1] : 0);
  return sum;
}
const fold = (sum) => {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
};

/**
 * N packets of a remote flood into the daemon's veth (Ethernet to DAEMON_MAC), every one a new flow
 * from a distinct 10.x.y.z source (k × an odd number mod 2^24: no two alike up to 16M) and a
 * scattered port: `udp` 32-byte datagrams to 192.0.2.2 ports 10000–59999, `syn` SYNs to
 * 192.0.2.2:11434. Checksums are right, so the daemon's kernel takes them in (and answers SYNs with RSTs).
 */
function remoteFlood(path, kind, n) {
  const w = createPcapWriter(path, { linktype: 1, snaplen: 65535 });
  const l4 = kind === 'syn' ? 20 : 8 + 32;
  const f = Buffer.alloc(14 + 20 + l4);
  Buffer.from(DAEMON_MAC + SENDER_MAC, 'hex').copy(f, 0);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45; f.writeUInt16BE(20 + l4, 16); f[22] = 64; f[23] = kind === 'syn' ? 6 : 17;
  f.writeUInt32BE(((192 << 24) | (2 << 8) | 2) >>> 0, 30);
  let ts = 1_767_225_600_000_000;
  for (let k = 0; k < n; k++) {
    const h = Math.imul(k + 1, 0x9e3779b1) >>> 0;
    f.writeUInt32BE(((10 << 24) | (Math.imul(k, 0x5bd1e5) & 0xffffff)) >>> 0, 26);
    f.writeUInt16BE(k & 0xffff, 18); // IP id
    f.writeUInt16BE(0, 24);
    f.writeUInt16BE(fold(sum16(f, 14, 34)), 24);
    f.writeUInt16BE(1024 + (h % 60000), 34);
    if (kind === 'syn') {
      f.writeUInt16BE(11434, 36); f.writeUInt32BE(h, 38); f.writeUInt32BE(0, 42);
      f[46] = 5 << 4; f[47] = 0x02; f.writeUInt16BE(64240, 48); f.writeUInt16BE(0, 50); f.writeUInt16BE(0, 52);
    } else {
      f.writeUInt16BE(10000 + ((h >>> 8) % 50000), 36); f.writeUInt16BE(8 + 32, 38); f.writeUInt16BE(0, 40);
    }
    // Transport checksum over the pseudo-header (addresses, protocol, length) and the segment.
    const csumAt = kind === 'syn' ? 50 : 40;
    const sum = fold(sum16(f, 34, f.length, sum16(f, 26, 34) + f[23] + l4));
    f.writeUInt16BE(kind === 'udp' && sum === 0 ? 0xffff : sum, csumAt);
    w.writePacket(ts, f, 0, f.length, f.length);
    ts += 1_000_000 / 20_000;
  }
  w.close();
}

/** The sender as a command run in NS_S; its stdout names how many it sent (parsed by sentOf). */
function senderCommand(kind, rate, secs) {
  if (kind === 'node') return [process.execPath, '-e', SENDER, String(rate), String(secs)];
  const n = rate * secs;
  const pcap = join(out, `remote-${kind}-${n}.pcap`);
  if (!existsSync(pcap)) remoteFlood(pcap, kind, n);
  // --pps-multi: a burst per 1 ms tick rather than a sleep per packet; -T nano sleeps between them (gtod spins);
  // --no-flow-stats: tcpreplay's own table of the flood's flows cost it most of a core. Measured at 20,000/s:
  // ~0.1 s of CPU per second, most of it the veth's delivery into the daemon's namespace (system time).
  return ['tcpreplay', '-q', '--no-flow-stats', '--preload-pcap', '-T', 'nano', `--pps=${rate}`, `--pps-multi=${Math.max(1, Math.round(rate / 1000))}`, '-i', `${NS_S}0`, pcap];
}

function sentOf(kind, stdout, fallback) {
  const m = kind === 'node' ? /sent (\d+)/.exec(stdout) : /Actual: (\d+) packets/.exec(stdout);
  return Number(m?.[1] ?? fallback);
}

async function liveBench(rate, secs, kind) {
  if (!['node', 'udp', 'syn'].includes(kind)) throw new Error(`sender ${kind}: node, udp or syn`);
  cleanup();
  try {
    sh(`ip netns add ${NS_S} && ip netns add ${NS_D}`);
    sh(`ip link add ${NS_S}0 netns ${NS_S} type veth peer name ${NS_D}0 netns ${NS_D}`);
    sh(`ip -n ${NS_S} addr add 192.0.2.1/24 dev ${NS_S}0 && ip -n ${NS_S} link set ${NS_S}0 up && ip -n ${NS_S} link set lo up`);
    sh(`ip -n ${NS_D} addr add 192.0.2.2/24 dev ${NS_D}0 && ip -n ${NS_D} link set ${NS_D}0 up && ip -n ${NS_D} link set lo up`);
    // Fixed MACs (the replayed frames are addressed to the daemon's), and a way back for its answers to 10/8.
    const mac = (hex) => hex.match(/../g).join(':');
    sh(`ip -n ${NS_S} link set ${NS_S}0 address ${mac(SENDER_MAC)} && ip -n ${NS_D} link set ${NS_D}0 address ${mac(DAEMON_MAC)}`);
    sh(`ip -n ${NS_D} neigh replace 192.0.2.1 lladdr ${mac(SENDER_MAC)} dev ${NS_D}0 nud permanent && ip -n ${NS_D} route add 10.0.0.0/8 via 192.0.2.1`);
    // FLOOD_OFFLOAD=off: no segmentation offloads on the daemon's veth. With any of them on, libpcap
    // sizes each ring frame for a 64 KiB packet, so the 32 MiB ring holds ~500 packets (a few ms of a flood).
    if (process.env.FLOOD_OFFLOAD === 'off') sh(`ip netns exec ${NS_D} ethtool -K ${NS_D}0 tso off gso off gro off`);
    const senderCmd = senderCommand(kind, rate, secs);
    const db = join(out, 'flood-live.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    rmSync(join(out, 'flood-live.evidence'), { recursive: true, force: true });
    // FLOOD_ATTRIBUTION=ebpf: kernel events required (auto gives up when bpftrace is not attached within 2 s, as under a loaded machine).
    const attribution = process.env.FLOOD_ATTRIBUTION ? ['--attribution', process.env.FLOOD_ATTRIBUTION] : [];
    const daemonArgs = (process.env.FLOOD_DAEMON_ARGS ?? '').split(/\s+/).filter(Boolean);
    if (process.env.FLOOD_CAPTURER === 'tcpdump') return await tcpdumpReference(senderCmd, kind, rate, secs);
    const prof = process.env.FLOOD_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FLOOD_PROF}`] : [];
    prof.push(...(process.env.FLOOD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
    // Its stdout (--trace-gc lines with FLOOD_NODE_ARGS) goes straight to a file: a pipe would fill
    // while this thread waits for the sender, and the daemon's writes to it would be lost.
    const stdoutFile = join(out, 'flood-daemon.stdout');
    const stdoutFd = openSync(stdoutFile, 'w');
    const daemon = spawn('ip', ['netns', 'exec', NS_D, '/usr/bin/time', '-f', 'TIME %e %M', process.execPath, ...prof, cli, 'daemon',
      '-i', `${NS_D}0`, '--db', db, '--evidence', 'none', ...attribution, ...daemonArgs], { stdio: ['ignore', stdoutFd, 'pipe'] });
    let err = '';
    daemon.stderr.on('data', (d) => { err += d; });
    closeSync(stdoutFd);
    const exited = new Promise((res) => daemon.on('exit', res));
    let gone = false;
    void exited.then(() => { gone = true; });
    while (!/capturing on/.test(err)) {
      if (gone) throw new Error(`the daemon exited: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const nodePid = Number(sh(`pgrep -P ${daemon.pid}`).trim()); // node, under /usr/bin/time (ip netns exec execs it)
    const load0 = loadAverage();
    const cpu0 = cpuMs(nodePid);
    const main0 = cpuMs(nodePid, nodePid);
    const memory = sampleMemory(nodePid, db);
    const sender = spawnSync('ip', ['netns', 'exec', NS_S, '/usr/bin/time', '-f', 'SENDER %U %S %e', ...senderCmd], { encoding: 'utf8' });
    if (sender.status !== 0) throw new Error(`the sender failed: ${sender.stderr}`);
    const [, su, ss, se] = /SENDER ([\d.]+) ([\d.]+) ([\d.]+)/.exec(sender.stderr) ?? [];
    await new Promise((r) => setTimeout(r, 1500));
    const cpu = cpuMs(nodePid) - cpu0;
    const mainCpu = cpuMs(nodePid, nodePid) - main0;
    const peak = await memory.stop();
    const t0 = Date.now();
    process.kill(nodePid, 'SIGTERM');
    await exited;
    const stopS = (Date.now() - t0) / 1000;
    const m = /TIME ([\d.]+) (\d+)/.exec(err);

    const sq = spawnSync('node', ['-e', `const D=require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))});const d=new D(${JSON.stringify(db)},{readonly:true});console.log(JSON.stringify({session:d.prepare('select packets,drops,expired_early,attribution from sessions').get(),flows:d.prepare('select count(*) n from flows').get().n}))`], { encoding: 'utf8' });
    const r = JSON.parse(sq.stdout);
    // How flows were named: kernel-events+procfs, or procfs (and why: auto gives bpftrace 2 s to attach).
    const att = JSON.parse(r.session.attribution ?? '{}');
    r.session.attribution = `${att.method}${att.why_not ? ` (${att.why_not})` : ''}`;
    const sent = sentOf(kind, sender.stdout, rate * secs);
    const captured = r.session.packets;
    const per = (ms, n) => (ms / (n / 1000)).toFixed(1);
    // Flows the daemon saw (its stopped line): some may be unwritten at stop, so the store can hold fewer.
    const seen = Number(/stopped: \d+ packets, (\d+) flows/.exec(err)?.[1] ?? r.flows);
    console.log(`live ${kind} ${rate}/s for ${secs} s: sent ${sent} (sender CPU ${((Number(su) + Number(ss)) * 1000).toFixed(0)} ms in ${se} s); daemon: ${JSON.stringify(r)}; peak RSS ${(Number(m?.[2]) / 1024).toFixed(0)} MB; SIGTERM to exit ${stopS.toFixed(2)} s`);
    // A SYN flood's packets on the wire are twice those sent (each SYN gets a RST): drops in % of what the capture was offered.
    const offered = captured + r.session.drops;
    console.log(`  drops ${r.session.drops} (${((r.session.drops / offered) * 100).toFixed(1)} % of ${offered} captured + dropped; ${sent} sent); CPU per 1000 captured packets: all threads ${per(cpu, captured)} ms, capture thread ${per(mainCpu, captured)} ms; per 1000 flows seen (${seen}): ${per(cpu, seen)} / ${per(mainCpu, seen)} ms; load average ${load0} before, ${loadAverage()} after`);
    console.log(`  at the highest RSS sampled (every 250 ms until SIGTERM): RSS ${peak.VmRSS} MB = anonymous ${peak.RssAnon} + file (the ring) ${peak.RssFile} + shmem ${peak.RssShmem} MB`);
    // Per second: packets captured and dropped in it (as the store had them), RSS.
    const steps = peak.line.map(([sec, rss, p, d], k) => `${sec}s ${rss}MB +${p - (peak.line[k - 1]?.[2] ?? 0)}/-${d - (peak.line[k - 1]?.[3] ?? 0)}`);
    console.log(`  per second (RSS, packets / drops since the previous): ${steps.join(' ')}`);
    console.log(err.split('\n').filter((l) => /stopped|unwritten|kernel socket events|attribution from/.test(l)).join('\n'));
  } finally {
    cleanup();
  }
}

/**
 * FLOOD_CAPTURER=tcpdump: tcpdump itself on the daemon's veth under the same flood, with 64 MiB
 * asked: what a C reader that does nothing but write packets to a file drops on this machine. Its
 * own count ("dropped by kernel") is printed. Immediate mode (TPACKET_V2) unless FLOOD_TCPDUMP_RING=v3.
 */
async function tcpdumpReference(senderCmd, kind, rate, secs) {
  const file = join(out, 'flood-tcpdump.pcap');
  rmSync(file, { force: true });
  const immediate = process.env.FLOOD_TCPDUMP_RING === 'v3' ? [] : ['--immediate-mode'];
  const td = spawn('ip', ['netns', 'exec', NS_D, 'tcpdump', '-i', `${NS_D}0`, ...immediate, '-B', '65536', '-w', file, '-Z', 'root'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  td.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((res) => td.on('exit', res));
  while (!/listening on/.test(err)) await new Promise((r) => setTimeout(r, 100));
  const pid = td.pid; // ip netns exec execs tcpdump: the same process
  const load0 = loadAverage();
  const cpu0 = cpuMs(pid);
  const sender = spawnSync('ip', ['netns', 'exec', NS_S, ...senderCmd], { encoding: 'utf8' });
  if (sender.status !== 0) throw new Error(`the sender failed: ${sender.stderr}`);
  await new Promise((r) => setTimeout(r, 1500));
  const cpu = cpuMs(pid) - cpu0;
  td.kill('SIGTERM');
  await exited;
  const sent = sentOf(kind, sender.stdout, rate * secs);
  const captured = Number(/(\d+) packets? captured/.exec(err)?.[1]);
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(err)?.[1]);
  console.log(`tcpdump (${immediate.length ? 'immediate mode, TPACKET_V2' : 'TPACKET_V3'}) ${kind} ${rate}/s for ${secs} s: sent ${sent}; captured ${captured}, dropped by kernel ${dropped} ` +
    `(${((dropped / (captured + dropped)) * 100).toFixed(1)} % of captured + dropped); tcpdump CPU ${cpu.toFixed(0)} ms; load average ${load0} before, ${loadAverage()} after`);
}

/**
 * Samples the daemon every 250 ms in a child (this thread blocks in spawnSync while the sender runs):
 * /proc/PID/status (VmRSS, RssAnon, RssFile) and the session's packets and drops as last written to
 * the store (each second). stop() gives the sample of highest VmRSS (MB) and the timeline, one entry
 * per second: [s, RSS MB, packets, drops] (where the drops happen: bursts or steady).
 */
function sampleMemory(pid, db) {
  const script = `
const fs = require('fs');
const D = require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))});
let d = null; let best = null; const line = []; const t0 = Date.now(); let lastSec = -1;
const t = setInterval(() => {
  try {
    const s = fs.readFileSync('/proc/${pid}/status', 'utf8');
    const o = {};
    for (const k of ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem']) o[k] = Math.round(Number(new RegExp(k + ':\\\\s+(\\\\d+)').exec(s)[1]) / 1024);
    if (!best || o.VmRSS > best.VmRSS) best = o;
    const sec = Math.floor((Date.now() - t0) / 1000);
    if (sec !== lastSec) {
      lastSec = sec;
      try { d ??= new D(${JSON.stringify(db)}, { readonly: true, fileMustExist: true }); } catch {}
      const r = d?.prepare('select packets, drops from sessions').get();
      line.push([sec, o.VmRSS, r?.packets ?? 0, r?.drops ?? 0]);
    }
  } catch {}
}, 250);
process.on('SIGTERM', () => { clearInterval(t); process.stdout.write(JSON.stringify({ best, line })); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d) => { text += d; });
  return {
    async stop() {
      const done = new Promise((res) => child.on('exit', res));
      child.kill('SIGTERM');
      await done;
      const r = JSON.parse(text || '{"best":{},"line":[]}');
      return { ...r.best, line: r.line };
    },
  };
}

/** utime + stime of a process (all its threads), or of one of its threads, ms. */
function cpuMs(pid, tid) {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14, 15; USER_HZ is 100 on Linux
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('SIGTERM', () => { cleanup(); process.exit(143); });
if (mode === 'import') importBench(Number(a1 ?? 1_000_000));
else if (mode === 'live') await liveBench(Number(a1 ?? 20_000), Number(a2 ?? 20), a3 ?? 'node');
else {
  console.error('usage: node bench/flood.mjs import [N] | live [RATE] [SECONDS] [node|udp|syn]');
  process.exit(2);
}
