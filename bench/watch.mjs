// The `watch` dashboard under load (issue #11 "Performance"): stores of 10,000 and 50,000 flows (the
// demo capture imported, its blob-download flow copied by SQL: bench/clone-flows.mjs, so every flow
// is an Ollama flow and the default Flows view sorts all of them), a writer process committing 200
// flow updates a second (one transaction a second, as the daemon writes), and the data side
// (StorePoller + SourceLoop, as in the worker thread) with the UI drawn as the dashboard draws it:
// ONE ink instance (ink's render(), not renderToString) kept mounted and re-rendered in place with
// each new frame, writing to a fake 120×40 terminal (a Writable with isTTY, columns and rows; a screen equal to the last one is not written), so a
// frame's render is React's update + yoga layout + ink's output + log-update's write of the changed
// screen. Both run in this one thread, so the CPU figures are both threads' work added up, except the
// claims evaluation (on the data thread, at most every 5 s or 10× its own time, never on the UI
// thread): its CPU is counted apart (median per evaluation and how many ran), not inside the frame it
// happened to precede. The writer advances last_seen with the wall clock (5 ms per update, 200 a
// second) as a daemon's packet times do, and numbers each write's rows (flows.write_seq) when the build's
// store has that column (schema 14), as its daemon does. Figures: per-frame CPU (data read + frame + render) median
// and p95, the work done after frames on the data side (completeSort: a new order's full sort and
// the kept order's remaking, outside every frame: how many, their CPU in all, the largest), idle
// CPU (no writes: data_version polls; a claims evaluation owed since the writes that
// falls in the window is counted apart, and how many did is shown), peak RSS, key → frame (a new sort: query →
// frame → drawn; PgDn the same), and full-screen clears written (must be 0).
//
// Run after `npm run build`: node bench/watch.mjs [flows...]. WATCH_ROOT=dir measures another
// build (its dist/, e.g. a worktree of an older commit); WATCH_RUNS=n repeats each size n times
// and adds a row of the medians; BENCH_LABEL=text prefixes the rows.
//
// node bench/watch.mjs --real [flows...] (default 50,000): the real dashboard instead, `watch --db`
// of the build in a tmux pane of 120×40 under the same writer, its memory read from /proc (runReal).
// WATCH_FRAMES=1: the slowest frames' parts on stderr; WATCH_TIMELINE=1 (--real): every VmRSS
// sample; WATCH_UI_YOUNG=v8: V8's default young generation instead of the dashboard's (ui-heap.ts);
// WATCH_NODE_ARGS='--opt …' (--real): options for the dashboard's node (to measure a V8 or node flag).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, PassThrough } from 'node:stream';
import { cloneFlows } from './clone-flows.mjs';

const ROOT = process.env.WATCH_ROOT ?? join(import.meta.dirname, '..');
// React's production build, as `watch` loads it (watch/terminal.ts); NODE_ENV=development measures
// the build versions before 2026-11-30 loaded. CI unset, as `watch` does: ink prints frames in CI.
process.env.NODE_ENV ??= 'production';
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
const dist = (p) => import(join(ROOT, 'dist', p));
// As the dashboard's UI thread does before ink loads (watch/ui-heap.ts, since 2026-12-01; a build
// without it does not). WATCH_UI_YOUNG=v8 leaves V8's default (to tell its cost from the rest).
if (existsSync(join(ROOT, 'dist/watch/ui-heap.js')) && process.env.WATCH_UI_YOUNG !== 'v8') (await dist('watch/ui-heap.js')).keepYoungGenerationSmall();
const { createElement: h } = await import('react');
const [{ StorePoller }, { SourceLoop }, { render: inkRender }, { Screen }, { layoutOf }, ui] = await Promise.all([
  dist('watch/data/store-poller.js'),
  dist('watch/data/source-loop.js'), import('ink'), dist('watch/ui/screen.js'), dist('watch/ui/layout.js'), dist('watch/state/ui-state.js'),
]);
const SIZES = process.argv.slice(2).map(Number).filter(Boolean);

