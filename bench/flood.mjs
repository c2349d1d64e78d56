// Flood benchmarks (issue #9 item 6). Figures go to bench/RESULTS.md by hand.
//
//   node bench/flood.mjs import [N=1000000]   generate N distinct SYNs (10 µs apart: 100k/s, all within the
//                                             30 s half-open timeout, so all "open" at once) and import them
//                                             with /usr/bin/time -f %M: peak RSS, wall time, expired_early;
//                                             also with --max-flows N (nothing evicted) for bytes per open flow.
//   node bench/flood.mjs live [RATE=20000] [SECONDS=20]
//                                             root: namespaces oafl-bs (sender) and oafl-bd (daemon) on a veth
//                                             pair; a node sender sends RATE UDP datagrams/s, each to a new
//                                             (source port, destination port) pair, a new flow, for SECONDS while the daemon captures on
//                                             the daemon's veth; then SIGTERM. Reports kernel drops, packets
//                                             seen vs sent, peak RSS, the time from SIGTERM to exit, and the
//                                             daemon's CPU (utime+stime of /proc/PID/stat, all its threads)
//                                             per 1000 new flows offered, from the sender's start to 1.5 s after its end.
//                                             FLOOD_NS=prefix names the namespaces (default oafl); FLOOD_ROOT=dir
//                                             runs another build's bin/ollama-audit.js (e.g. the code before a change);
//                                             FLOOD_PROF=dir writes the daemon's --cpu-prof there.
//                                             Also printed: the capture (main) thread's own CPU per 1000 captured
//                                             (the daemon's other threads: libuv, V8's, the store thread), drops
//                                             in % of what was sent, and the machine's load average before and after.
// Needs `npm run build` (dist/) first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, existsSync, statSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPcapWriter } from '../dist/capture/pcap-writer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });
const cli = join(process.env.FLOOD_ROOT ?? root, 'bin', 'ollama-audit.js');
const [mode = 'import', a1, a2] = process.argv.slice(2);

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

async function liveBench(rate, secs) {
  cleanup();
  try {
    sh(`ip netns add ${NS_S} && ip netns add ${NS_D}`);
    sh(`ip link add ${NS_S}0 netns ${NS_S} type veth peer name ${NS_D}0 netns ${NS_D}`);
    sh(`ip -n ${NS_S} addr add 192.0.2.1/24 dev ${NS_S}0 && ip -n ${NS_S} link set ${NS_S}0 up && ip -n ${NS_S} link set lo up`);
    sh(`ip -n ${NS_D} addr add 192.0.2.2/24 dev ${NS_D}0 && ip -n ${NS_D} link set ${NS_D}0 up && ip -n ${NS_D} link set lo up`);
    const db = join(out, 'flood-live.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    rmSync(join(out, 'flood-live.evidence'), { recursive: true, force: true });
    const prof = process.env.FLOOD_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FLOOD_PROF}`] : [];
    const daemon = spawn('ip', ['netns', 'exec', NS_D, '/usr/bin/time', '-f', 'TIME %e %M', process.execPath, ...prof, cli, 'daemon',
      '-i', `${NS_D}0`, '--db', db, '--evidence', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    daemon.stderr.on('data', (d) => { err += d; });
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
    const sender = spawnSync('ip', ['netns', 'exec', NS_S, process.execPath, '-e', SENDER, String(rate), String(secs)], { encoding: 'utf8' });
    await new Promise((r) => setTimeout(r, 1500));
    const cpu = cpuMs(nodePid) - cpu0;
    const mainCpu = cpuMs(nodePid, nodePid) - main0;
    const t0 = Date.now();
    process.kill(nodePid, 'SIGTERM');
    await exited;
    const stopS = (Date.now() - t0) / 1000;
    const m = /TIME ([\d.]+) (\d+)/.exec(err);

    const sq = spawnSync('node', ['-e', `const D=require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))});const d=new D(${JSON.stringify(db)},{readonly:true});console.log(JSON.stringify({session:d.prepare('select packets,drops,expired_early from sessions').get(),flows:d.prepare('select count(*) n from flows').get().n}))`], { encoding: 'utf8' });
    console.log(`live ${rate}/s for ${secs} s: sender: ${sender.stdout.trim()}; daemon: ${sq.stdout.trim()}; peak RSS ${(Number(m?.[2]) / 1024).toFixed(0)} MB; SIGTERM to exit ${stopS.toFixed(2)} s; CPU ${cpu.toFixed(0)} ms = ${(cpu / (rate * secs / 1000)).toFixed(1)} ms per 1000 new flows offered, ${(cpu / (JSON.parse(sq.stdout).session.packets / 1000)).toFixed(1)} ms per 1000 captured`);
    const r = JSON.parse(sq.stdout);
    const sent = Number(/sent (\d+)/.exec(sender.stdout)?.[1] ?? rate * secs);
    const captured = r.session.packets;
    console.log(`  drops ${r.session.drops} (${((r.session.drops / sent) * 100).toFixed(1)} % of ${sent} sent); capture thread CPU ${mainCpu.toFixed(0)} ms = ${(mainCpu / (captured / 1000)).toFixed(1)} ms per 1000 captured; load average ${load0} before, ${loadAverage()} after`);
    console.log(err.split('\n').filter((l) => /stopped|unwritten/.test(l)).join('\n'));
  } finally {
    cleanup();
  }
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
else if (mode === 'live') await liveBench(Number(a1 ?? 20_000), Number(a2 ?? 20));
else {
  console.error('usage: node bench/flood.mjs import [N] | live [RATE] [SECONDS]');
  process.exit(2);
}
