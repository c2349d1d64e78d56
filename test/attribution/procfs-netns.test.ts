/**
 * Ollama in a container: its sockets are in another network namespace, absent from
 * /proc/net/tcp and listed only in /proc/<pid>/net/tcp. The test makes a namespace of its own
 * (oaat-*, deleted afterwards) and runs a node copy named `ollama` in it, talking on that
 * namespace's loopback, plus a plain node in a second namespace, found only when picked with --pid.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createProcfsAttributor } from '../../src/attribution/procfs-attributor.js';
import type { Attributor } from '../../src/attribution/attributor.js';
import { parseProcNet } from '../../src/attribution/procfs-net.js';
import { describeNeeding } from '../helpers/needs.js';
import { NODE, adopt, killAll, startKid, v4 } from './procfs-helpers.js';

const NS = `oaat-x${process.pid}`;
const NS2 = `oaat-y${process.pid}`; // a second namespace, with no Ollama process in it

// Server and client in one process, on the namespace's 127.0.0.1.
const SELF_TALK = `const net=require('net');const s=net.createServer(c=>c.on('error',()=>{}));
s.listen(0,'127.0.0.1',()=>{const c=net.connect(s.address().port,'127.0.0.1',()=>console.log(JSON.stringify({pid:process.pid,lport:c.localPort,rport:c.remotePort})))});
setInterval(()=>{},1e3)`;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

interface Report { pid: number; lport: number; rport: number }

describeNeeding(['root', 'ip'], 'Ollama in another network namespace', () => {
  let dir: string;
  let ollama: Report;
  let plain: Report;
  const LO = v4('127.0.0.1');
  const atts: Attributor[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaat-ns-'));
    copyFileSync(NODE, join(dir, 'ollama'));
    writeFileSync(join(dir, 'serve'), SELF_TALK);
    ip('netns', 'add', NS);
    ip('netns', 'add', NS2);
    for (const ns of [NS, NS2]) ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    const a = startKid('ip', ['netns', 'exec', NS, join(dir, 'ollama'), 'serve'], { cwd: dir });
    ollama = JSON.parse(await a.next()) as Report;
    adopt(ollama.pid);
    const b = startKid('ip', ['netns', 'exec', NS2, NODE, '-e', SELF_TALK]);
    plain = JSON.parse(await b.next()) as Report;
    adopt(plain.pid);
  });
  afterAll(() => {
    for (const a of atts) a.close();
    killAll();
    for (const ns of [NS, NS2]) spawnSync('ip', ['netns', 'del', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the sockets are not in the host table', () => {
    const host = parseProcNet(readFileSync('/proc/net/tcp', 'latin1'), 6);
    expect(host.some((e) => e.localPort === ollama.lport && e.remotePort === ollama.rport)).toBe(false);
    const inNs = parseProcNet(readFileSync(`/proc/${ollama.pid}/net/tcp`, 'latin1'), 6);
    expect(inNs.some((e) => e.localPort === ollama.lport && e.remotePort === ollama.rport)).toBe(true);
  });

  it('finds the Ollama process through its own /proc/<pid>/net/tcp', async () => {
    const att = createProcfsAttributor();
    atts.push(att);
    const p = att.lookup(6, LO, ollama.lport, LO, ollama.rport)
      ?? await vi.waitFor(() => att.lookup(6, LO, ollama.lport, LO, ollama.rport) ?? Promise.reject(new Error('not yet')), { timeout: 2000, interval: 10 });
    expect(p).toMatchObject({ pid: ollama.pid, comm: 'ollama', role: 'server', ollamaTree: true });
  });

  it('leaves other namespaces alone unless picked with --pid', async () => {
    const att = createProcfsAttributor();
    atts.push(att);
    expect(att.lookup(6, LO, plain.lport, LO, plain.rport)).toBeNull();
    await vi.waitFor(() => expect(att.stats()).toMatchObject({ pending: 0, rescans: 1 }), { timeout: 2000, interval: 10 });
    expect(att.lookup(6, LO, plain.lport, LO, plain.rport)).toBeNull();

    const picked = createProcfsAttributor({ extraPids: [plain.pid] });
    atts.push(picked);
    expect(picked.lookup(6, LO, plain.lport, LO, plain.rport)).toMatchObject({ pid: plain.pid, comm: 'node', ollamaTree: true });
  });
});
