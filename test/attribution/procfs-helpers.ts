/** Child processes for the procfs attribution tests: spawn, read their JSON lines, kill by pid. */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Flow } from '../../src/flows/flow.js';
import { makeFlow } from '../helpers/make-flow.js';

export interface Kid {
  child: ChildProcess;
  pid: number;
  /** Date.now() just before spawn. */
  spawnedAt: number;
  /** Next stdout line (lines queue up until asked for). */
  next(): Promise<string>;
  /** Every stdout line, as it comes (the queue is not used once this is set). */
  onLine(fn: (line: string) => void): void;
}

const started: number[] = [];

export function startKid(cmd: string, args: string[], opts: SpawnOptions = {}): Kid {
  const spawnedAt = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
  if (child.pid === undefined) throw new Error(`spawn ${cmd} failed`);
  started.push(child.pid);
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  let listener: ((l: string) => void) | null = null;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (listener) return listener(line);
    const w = waiters.shift();
    if (w) w(line);
    else queue.push(line);
  });
  return {
    child, pid: child.pid, spawnedAt,
    next: () => {
      const l = queue.shift();
      if (l !== undefined) return Promise.resolve(l);
      return new Promise((resolve, reject) => {
        waiters.push(resolve);
        child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before writing a line`)));
      });
    },
    onLine: (fn) => {
      listener = fn;
      for (const l of queue.splice(0)) fn(l);
    },
  };
}

/** Remember a pid our children reported (grandchildren), so killAll ends it too. */
export function adopt(pid: number): void {
  started.push(pid);
}

export function killAll(): void {
  for (const pid of started.splice(0).reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export const NODE = realpathSync(process.execPath);

export function sha256sum(path: string): string {
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sha256sum: ${r.stderr}`);
  return r.stdout.split(/\s+/)[0];
}

export function v4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

export const LO6 = Buffer.from('00000000000000000000000000000001', 'hex');

/** A flow as the pipeline would create it at the first packet (the SYN) of a TCP connection. */
export function synFlow(ini: Buffer, iport: number, res: Buffer, rport: number, proto = 6): Flow {
  return makeFlow({
    proto, ipVersion: ini.length === 4 ? 4 : 6, initiatorAddr: ini, responderAddr: res,
    initiatorPort: iport, responderPort: rport, packetsOut: 1, packetsIn: 0, closed: false,
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