/** The store: the demo capture imported, its CDN flow copied to `flows` in all, made a daemon's live session. */
async function buildStore(db, flows) {
  const [{ importFile }, { DEMO_CAPTURE }, { openDb }] = await Promise.all([dist('commands/import-file.js'), dist('commands/demo-command.js'), dist('store/open-db.js')]);
  openDb(db).close();
  await importFile(db, DEMO_CAPTURE);
  const raw = openDb(db);
  const cdn = raw.prepare("SELECT id FROM flows WHERE activity = 'blob-download'").pluck().get();
  raw.close();
  const total = cloneFlows(db, flows - 28, cdn);
  // A daemon's session: live, not ended; the copies an hour old (idle flows of a long session), so
  // only what the writer touches is recent; the copies open (S1: established, not closed), as the
  // download's flow was while it ran: the default Flows view hides closed flows, and with the copies
  // closed (the capture's RSTO) it would show and sort none of them.
  const w = openDb(db);
  w.prepare("UPDATE sessions SET kind = 'live', ended_at = NULL").run();
  w.prepare("UPDATE flows SET conn_state = 'S1' WHERE activity = 'blob-download'").run();
  w.prepare('UPDATE flows SET first_seen = first_seen - 3600000000, last_seen = last_seen - 3600000000').run();
  // A daemon's rows carry the write that wrote them (schema 14, a build since 2026-12-01 wread): here all the first.
  if (hasWriteSeq(w)) w.prepare('UPDATE flows SET write_seq = 1').run();
  w.close();
  return total;
}
/** The build's store numbers a live session's writes (flows.write_seq, schema 14): its writer must too, as a daemon's does. */
function hasWriteSeq(db) {
  return db.prepare('PRAGMA table_info(flows)').all().some((c) => c.name === 'write_seq');
}
if (process.argv[2] === '--build') {
  process.stdout.write(`${await buildStore(process.argv[3], Number(process.argv[4]))}\n`);
  process.exit(0);
}
const COLUMNS = 120;
const ROWS = 40;
const LOAD_S = 20;
const IDLE_S = 10;
const REAL = process.argv[2] === '--real';
/** --real: how long the dashboard runs under the writer, and how often its memory is read. */
const REAL_S = 22;
const REAL_SAMPLE_MS = 250;
/** WATCH_FRAMES=1: the slowest frames' breakdown on stderr (data side, render, GC pauses inside, a remade order). */
const FRAMES = process.env.WATCH_FRAMES === '1';
/** WATCH_TIMELINE=1 (--real): every VmRSS sample on stderr, to see when the peak happens. */
const TIMELINE = process.env.WATCH_TIMELINE === '1';
/** WATCH_NODE_ARGS (--real): node or V8 options given to the dashboard's node, to try one (e.g. --single-threaded). */
const NODE_ARGS = process.env.WATCH_NODE_ARGS ?? '';

const WRITER = `
const Database = require(${JSON.stringify(join(ROOT, 'node_modules/better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 5000');
const ids = db.prepare('SELECT id FROM flows').pluck().all();
// As the build's daemon writes: since schema 14 each write numbers the rows it writes (write_seq).
const seqs = db.prepare('PRAGMA table_info(flows)').all().some((c) => c.name === 'write_seq');
const up = db.prepare(\`UPDATE flows SET bytes_in = bytes_in + ?, packets_in = packets_in + 1, last_seen = ?\${seqs ? ', write_seq = ?' : ''} WHERE id = ?\`);
let t = db.prepare('SELECT max(last_seen) FROM flows').pluck().get();
let seq = seqs ? db.prepare('SELECT max(write_seq) FROM flows').pluck().get() ?? 0 : 0;
setInterval(() => db.transaction(() => {
  seq++;
  for (let i = 0; i < 200; i++) {
    const id = ids[(Math.random() * ids.length) | 0];
    if (seqs) up.run(1000 + i, (t += 5000), seq, id); else up.run(1000 + i, (t += 5000), id);
  }
})(), 1000);
`;

/**
 * A 120×40 terminal for ink: what is written to it is dropped, but full-screen clears are counted
 * (the dashboard must never make ink clear the screen: its frame is rows−1 high).
 */
function fakeTerminal() {
  const term = { renders: 0, clears: 0, stdin: Object.assign(new PassThrough(), { isTTY: false }) };
  term.stdout = Object.assign(new Writable({
    write(chunk, _enc, done) {
      if (chunk.includes('\x1b[2J') || chunk.includes('\x1bc')) term.clears++;
      done();
    },
  }), { isTTY: true, columns: COLUMNS, rows: ROWS });
  return term;
}

/** A /proc/PID/status field in MB (VmRSS, VmHWM), or null when the process is gone. */
function statusMb(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch { return null; }
}

