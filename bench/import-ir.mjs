// `node bench/import-ir.mjs CHECKOUT...`: instructions (valgrind callgrind's Ir) of one import of the
// same generated capture by each checkout (its dist/ built), per thread, with what V8's compiler,
// the garbage collector, SHA-256 and SQLite take of each. Instruction counts do not depend on
// the machine's load, where wall and CPU time on this shared 2-core VM spread by ±20 % run to run
// (bench/RESULTS.md, Import). V8 runs with --no-concurrent-recompilation and --single-threaded-gc:
// its compiling and collecting is then done on the thread that asks for it and counted there, and
// the same checkout gives the same counts run after run (within 0.1 %; with V8's helper threads
// they moved by ±10 %, depending on when a compiled function became ready).
// BENCH_PACKETS / BENCH_FLOWS: the capture (default 100,000 / 5,000: about 2 minutes a checkout).
// Needs valgrind (apt-get install -y valgrind).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate-capture.mjs';
import { createPcapWriter } from '../dist/capture/pcap-writer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKETS = Number(process.env.BENCH_PACKETS ?? 100_000);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 5_000);
const checkouts = process.argv.slice(2).map((c) => resolve(c));
if (checkouts.length === 0) checkouts.push(root);
for (const tool of ['valgrind', 'callgrind_annotate']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`import-ir: ${tool} is missing: apt-get install -y valgrind`);
    process.exit(2);
  }
}
for (const c of checkouts) {
  if (!existsSync(join(c, 'dist', 'commands', 'cli.js'))) {
    console.error(`import-ir: ${c} has no dist/: build it first (npx tsc -p tsconfig.build.json)`);
    process.exit(2);
  }
}

const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });
const capture = join(out, `bench-${PACKETS}-${FLOWS}.pcap`);
if (!existsSync(capture)) {
  const w = createPcapWriter(capture, { linktype: 1, snaplen: 262144 });
  generate(w, { packets: PACKETS, flows: FLOWS });
  w.close();
}

/** Where an instruction was spent, by the function callgrind names (V8's compiled JavaScript has no name: "other"). */
function kindOf(fn) {
  if (/sha256/.test(fn)) return 'sha256';
  if (/better_sqlite3/.test(fn)) return 'sqlite';
  if (/compiler::|Turboshaft|turboshaft|maglev|Compil/.test(fn)) return 'compile';
  if (/Mark|Scaveng|Sweep|Evacuat|Heap|GC|Remembered|Slot|heap::/.test(fn)) return 'gc';
  return 'other';
}

/** Per thread (callgrind's --separate-threads files): its Ir and its Ir by kind. */
function threadsOf(dir) {
  const threads = [];
  for (const f of readdirSync(dir).filter((n) => /^cg\.out-\d+$/.test(n)).sort()) {
    const r = spawnSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', join(dir, f)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const t = { total: 0, compile: 0, gc: 0, sha256: 0, sqlite: 0, other: 0 };
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$/.exec(line);
      if (!m) continue;
      const ir = Number(m[1].replace(/,/g, ''));
      if (m[2].includes('PROGRAM TOTALS')) t.total = ir;
      else t[kindOf(m[2])] += ir;
    }
    if (t.total > 1e6) threads.push(t);
  }
  return threads;
}

const M = (n) => `${Math.round(n / 1e6).toLocaleString('en-US')} M`;
const rows = [];
for (const checkout of checkouts) {
  const dir = mkdtempSync(join(out, 'ir-'));
  const r = spawnSync('valgrind', [
    '--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', '--dump-instr=no', `--callgrind-out-file=${join(dir, 'cg.out')}`,
    process.execPath, '--no-concurrent-recompilation', '--single-threaded-gc',
    join(checkout, 'bin', 'ollama-audit.js'), 'import', capture, '--db', join(dir, 'x.db'), '--json',
  ], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`import under valgrind failed (${r.status}): ${r.stderr.slice(-500)}`);
  const threads = threadsOf(dir);
  rmSync(dir, { recursive: true, force: true });
  // The capture thread is the first; the writer thread is the one that ran SQLite.
  const decoding = threads[0];
  const writer = threads.slice(1).sort((a, b) => b.sqlite - a.sqlite)[0];
  const all = threads.reduce((s, t) => s + t.total, 0);
  rows.push(`| ${checkout} | ${M(decoding.total)} (compile ${M(decoding.compile)}, gc ${M(decoding.gc)}) | ${M(writer.total)} (compile ${M(writer.compile)}, `
    + `gc ${M(writer.gc)}, SHA-256 ${M(writer.sha256)}, SQLite ${M(writer.sqlite)}) | ${M(all)} |`);
  process.stderr.write(`${rows.at(-1)}\n`);
}
console.log([
  `capture: ${capture} (${(statSync(capture).size / 1e6).toFixed(1)} MB); callgrind, V8 compiling and collecting on the asking thread`,
  '',
  '| checkout | capture thread Ir | writer thread Ir | all threads |',
  '|---|---|---|---|',
  ...rows,
].join('\n'));
