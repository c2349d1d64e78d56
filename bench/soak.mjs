// Soak benchmark (issue #12, "Bounded for months"; not a test). Run as root from the repository,
// after `npx tsc -p tsconfig.build.json`:
//
//   node bench/soak.mjs [--seconds 600] [--rate 200] [--retain 60] [--root DIR] [--append]
//
// --root DIR runs another build's dist/ (e.g. a worktree of the code before a change, built there),
// so that before and after can alternate in one session.
//
// In a network namespace of its own (oart-soak, or $SOAK_NS: only its loopback; deleted at the end and before
// the start), a node HTTP server and a client opening --rate new TCP connections a second to it
// (one request each, Connection: close), for --seconds. The live engine (what `daemon` runs:
// src/live/engine.ts, from dist/) captures lo in this process with `--retain` seconds, procfs
// attribution and --evidence none (evidence retention is the evidence writer's, measured elsewhere).
// Measured:
//   - per second: the engine's write and the retention step after it, in ms. Since the write moved
//     to the engine's store thread: the store thread's transaction time of the second (`second`
//     event's writeMs), the capture thread's time building and sending its rows (buildMs), and the
//     store thread's retention step and WAL checkpoint (`maintained` event). A build from before
//     (writes on the capture thread) is measured by wrapping its two store calls, as then;
//   - every 10 s: this process's RSS, the store's size (database + WAL files; and the pages in use),
//     flows stored, flows rolled up.
// Warm-up: the first --retain + 60 s (the store fills up to the window, then retention starts to
// delete). Reported: RSS and store size at the end of warm-up and their largest value after it, the
// growth in %, write and step time (median, p99, max), flows stored / rolled up at the end.
// --append writes the results under "## Soak (issue #12)" in bench/RESULTS.md (replacing that section).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const SECONDS = Number(opt('seconds', '600'));
const RATE = Number(opt('rate', '200'));
const RETAIN = Number(opt('retain', '60'));
const APPEND = args.includes('--append');
const BUILD = opt('root', root);
const NS = process.env.SOAK_NS ?? 'oart-soak'; // SOAK_NS: another name, e.g. two runs at once
const PORT = 8099;

if (process.getuid?.() !== 0) { console.error('bench/soak.mjs: run as root (a network namespace, live capture)'); process.exit(2); }
if (!existsSync(join(BUILD, 'dist/live/engine.js'))) { console.error(`bench/soak.mjs: no ${join(BUILD, 'dist')}: run \`npx tsc -p tsconfig.build.json\` there first`); process.exit(2); }

const sh = (cmd, a) => spawnSync(cmd, a, { encoding: 'utf8' });
const loadStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cleanupNs() {
  for (const pid of (sh('ip', ['netns', 'pids', NS]).stdout ?? '').split('\n').filter(Boolean)) {
    if (Number(pid) !== process.pid) try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
  sh('ip', ['netns', 'del', NS]);
}

if (!args.includes('--inside')) {
  // Outside: make the namespace, run this script inside it, and always delete it.
  cleanupNs();
  if (sh('ip', ['netns', 'add', NS]).status !== 0) { console.error(`bench/soak.mjs: cannot create namespace ${NS}`); process.exit(2); }
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, fileURLToPath(import.meta.url), '--inside', ...args], { stdio: 'inherit' });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise((r) => child.once('exit', (c) => r(c ?? 1)));
  cleanupNs();
  process.exit(code);
}

const SERVER = `require('http').createServer((q, s) => { s.setHeader('Connection', 'close'); s.end('ok'); }).listen(${PORT}, '127.0.0.1');`;
// One new connection every 1000/RATE ms, paced against the clock (a late timer catches up).
const CLIENT = `
const http = require('http');
const start = Date.now(); let n = 0;
setInterval(() => {
  const due = Math.floor((Date.now() - start) * ${RATE} / 1000);
  for (; n < due; n++) http.get({ host: '127.0.0.1', port: ${PORT}, path: '/x' + n, agent: false }, (r) => r.resume()).on('error', () => {});
}, 5);`;