/**
 * The real dashboard (--real): `watch --db` of this build in a tmux pane of 120×40 (the UI thread
 * and the data thread, two V8 heaps, in one process) on the store while the writer runs, its
 * /proc/PID/status read every REAL_SAMPLE_MS for REAL_S seconds: VmHWM at the end, VmRSS before
 * the first screen (the pane shows no table yet) and the largest after, the first screen's time
 * and the process's CPU. The pane runs the command with exec, so the pane's pid is node's.
 */
async function runReal(flows) {
  const dir = mkdtempSync(join(tmpdir(), 'oawt-bench-'));
  const socket = `oawt-bench-${process.pid}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  try {
    const db = join(dir, 'watch.db');
    const built = spawnSync(process.execPath, [import.meta.filename, '--build', db, String(flows)], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(built.stderr);
    const writer = spawn(process.execPath, ['-e', WRITER, db], { stdio: 'ignore' });
    const t0 = Date.now();
    tmux('new-session', '-d', '-s', 'dash', '-x', String(COLUMNS), '-y', String(ROWS), `exec ${process.execPath} ${NODE_ARGS} ${join(ROOT, 'bin/ollama-audit.js')} watch --db ${db} --out ${dir}`);
    const pid = Number(tmux('display-message', '-p', '-t', 'dash', '#{pane_pid}').trim());
    let firstScreenMs = null;
    let rssBefore = 0;
    let rssAfter = 0;
    const timeline = [];
    while (Date.now() - t0 < REAL_S * 1000) {
      const rss = statusMb(pid, 'VmRSS');
      if (TIMELINE) timeline.push(`${Date.now() - t0}:${rss?.toFixed(0)}${firstScreenMs === null ? '' : '*'}`);
      if (rss === null) throw new Error(`watch exited: ${tmux('capture-pane', '-p', '-t', 'dash')}`);
      if (firstScreenMs === null && /rows · sort/.test(tmux('capture-pane', '-p', '-t', 'dash'))) firstScreenMs = Date.now() - t0;
      if (firstScreenMs === null) rssBefore = Math.max(rssBefore, rss);
      else rssAfter = Math.max(rssAfter, rss);
      await sleep(REAL_SAMPLE_MS);
    }
    const hwm = statusMb(pid, 'VmHWM');
    const [utime, stime] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).map(Number);
    writer.kill();
    if (TIMELINE) console.error(`timeline (ms:VmRSS MB, * once the first screen is there): ${timeline.join(' ')}`);
    return { flows, hwm, rssBefore, rssAfter, firstScreenMs: firstScreenMs ?? NaN, cpuS: (utime + stime) / 100 };
  } finally {
    try { tmux('kill-server'); } catch { /* already gone */ }
    // tmux here leaves the dead server's socket file behind.
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid()}`, socket), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The claims evaluation's CPU, counted apart from the frames (see the top of this file).
const claimsRuns = [];
const evaluateClaims = StorePoller.prototype.evaluateClaims;
StorePoller.prototype.evaluateClaims = function (...args) {
  const t = cpuMs();
  try { return evaluateClaims.apply(this, args); } finally { claimsRuns.push(cpuMs() - t); }
};

