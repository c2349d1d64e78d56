import { copyFileSync, linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProcfsAttributor } from '../../src/attribution/procfs-attributor.js';
import type { Attributor, ProcessInfo } from '../../src/attribution/attributor.js';
import { NODE, adopt, killAll, startKid, synFlow, v4, type Kid } from './procfs-helpers.js';

// `ollama serve` (a copy of node named ollama, running a script named serve) listens and
// starts `llama-server runner.js` (a second name of the same copy), which connects back,
// listens too and starts a plain `node` helper that connects to it.
const SERVE = `const net=require('net'),{spawn}=require('child_process'),path=require('path');
const s=net.createServer(c=>c.on('error',()=>{}));
s.listen(0,'127.0.0.1',()=>{console.log(JSON.stringify({who:'server',pid:process.pid,port:s.address().port}));
spawn(path.join(__dirname,'llama-server'),['runner.js',String(s.address().port)],{cwd:__dirname,stdio:['ignore','inherit','inherit']})});
setInterval(()=>{},1e3)`;
const HELPER = `const c=require('net').connect(+process.argv[1],'127.0.0.1',()=>console.log(JSON.stringify({who:'helper',pid:process.pid,lport:c.localPort,rport:c.remotePort})));setInterval(()=>{},1e3)`;
const RUNNER = `const net=require('net'),{spawn}=require('child_process');
const c=net.connect(+process.argv[2],'127.0.0.1',()=>{const s=net.createServer(x=>x.on('error',()=>{}));
s.listen(0,'127.0.0.1',()=>{console.log(JSON.stringify({who:'runner',pid:process.pid,lport:c.localPort,rport:c.remotePort}));
spawn(process.env.OAAT_NODE,['-e',${JSON.stringify(HELPER)},String(s.address().port)],{stdio:['ignore','inherit','inherit']})})});
setInterval(()=>{},1e3)`;

interface Report { who: string; pid: number; port?: number; lport?: number; rport?: number }

const LO = v4('127.0.0.1');

describe('the Ollama process tree', () => {
  let dir: string;
  let att: Attributor;
  let serve: Kid;
  const by: Record<string, Report> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaat-tree-'));
    copyFileSync(NODE, join(dir, 'ollama'));
    linkSync(join(dir, 'ollama'), join(dir, 'llama-server'));
    writeFileSync(join(dir, 'serve'), SERVE);
    writeFileSync(join(dir, 'runner.js'), RUNNER);
    att = createProcfsAttributor({ rescanMinIntervalMs: 5 });
    serve = startKid(join(dir, 'ollama'), ['serve'], { cwd: dir, env: { ...process.env, OAAT_NODE: NODE } });
    for (let i = 0; i < 3; i++) {
      const r = JSON.parse(await serve.next()) as Report;
      by[r.who] = r;
      adopt(r.pid);
    }
  });
  afterAll(() => {
    att.close();
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ownerOfFlow(ini: number, res: number): Promise<ProcessInfo> {
    const flow = synFlow(LO, ini, LO, res);
    att.attributeFlow(flow);
    await vi.waitFor(() => expect(flow.process).not.toBeNull(), { timeout: 2000, interval: 10 });
    return att.processOf(flow)!;
  }

  it('sees `ollama serve` as the server, by comm and cmdline', async () => {
    const p = await ownerOfFlow(by.runner.rport!, by.runner.lport!); // the server's accepted end, as initiator
    expect(p.pid).toBe(by.server.pid);
    expect(p).toMatchObject({ comm: 'ollama', cmdline: [join(dir, 'ollama'), 'serve'], exe: join(dir, 'ollama'), role: 'server', ollamaTree: true });
  });

  it('sees its llama-server child as a runner of the tree', async () => {
    const p = await ownerOfFlow(by.runner.lport!, by.runner.rport!);
    expect(p).toMatchObject({ pid: by.runner.pid, ppid: by.server.pid, comm: 'llama-server', role: 'runner', ollamaTree: true });
    expect(p.exe).toBe(join(dir, 'llama-server'));
  });

  it('counts a plain node grandchild in the tree by descent', async () => {
    const p = await ownerOfFlow(by.helper.lport!, by.helper.rport!);
    expect(p).toMatchObject({ pid: by.helper.pid, ppid: by.runner.pid, comm: 'node', role: null, ollamaTree: true });
  });
});