const kids = [spawn(process.execPath, ['-e', SERVER], { stdio: 'ignore' })];
const dir = mkdtempSync(join(tmpdir(), 'oart-soak-'));
const db = join(dir, 'soak.db');
const { startLiveEngine } = await import(join(BUILD, 'dist/live/engine.js'));
const { settingsFromOptions } = await import(join(BUILD, 'dist/settings.js'));
const Database = (await import('better-sqlite3')).default;

const settings = settingsFromOptions({ db, interface: ['lo'], evidence: 'none', retain: RETAIN, attribution: 'procfs' });
const engine = startLiveEngine(settings);
engine.on('warning', (w) => console.error(`warning: ${w}`));

// Per second: the write's time (store thread, or capture thread before it had one), the capture
// thread's share of it, the retention step (and, with a store thread, its checkpoint).
const writes = [];
const builds = [];
const steps = [];
const checkpoints = [];
const storeThread = engine.session === undefined;
if (storeThread) {
  engine.on('second', (s) => {
    writes.push({ at: Date.now(), ms: s.writeMs });
    builds.push({ at: Date.now(), ms: s.buildMs });
  });
  engine.on('maintained', (m) => {
    steps.push({ at: Date.now(), ms: m.retainMs });
    checkpoints.push({ at: Date.now(), ms: m.checkpointMs });
  });
} else {
  // Bench only: wraps the objects' methods. A second's write could be several flush calls (chunks): summed per second.
  const flush = engine.session.flush;
  engine.session.flush = (b) => {
    const t = performance.now();
    try { return flush(b); } finally {
      const ms = performance.now() - t;
      const last = writes.at(-1);
      if (last && Date.now() - last.at < 500) last.ms += ms; else writes.push({ at: Date.now(), ms });
      builds.length = writes.length;
    }
  };
  const step = engine.retention.step;
  engine.retention.step = (...a) => { const t = performance.now(); try { return step(...a); } finally { steps.push({ at: Date.now(), ms: performance.now() - t }); } };
}

await sleep(1000);
kids.push(spawn(process.execPath, ['-e', CLIENT], { stdio: 'ignore' }));
const reader = new Database(db, { readonly: true });
const fileSize = (p) => { try { return statSync(p).size; } catch { return 0; } };
const samples = [];
const t0 = Date.now();
while (Date.now() - t0 < SECONDS * 1000) {
  await sleep(10_000);
  const pages = reader.pragma('page_count', { simple: true }) - reader.pragma('freelist_count', { simple: true });
  const s = {
    t: Math.round((Date.now() - t0) / 1000), rssMb: process.memoryUsage().rss / 1e6,
    storeMb: (fileSize(db) + fileSize(`${db}-wal`)) / 1e6, usedMb: pages * reader.pragma('page_size', { simple: true }) / 1e6,
    flows: reader.prepare('SELECT count(*) AS n FROM flows').get().n,
    rolled: reader.prepare('SELECT coalesce(sum(flows), 0) AS n FROM rollups').get().n,
  };
  samples.push(s);
  console.log(`t=${s.t}s rss ${s.rssMb.toFixed(1)} MB, store ${s.storeMb.toFixed(2)} MB (pages in use ${s.usedMb.toFixed(2)} MB), flows stored ${s.flows}, rolled up ${s.rolled}, write max ${Math.max(...writes.slice(-10).map((w) => w.ms)).toFixed(1)} ms`);
}
for (const k of kids) k.kill('SIGKILL');
const summary = await engine.stop();
reader.close();
rmSync(dir, { recursive: true, force: true });

