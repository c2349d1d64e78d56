// `npm run bench`: generates a deterministic 1,000,000-packet capture over 50,000 flows, then
// times `ollama-audit import` against `tcpdump -r` and `tshark -z conv` on the same file in the
// same run (median of 3 runs each; GNU time gives wall time and peak RSS). Prints a table and
// the ratios, and writes bench/out/results.json. It also times bench/js-floor.mjs (reading,
// decoding and a bare flow lookup in JavaScript, nothing else) to show how much of the budget
// the language alone takes on this machine. BENCH_BASELINE=DIR also times another checkout's import, alternating run by run with this one (wall and CPU time both reported). Needs tcpdump, tshark and GNU time
// (Debian: apt-get install -y tcpdump tshark time).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate-capture.mjs';
import { createPcapWriter } from '../dist/capture/pcap-writer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', 'out');
const PACKETS = Number(process.env.BENCH_PACKETS ?? 1_000_000);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 50_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
mkdirSync(out, { recursive: true });
const capture = join(out, `bench-${PACKETS}-${FLOWS}.pcap`);

for (const tool of ['tcpdump', 'tshark', '/usr/bin/time']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench: ${tool} is missing: apt-get install -y tcpdump tshark time`);
    process.exit(2);
  }
}

if (!existsSync(capture)) {
  const t0 = Date.now();
  const w = createPcapWriter(capture, { linktype: 1, snaplen: 262144 });
  const g = generate(w, { packets: PACKETS, flows: FLOWS });
  w.close();
  console.log(`generated ${capture}: ${g.packets} packets, ${g.flows} flows, ${(statSync(capture).size / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function timed(cmd, args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-500)}`);
  const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  // cpu: user + system time of all the process's threads; on a shared machine it moves less than wall time.
  return { wall: Number(m[1]), rssMb: Number(m[2]) / 1024, cpu: Number(m[3]) + Number(m[4]), stdout: r.stdout };
}

function median(runs) {
  const s = [...runs].sort((a, b) => a.wall - b.wall);
  const cpus = runs.map((r) => r.cpu).sort((a, b) => a - b);
  return { ...s[Math.floor(s.length / 2)], cpu: cpus[Math.floor(cpus.length / 2)] };
}

const db = join(out, 'bench.db');
// BENCH_BASELINE=/path/to/another/checkout (its dist/ built): that version's import is timed in the
// same run, on the same file, so a change's cost is measured before/after on one machine state.
const BASELINE = process.env.BENCH_BASELINE;
const importWith = (checkout) => () => {
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  return timed(process.execPath, [join(checkout, 'bin', 'ollama-audit.js'), 'import', capture, '--db', db, '--json']);
};
const cases = {
  'ollama-audit import': importWith(root),
  'tcpdump -r -w /dev/null': () => timed('tcpdump', ['-n', '-Z', 'root', '-r', capture, '-w', '/dev/null']),
  'tshark -z conv,tcp -z conv,udp': () => timed('tshark', ['-n', '-r', capture, '-q', '-z', 'conv,tcp', '-z', 'conv,udp']),
  'JS floor': () => timed(process.execPath, [join(root, 'bench', 'js-floor.mjs'), capture]),
};

// The machine may be shared: the load average before and after says how much the figures can be trusted.
const loadAtStart = loadavg()[0];
const results = {};
const show = (name, runs) => process.stderr.write(`${name}: ${runs.map((r) => `${r.wall.toFixed(2)} s (cpu ${r.cpu.toFixed(2)})`).join(' / ')}\n`);
// With a baseline, the two imports alternate run by run, so both meet the same machine load.
if (BASELINE) {
  const mine = [];
  const theirs = [];
  for (let i = 0; i < RUNS; i++) {
    mine.push(importWith(root)());
    theirs.push(importWith(BASELINE)());
  }
  results['ollama-audit import (baseline)'] = median(theirs);
  show('ollama-audit import (baseline)', theirs);
  results['ollama-audit import'] = median(mine);
  show('ollama-audit import', mine);
  delete cases['ollama-audit import'];
}
for (const [name, run] of Object.entries(cases)) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(run());
  results[name] = median(runs);
  show(name, runs);
}

const imp = results['ollama-audit import'];
const summary = JSON.parse(imp.stdout)[0];
const tcpdump = results['tcpdump -r -w /dev/null'];
const tshark = results['tshark -z conv,tcp -z conv,udp'];
const floor = results['JS floor'];
const row = (name, r) => `| ${name} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${Math.round(PACKETS / r.wall).toLocaleString('en-US')} | ${r.rssMb.toFixed(0)} |`;
const tsharkRatio = tshark.wall / imp.wall;
const tcpdumpRatio = imp.wall / tcpdump.wall;
const report = [
  `capture: ${PACKETS.toLocaleString('en-US')} packets, ${FLOWS.toLocaleString('en-US')} flows, ${(statSync(capture).size / 1e6).toFixed(1)} MB (import found ${summary.flows} flows, ${summary.named_flows} named)`,
  `machine: ${cpus().length} × ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; median of ${RUNS} runs`,
  `load average (1 min): ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`,
  '',
  '| command | wall s | cpu s (user + sys) | packets/s | peak RSS MB |',
  '|---|---|---|---|---|',
  row('ollama-audit import', imp),
  row('tcpdump -r FILE -w /dev/null', tcpdump),
  row('tshark -r FILE -q -z conv,tcp -z conv,udp', tshark),
  row('node bench/js-floor.mjs FILE (read + decode + flow lookup only)', floor),
  ...(BASELINE ? [row(`ollama-audit import, baseline ${BASELINE}`, results['ollama-audit import (baseline)'])] : []),
  '',
  ...(BASELINE ? [`import / baseline import = ${(imp.wall / results['ollama-audit import (baseline)'].wall).toFixed(2)}× wall, ${(imp.cpu / results['ollama-audit import (baseline)'].cpu).toFixed(2)}× cpu`] : []),
  `tshark / import = ${tsharkRatio.toFixed(1)}× (target ≥ 20×: ${tsharkRatio >= 20 ? 'met' : 'NOT met'})`,
  `import / tcpdump = ${tcpdumpRatio.toFixed(1)}× (target ≤ 4×: ${tcpdumpRatio <= 4 ? 'met' : 'NOT met'})`,
  `import peak RSS = ${imp.rssMb.toFixed(0)} MB (target ≤ 300 MB: ${imp.rssMb <= 300 ? 'met' : 'NOT met'})`,
  `JS floor / tcpdump = ${(floor.wall / tcpdump.wall).toFixed(1)}×; import / JS floor = ${(imp.wall / floor.wall).toFixed(1)}×`,
].join('\n');
console.log(report);
writeFileSync(join(out, 'results.json'), JSON.stringify({ packets: PACKETS, flows: FLOWS, results, summary, load: [loadAtStart, loadavg()[0]], date: new Date().toISOString() }, null, 2));