async function run(flows) {
  const dir = mkdtempSync(join(tmpdir(), 'oawt-bench-'));
  try {
    const db = join(dir, 'watch.db');
    // Built by another process (this one's memory is the dashboard's data side and screen only, as
    // in `watch`, which imports nothing).
    const built = spawnSync(process.execPath, [import.meta.filename, '--build', db, String(flows)], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(built.stderr);
    const total = Number(built.stdout.trim());

    const poller = new StorePoller(db, undefined, 5000);
    let state = ui.initialUiState(false);
    const height = layoutOf(COLUMNS, ROWS, 13).tableRows;
    let last = null;
    // As the data thread makes it (store-thread.ts): the first frame before the first claims
    // evaluation (a build before de9b09d's successor ignores the last argument and judges first).
    const loop = new SourceLoop(poller, (f) => { last = f; }, Date.now, 500, true);
    const term = fakeTerminal();
    const screen = () => h(Screen, { frame: last, ui: state, columns: COLUMNS, rows: ROWS, noColor: false, notice: null });
    let t0 = cpuMs();
    loop.query(ui.frameQueryOf(state, height));
    const ink = inkRender(screen(), { stdout: term.stdout, stdin: term.stdin, exitOnCtrlC: false, patchConsole: false, onRender: () => { term.renders++; } });
    // The same instance re-rendered in place (as WatchApp's setFrame does): synchronous in ink's
    // legacy root; the frame is written before rerender returns (a frame ≥ 250 ms after the last
    // is never held by ink's 30 fps throttle).
    const render = () => ink.rerender(screen());
    const firstMs = cpuMs() - t0;

    const writer = spawn(process.execPath, ['-e', WRITER, db], { stdio: 'ignore' });
    const perFrame = [];
    const renders = [];
    /** What each frame was made of (WATCH_FRAMES=1 prints the slowest): data side, render, GC pauses inside it, a remade order. */
    const parts = [];
    const gcs = [];
    const gcSeen = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e); });
    gcSeen.observe({ entryTypes: ['gc'] });
    let remakes = 0;
    // The store poll's CPU (data_version, the change read and its merge; a claims evaluation inside it apart), counted apart from the rest of a frame's data side.
    let pollMs = 0;
    const poll = poller.poll;
    poller.poll = function (...args) { const c = cpuMs(); try { return poll.apply(this, args); } finally { pollMs += cpuMs() - c; } };
    const model = poller.model;
    const remade = Object.getPrototypeOf(model).remade;
    model.remade = function (...args) { remakes++; return remade.apply(this, args); };
    // The work done after a frame is sent, on the data side, outside every frame: a new order's full
    // sort and the kept order's remaking (completeSort, since wmem). Its CPU is counted here.
    const afterFrame = [];
    const completeSort = Object.getPrototypeOf(model).completeSort;
    model.completeSort = function (...args) { const c = cpuMs(); try { return completeSort.apply(this, args); } finally { afterFrame.push(cpuMs() - c); } };
    claimsRuns.length = 0;
    let rss = process.memoryUsage().rss;
    const end = Date.now() + LOAD_S * 1000;
    while (Date.now() < end) {
      const before = last;
      const claimsBefore = claimsRuns.reduce((a, b) => a + b, 0);
      const remakesBefore = remakes;
      const pollBefore = pollMs;
      const w0 = performance.now();
      t0 = cpuMs();
      loop.tick();
      const r0 = cpuMs();
      if (last !== before) render();
      if (last !== before) {
        renders.push(cpuMs() - r0);
        const claimsMs = claimsRuns.reduce((a, b) => a + b, 0) - claimsBefore;
        perFrame.push(cpuMs() - t0 - claimsMs);
        parts.push({ n: perFrame.length, cpu: perFrame.at(-1), data: r0 - t0 - claimsMs, read: pollMs - pollBefore - claimsMs, render: renders.at(-1), w0, w1: performance.now(), remade: remakes > remakesBefore, claims: claimsMs > 0 });
      }
      rss = Math.max(rss, process.memoryUsage().rss);
      await sleep(250);
    }
    writer.kill();
    await sleep(0);
    gcSeen.disconnect();
    const afterFrames = afterFrame.length;
    const afterFrameMs = afterFrame.reduce((a, b) => a + b, 0);
    if (FRAMES) {
      const kinds = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak', 16: 'minor' };
      const slow = [...parts].sort((a, b) => b.cpu - a.cpu).slice(0, 4).map((p) => {
        const inside = gcs.filter((g) => g.startTime >= p.w0 && g.startTime < p.w1);
        const gc = inside.map((g) => `${kinds[g.detail?.kind] ?? g.detail?.kind} ${g.duration.toFixed(1)}`).join('+') || 'none';
        return `#${p.n}/${parts.length} ${p.cpu.toFixed(1)} ms (data ${p.data.toFixed(1)} of which the poll ${p.read.toFixed(1)}, render ${p.render.toFixed(1)}, gc ${gc}${p.remade ? ', order remade' : ''}${p.claims ? ', after a claims evaluation' : ''})`;
      });
      console.error(`${flows}: slowest frames: ${slow.join('; ')}`);
    }
    // Let the last changes be read and the claims evaluated once more (at most every max(5 s, 10× its time)).
    const settle = Date.now() + 15_000;
    while (Date.now() < settle) { loop.tick(); await sleep(250); }

    const idle0 = cpuMs();
    const claimsBeforeIdle = claimsRuns.length;
    const idleEnd = Date.now() + IDLE_S * 1000;
    while (Date.now() < idleEnd) { loop.tick(); await sleep(250); }
    // A claims evaluation owed since the last writes may fall in the window: counted apart, as in frames.
    const idleClaimsMs = claimsRuns.slice(claimsBeforeIdle).reduce((a, b) => a + b, 0);
    const idlePct = ((cpuMs() - idle0 - idleClaimsMs) / (IDLE_S * 1000)) * 100;

    // A key → the query → a frame → drawn. Presses 200 ms apart (a person's pace): ink draws at
    // most one frame per 34 ms and holds back the rest, so presses back to back would time nothing.
    const press = async (action, into) => {
      await sleep(200);
      state = ui.reduce(state, action, { total: last.total, height, idAt: () => undefined });
      const drawn = term.renders;
      const k0 = performance.now();
      loop.query(ui.frameQueryOf(state, height));
      render();
      into.push(performance.now() - k0);
      if (term.renders === drawn) throw new Error(`${action.type}: no frame was drawn`);
    };
    const keys = [];
    for (let i = 0; i < 20; i++) await press({ type: 'sortNext' }, keys);
    const moves = [];
    for (let i = 0; i < 20; i++) await press({ type: 'pageDown' }, moves);
    ink.unmount();
    poller.close();
    return { afterFrames, afterFrameMs, afterFrameMax: afterFrames ? Math.max(...afterFrame.slice(0, afterFrames)) : 0, clears: term.clears, renderMedian: pct(renders, 50), renderP95: pct(renders, 95), claimsMedian: pct(claimsRuns, 50), claimsN: claimsRuns.length, moveMedian: pct(moves, 50), moveP95: pct(moves, 95), flows: total, firstMs, frames: perFrame.length, median: pct(perFrame, 50), p95: pct(perFrame, 95), idlePct, idleClaims: claimsRuns.length - claimsBeforeIdle, rssMb: rss / 1048576, keyMedian: pct(keys, 50), keyP95: pct(keys, 95) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LABEL = process.env.BENCH_LABEL ? `${process.env.BENCH_LABEL} ` : '';
const RUNS = Math.max(1, Number(process.env.WATCH_RUNS ?? 1));
/** The table's columns: title and the figure of one run (a median row takes each column's median). */
const COLUMNS_OUT = REAL ? [
  ['VmHWM MB', (r) => r.hwm, 0], ['VmRSS before the first screen MB (largest)', (r) => r.rssBefore, 0],
  ['VmRSS after it MB (largest)', (r) => r.rssAfter, 0], ['first screen ms after start', (r) => r.firstScreenMs, 0],
  [`CPU s over the ${REAL_S} s`, (r) => r.cpuS, 1],
] : [
  ['first frame CPU ms', (r) => r.firstMs, 0], ['frames in 20 s', (r) => r.frames, 0],
  ['per-frame CPU ms median', (r) => r.median, 1], ['p95', (r) => r.p95, 1], ['of which render median', (r) => r.renderMedian, 1],
  ['render p95', (r) => r.renderP95, 1],
  ['after-frame sorts in 20 s (completeSort)', (r) => r.afterFrames, 0], ['their CPU ms in all', (r) => r.afterFrameMs, 0], ['largest ms', (r) => r.afterFrameMax, 1], ['claims evaluation CPU ms median', (r) => r.claimsMedian ?? NaN, 0],
  ['idle CPU % of a core (claims evaluations apart)', (r) => r.idlePct, 2], ['claims evaluations in the idle window', (r) => r.idleClaims, 0], ['peak RSS MB', (r) => r.rssMb, 0],
  ['`s` → frame ms median', (r) => r.keyMedian, 1], ['p95', (r) => r.keyP95, 1],
  ['PgDn → frame ms median', (r) => r.moveMedian, 1], ['p95', (r) => r.moveP95, 1], ['full-screen clears', (r) => r.clears, 0],
];
const rowOf = (label, figures) => `| ${label} | ${figures.map((x, i) => (Number.isNaN(x) ? '-' : x.toFixed(COLUMNS_OUT[i][2]))).join(' | ')} |`;
console.log(`| flows | ${COLUMNS_OUT.map((c) => c[0]).join(' | ')} |`);
console.log(`|---|${COLUMNS_OUT.map(() => '---').join('|')}|`);
for (const n of SIZES.length ? SIZES : REAL ? [50_000] : [10_000, 50_000]) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = REAL ? await runReal(n) : await run(n);
    runs.push(COLUMNS_OUT.map((c) => c[1](r)));
    console.log(rowOf(`${LABEL}${r.flows}${RUNS > 1 ? ` run ${i + 1}` : ''}`, runs[i]));
  }
  if (RUNS > 1) console.log(rowOf(`**${LABEL}${n} median of ${RUNS}**`, COLUMNS_OUT.map((_, i) => pct(runs.map((r) => r[i]).filter((x) => !Number.isNaN(x)), 50) ?? NaN)));
}
