/**
 * Both ends of a connection on one host, under the live path: the daemon captures `lo` of a
 * network namespace of its own while real programs talk there. curl fetches a file from a real
 * `python3 -m http.server`, then three curls ask a stand-in `ollama` (a copy of node named
 * ollama, running `serve` like the real server, answering after a model's think time).
 * The client's socket and the server's listener + accepted socket are all in the same tables:
 * each flow's process must be the curl that made it (its pid, as spawned; its port, as curl's
 * own -w %{local_port} says), and its peer_process the server; likewise when curl reaches the
 * server through the host's own non-loopback address. Then the same store through
 * exposure (client programs), claims (API chains) and, where tshark runs, the evidence comments.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkFields } from '../helpers/tshark.js';
import { REPO, sh, startKid, killStarted, type Kid } from '../live/e2e/netns.js';
import { openDb } from '../../src/store/open-db.js';
import { auditExposure } from '../../src/exposure/audit.js';
import { claimsReport } from '../../src/claims/evaluate.js';
import type { FlowRecord } from '../../src/store/read/flows.js';

const NS = `oaat-lo${process.pid % 100000}`;
/** A non-loopback address of the namespace's own (on lo: no dummy driver needed; such traffic goes over lo anyway). */
const OWN_ADDR = '192.0.2.10';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const WEB_PORT = 8000;
const API_PORT = 11434;
const THINK_MS = 300;

// `ollama serve`: an HTTP server on the API port that answers /api/* after THINK_MS, as a model
// would (long enough for a procfs rescan on a loaded machine to find curl's socket).
const SERVE = `require('http').createServer((q,r)=>{q.resume();q.on('end',()=>setTimeout(()=>{
r.writeHead(200,{'content-type':'application/json'});r.end(JSON.stringify({path:q.url}))},${THINK_MS}))})
.listen(${API_PORT},'127.0.0.1',()=>console.log('ollama ready'))`;

const inNs = (cmd: string, args: string[], cwd?: string): Kid => startKid('ip', ['netns', 'exec', NS, cmd, ...args], {}, cwd);