const warm = samples.filter((s) => s.t <= RETAIN + 60).at(-1) ?? samples[0];
const after = samples.filter((s) => s.t > warm.t);
const pct = (a, b) => ((b - a) / a) * 100;
const quant = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0; };
const maxOf = (key) => Math.max(...after.map((s) => s[key]));
const warmEnd = t0 + warm.t * 1000;
const ms = (xs, since = 0) => xs.filter((x) => x.at > since).map((x) => x.ms);
const timing = (xs) => `${quant(xs, 0.5).toFixed(1)} / ${quant(xs, 0.99).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`;
const last = samples.at(-1);
const rows = [
  ['run', `${SECONDS} s at ${RATE} new connections/s, --retain ${RETAIN}s (passed ${Math.floor(SECONDS / RETAIN)} times), procfs attribution, evidence none; build ${BUILD === root ? 'this tree' : BUILD}, ${storeThread ? 'writes on the store thread' : 'writes on the capture thread'}; load average ${loadStart} at the start, ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the end`],
  ['flows seen by the engine', String(summary.flows)],
  ['RSS at warm-up end (t=' + warm.t + ' s) / max after', `${warm.rssMb.toFixed(1)} MB / ${maxOf('rssMb').toFixed(1)} MB (${pct(warm.rssMb, maxOf('rssMb')).toFixed(1)} %)`],
  ['store file (db + WAL) at warm-up end / max after', `${warm.storeMb.toFixed(2)} MB / ${maxOf('storeMb').toFixed(2)} MB (${pct(warm.storeMb, maxOf('storeMb')).toFixed(1)} %)`],
  ['pages in use at warm-up end / max after', `${warm.usedMb.toFixed(2)} MB / ${maxOf('usedMb').toFixed(2)} MB`],
  ['per-second write (flush), ms: median / p99 / max, whole run', `${timing(ms(writes))} (${writes.length} writes)`],
  ['per-second write (flush), ms: median / p99 / max, after warm-up', timing(ms(writes, warmEnd))],
  ['capture thread\'s share of it (rows built and sent), ms: median / p99 / max, after warm-up', storeThread ? timing(ms(builds, warmEnd)) : 'all of it'],
  ['retention step after it, ms: median / p99 / max, whole run', timing(ms(steps))],
  ['WAL checkpoint after the step, ms: median / p99 / max, whole run', storeThread ? timing(ms(checkpoints)) : 'automatic (on whichever commit crosses 1000 pages)'],
  ['write + step in one second, ms: p99 / max, after warm-up', (() => { const both = writes.map((w, i) => (w.at > warmEnd ? w.ms + (steps[i]?.ms ?? 0) : 0)); return `${quant(both.filter((x) => x > 0), 0.99).toFixed(1)} / ${Math.max(...both).toFixed(1)}`; })()],
  ['at the end: flows stored / rolled up', `${last.flows} / ${last.rolled}`],
];
const table = ['| measure | value |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
console.log(`\n${table}`);
console.log(`\nsamples (t s, RSS MB, store MB): ${samples.map((s) => `${s.t}:${s.rssMb.toFixed(0)}/${s.storeMb.toFixed(1)}`).join(' ')}`);
if (APPEND) {
  const path = join(root, 'bench', 'RESULTS.md');
  const text = readFileSync(path, 'utf8');
  const section = `## Soak (issue #12)\n\n\`node bench/soak.mjs --seconds ${SECONDS} --rate ${RATE} --retain ${RETAIN}\`, ${new Date().toISOString().slice(0, 10)}, on the shared 2-core machine.\n\n${table}\n\nSamples every 10 s (t s: RSS MB / store MB): ${samples.map((s) => `${s.t}: ${s.rssMb.toFixed(0)} / ${s.storeMb.toFixed(1)}`).join(', ')}.\n`;
  const start = text.indexOf('## Soak (issue #12)');
  const end = start < 0 ? -1 : text.indexOf('\n## ', start + 1);
  writeFileSync(path, start < 0 ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, start)}${section}${end < 0 ? '' : text.slice(end)}`);
}
process.exit(0);
