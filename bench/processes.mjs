// The child processes of the live benchmarks (bench/live.mjs, bench/attribution.mjs): run a command,
// start one and read its output, wait for a line, end them all, and read a process's CPU time.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A command's stdout; throws with its stderr unless allowFail. */
export function sh(cmd, a, allowFail = false) {
  const r = spawnSync(cmd, a, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${a.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

const kids = new Set();

/** Starts a command; `p.out`/`p.err` collect its output, `p.done` resolves with {code, signal} at exit. */
export function start(cmd, a) {
  const p = spawn(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  kids.add(p);
  p.out = ''; p.err = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.err += d; });
  p.done = new Promise((res) => p.once('exit', (code, signal) => { kids.delete(p); res({ code, signal }); }));
  return p;
}

/** Resolves once p's output matches re; throws after ms or when p exits first. */
export async function waitFor(p, re, ms = 30000) {
  const end = Date.now() + ms;
  while (!re.test(p.out + p.err)) {
    if (Date.now() > end || p.exitCode !== null) throw new Error(`waiting for ${re}: ${p.out}${p.err}`);
    await sleep(20);
  }
}

/** SIGKILL to every process start() began that still runs. */
export function killStarted() {
  for (const p of kids) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
}

/** utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15). */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