function deleteNamespace(): void {
  if (!sh('ip', ['netns', 'list'], { allowFail: true }).split('\n').some((l) => l.split(' ')[0] === NS)) return;
  for (const pid of sh('ip', ['netns', 'pids', NS], { allowFail: true }).split('\n').filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
  sh('ip', ['netns', 'del', NS], { allowFail: true });
}

/** curl in the namespace; resolves with its pid and the local port it used (curl's own word). */
async function curl(args: string[]): Promise<{ pid: number; port: number }> {
  const k = inNs('curl', ['-sS', '-o', '/dev/null', '-w', 'local_port=%{local_port}\n', ...args]);
  const e = await k.exited;
  if (e.code !== 0) throw new Error(`curl ${args.join(' ')}: ${e.code ?? e.signal} ${k.stderr()}`);
  return { pid: k.pid, port: Number(/local_port=(\d+)/.exec(k.stdout())![1]) };
}

describeNeeding(['root', 'cap', 'curl', 'python3'], 'loopback flows credited to the initiator, the server kept as peer (live daemon in a namespace)', () => {
  let dir: string;
  let db: string;
  let python: Kid;
  let ollama: Kid;
  let web: { pid: number; port: number };
  let viaOwnAddr: { pid: number; port: number };
  const api: { pid: number; port: number; path: string }[] = [];
  let flows: FlowRecord[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaat-lo-'));
    db = join(dir, 'a.db');
    deleteNamespace();
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', NS, 'addr', 'add', `${OWN_ADDR}/32`, 'dev', 'lo']);
    // HTTP/1.1, so that curl can keep one connection for three requests 250 ms apart (--rate): a
    // single fetch is over in 2 ms, and a client gone before the lookup is (rightly) unattributed.
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'www', 'page.bin'), Buffer.alloc(64 << 10, 0x61));
    python = inNs(PYTHON, ['-u', '-m', 'http.server', String(WEB_PORT), '--bind', '0.0.0.0', '--protocol', 'HTTP/1.1', '--directory', join(dir, 'www')]);
    await python.waitFor(/Serving HTTP/);
    mkdirSync(join(dir, 'bin'));
    copyFileSync(process.execPath, join(dir, 'bin', 'ollama'));
    writeFileSync(join(dir, 'bin', 'serve'), SERVE);
    ollama = inNs(join(dir, 'bin', 'ollama'), ['serve'], join(dir, 'bin'));
    await ollama.waitFor(/ollama ready/);

    const daemon = inNs(process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'daemon', '-i', 'lo', '--db', db, '--evidence', 'head']);
    await daemon.waitFor(/capturing on/, 20_000);
    web = await curl(['--rate', '4/s', ...Array(3).fill(`http://127.0.0.1:${WEB_PORT}/page.bin`)]);
    viaOwnAddr = await curl(['--rate', '4/s', ...Array(3).fill(`http://${OWN_ADDR}:${WEB_PORT}/page.bin`)]);
    for (const [method, path] of [['GET', '/api/tags'], ['GET', '/api/ps'], ['POST', '/api/show']]) {
      const c = await curl(['-X', method, ...(method === 'POST' ? ['-d', '{"model":"x"}'] : []), `http://127.0.0.1:${API_PORT}${path}`]);
      api.push({ ...c, path });
    }
    await new Promise((r) => setTimeout(r, 1500)); // one more flush of the daemon
    daemon.proc.kill('SIGINT');
    const stopped = await daemon.exited;
    if (stopped.code !== 0) throw new Error(`daemon exit ${stopped.code ?? stopped.signal}: ${daemon.stderr()}`);
    const out = await runCli('flows', '--db', db, '--json');
    flows = JSON.parse(out.stdout) as FlowRecord[];
  }, 60_000);

  afterAll(() => {
    killStarted();
    deleteNamespace();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const flowOf = (port: number, rport: number): FlowRecord => {
    const f = flows.find((x) => x.proto === 'tcp' && x.initiator_port === port && x.responder_port === rport);
    if (!f) throw new Error(`no flow from port ${port} to ${rport} among ${flows.length}`);
    return f;
  };

  it('curl -> python3 -m http.server: process is curl, peer_process python3', () => {
    const f = flowOf(web.port, WEB_PORT);
    expect(f.http_path).toBe('/page.bin');
    expect(f.process).toMatchObject({ pid: web.pid, name: 'curl' });
    expect(f.peer_process?.pid).toBe(python.pid);
    expect(f.peer_process?.name).toMatch(/^python3/);
  });

  it('curl -> the same server through the host\'s own non-loopback address (a wildcard listener): process curl, peer python3', () => {
    const f = flowOf(viaOwnAddr.port, WEB_PORT);
    expect([f.initiator_addr, f.responder_addr]).toEqual([OWN_ADDR, OWN_ADDR]);
    expect(f.process).toMatchObject({ pid: viaOwnAddr.pid, name: 'curl' });
    expect(f.peer_process?.pid).toBe(python.pid);
  });

  it('three curl calls to the ollama stand-in: each is its curl\'s, with ollama as the peer', () => {
    for (const c of api) {
      const f = flowOf(c.port, API_PORT);
      expect(f.http_path).toBe(c.path);
      expect(f.process).toMatchObject({ pid: c.pid, name: 'curl' });
      expect(f.peer_process).toMatchObject({ pid: ollama.pid, name: 'ollama', exe: join(dir, 'bin', 'ollama') });
    }
  });

  it('exposure names the loopback API client by the curls, not by the server', () => {
    const d = openDb(db, { readonly: true });
    try {
      const report = auditExposure(d, { live: false });
      const loopback = report.clients.find((g) => g.class === 'loopback')!;
      expect(loopback.addresses.map((a) => a.address)).toEqual(['127.0.0.1']);
      expect(loopback.addresses[0].processes).toEqual(api.map((c) => ({ pid: c.pid, name: 'curl' })).sort((a, b) => a.pid - b.pid));
    } finally {
      d.close();
    }
  });

  it('claims chain each API request from its curl to the ollama server', () => {
    const d = openDb(db, { readonly: true });
    try {
      const requests = claimsReport(d, {}).chains.map((c) => c.request);
      expect(requests.map((r) => [r.path, r.client_process, r.server_process])).toEqual(
        api.map((c) => [c.path, { pid: c.pid, name: 'curl' }, { pid: ollama.pid, name: 'ollama' }]));
    } finally {
      d.close();
    }
  });

  itNeeding(['tshark'], 'evidence packets name their sender: curl on the requests, ollama on the answers (tshark -n)', () => {
    const segments = readdirSync(join(dir, 'a.evidence')).filter((f) => f.endsWith('.pcapng')).map((f) => join(dir, 'a.evidence', f));
    const rows = segments.flatMap((s) => tsharkFields(s, ['tcp.srcport', 'tcp.dstport', 'frame.comment'], `tcp.port == ${API_PORT} && frame.comment`));
    const pidIn = (r: Record<string, string[]>) => Number(/^PID: (\d+)/.exec(r['frame.comment'][0])![1]);
    const answers = rows.filter((r) => r['tcp.srcport'][0] === String(API_PORT));
    const requests = rows.filter((r) => r['tcp.dstport'][0] === String(API_PORT));
    expect(answers.length).toBeGreaterThanOrEqual(3);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const r of answers) expect(pidIn(r)).toBe(ollama.pid);
    const curlOf = new Map(api.map((c) => [String(c.port), c.pid]));
    for (const r of requests) expect(pidIn(r)).toBe(curlOf.get(r['tcp.srcport'][0]));
  });
});
