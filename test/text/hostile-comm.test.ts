/**
 * A local user's program named with terminal escapes must not reach root's terminal through
 * `flows`: the daemon captures lo of a namespace of this test while a copy of node whose file
 * name is `ESC]0;PWN-COMM BEL x` (so its comm, read from /proc, carries the escape) holds a TCP
 * connection to a server there. The expected name is the file name the test gave the program.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { NODE } from '../exposure/live-helpers.js';

const NS = `oaes-comm${process.pid % 100000}`;
const HOSTILE_COMM = '\x1b]0;PWN-COMM\x07x'; // 14 bytes: the kernel keeps all of it (comm holds 15)
const PORT = 18431;
const BIN = join(import.meta.dirname, '../../bin/ollama-audit.js');

const SERVER = `require('net').createServer((s)=>{s.on('data',()=>{});s.on('error',()=>{})}).listen(${PORT},'127.0.0.1',()=>console.log('ready'))`;
// Sends a line every 100 ms for 1.5 s, then closes: long enough for a procfs lookup at its first packet.
const CLIENT = `const s=require('net').connect(${PORT},'127.0.0.1',()=>{let n=0;const t=setInterval(()=>{s.write('x\\n');if(++n===15){clearInterval(t);s.end();}},100);});s.on('close',()=>console.log('done '+process.pid))`;

function waitLine(child: ChildProcess, re: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${buf}`)), 20_000);
    child[stream]!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
  });
}

describeNeeding(['root', 'ip', 'cap'], 'a process named with terminal escapes, attributed live', () => {
  let dir: string;
  let db: string;
  let clientPid = 0;
  let daemonErr = '';
  const kids: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaes-comm-'));
    db = join(dir, 'a.db');
    spawnSync('ip', ['netns', 'add', NS]);
    spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    const server = spawn('ip', ['netns', 'exec', NS, NODE, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    kids.push(server);
    await waitLine(server, /ready/);
    const daemon = spawn('ip', ['netns', 'exec', NS, process.execPath, BIN, 'daemon', '-i', 'lo', '--db', db, '--evidence', 'none', '--duration', '6s'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    kids.push(daemon);
    daemon.stderr!.on('data', (d: Buffer) => { daemonErr += d.toString(); });
    await waitLine(daemon, /capturing on/, 'stderr');
    const exe = join(dir, HOSTILE_COMM);
    copyFileSync(NODE, exe);
    const client = spawn('ip', ['netns', 'exec', NS, exe, '-e', CLIENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    kids.push(client);
    clientPid = Number((await waitLine(client, /done \d+/)).slice(5));
    await new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  }, 60_000);
  afterAll(() => {
    for (const k of kids) if (k.exitCode === null && k.signalCode === null) k.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  itNeeding(['root'], 'flows shows the name with its controls visible; --json keeps it exactly', async () => {
    const json = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout) as { responder_port: number; process: { pid: number; name: string } | null }[];
    const flow = json.find((f) => f.responder_port === PORT);
    expect(flow?.process, daemonErr).toEqual(expect.objectContaining({ pid: clientPid, name: HOSTILE_COMM }));

    const text = (await runCli('flows', '--db', db)).stdout;
    expect(text).toContain(`\\x1b]0;PWN-COMM\\x07x[${clientPid}]`);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(daemonErr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
  });
});
