/**
 * Children for the exposure tests: a fake Ollama API (a node copy named `ollama`, run as
 * `ollama serve`), tcpdump, nginx, curl, all inside network namespaces these tests create.
 * Every child is ended by its own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NODE = realpathSync(process.execPath);

/**
 * Mimics `ollama serve`: when bound to loopback it checks the Host header the way
 * server/routes.go does (written here independently of src/exposure/allowed-host.ts) and
 * answers 403 with an empty body; otherwise no check at all.
 */
export const FAKE_API = `const http=require('http');const os=require('os');
const bind=process.env.FAKE_BIND, port=Number(process.env.FAKE_PORT);
const checks=bind.startsWith('127.')||bind==='::1';
function allowed(h){if(!h)return true;let host=h.toLowerCase();
 if(host.startsWith('['))host=host.slice(1,host.indexOf(']'));else host=host.replace(/:\\d+$/,'');
 if(host==='localhost'||host===os.hostname().toLowerCase()||/\\.(localhost|local|internal)$/.test(host))return true;
 return /^(127\\.|10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.)/.test(host)||host==='0.0.0.0'||host==='::1'||host==='::';}
http.createServer((q,s)=>{if(checks&&!allowed(q.headers.host)){s.writeHead(403,{'Content-Length':'0'});return s.end();}
 const body=q.url==='/'?'Ollama is running':'{"models":[]}';s.writeHead(200,{'Content-Type':'text/plain; charset=utf-8','Content-Length':Buffer.byteLength(body)});s.end(body);})
 .listen(port,bind,()=>console.log(JSON.stringify({pid:process.pid,port})));`;

export function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

const kids: ChildProcess[] = [];

function track(child: ChildProcess): ChildProcess {
  if (child.pid === undefined) throw new Error('spawn failed');
  kids.push(child);
  return child;
}

/** Ends one child by pid and waits for it (SIGTERM lets nginx stop its workers, SIGINT lets tcpdump flush). */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try { process.kill(child.pid!, signal); } catch { resolve(); }
  });
}

export async function stopAll(): Promise<void> {
  for (const k of kids.splice(0).reverse()) await stop(k);
}

/** Starts the fake API in a namespace; resolves with its pid once it listens. */
export function startFakeOllama(dir: string, ns: string, bind: string, port: number, env: Record<string, string> = {}): Promise<{ pid: number; child: ChildProcess }> {
  copyFileSync(NODE, join(dir, 'ollama'));
  writeFileSync(join(dir, 'serve'), FAKE_API);
  const child = track(spawn('ip', ['netns', 'exec', ns, join(dir, 'ollama'), 'serve'], {
    cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FAKE_BIND: bind, FAKE_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  }));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ pid: (JSON.parse(d.toString()) as { pid: number }).pid, child }));
    child.once('exit', (code) => reject(new Error(`fake ollama exited (${code})`)));
  });
}

/** tcpdump in a namespace, writing every packet at once (-U); resolves when it is listening. */
export function startTcpdump(ns: string, iface: string, file: string): Promise<ChildProcess> {
  const child = track(spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-Z', 'root', '-n', '-U', '--immediate-mode', '-s', '0', '-i', iface, '-w', file, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
}

export function startChild(cmd: string, args: string[]): ChildProcess {
  return track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
}

/** curl in a namespace; returns the HTTP status it got. */
export function curl(ns: string, url: string, host?: string): number {
  const args = ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5'];
  if (host) args.push('-H', `Host: ${host}`);
  const r = spawnSync('ip', [...args, url], { encoding: 'utf8' });
  return Number(r.stdout);
}

