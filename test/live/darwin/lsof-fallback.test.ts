/**
 * macOS without pktap, run on Linux: the live engine with its platform set to 'darwin' (the same
 * selection a Mac runs: src/capture/os/select.ts, src/attribution/os/select.ts) and no tcpdump on
 * PATH captures with `cap` and attributes each new flow by lsof lookups. PATH holds only a wrapper
 * `lsof` that logs each run and execs the REAL lsof (Debian's prints the same -F fields as macOS's,
 * lsof(8) "OUTPUT FOR OTHER PROGRAMS"), so the runs are counted.
 *
 * Real processes on lo (filtered to this test's ports): a server (title oa-lsof-srv: TCP, UDP, and a
 * listener that closes each connection at once), a client holding a TCP connection and exchanging
 * UDP datagrams (oa-lsof-cli), a client whose connection closes within a few ms (oa-lsof-short),
 * and a burst of connections. Expected values: the children's own pids and titles.
 * Without root (setpriv to nobody, the compiled engine from dist/): the same choice, and cap's open
 * fails with the macOS hint (libpcap's message is Linux's here; a Mac's names /dev/bpf).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { startLiveEngine, type LiveEngine, type LiveSummary } from '../../../src/live/engine.js';
import { runCli } from '../../helpers/run-cli.js';
import { describeNeeding } from '../../helpers/needs.js';
import { tmpDir } from '../../capture/helpers.js';

const dir = tmpDir('oa-lsof-live-');
const bin = path.join(dir, 'bin');
const empty = path.join(dir, 'empty');
const runLog = path.join(dir, 'lsof-runs.log');
const runCount = () => fs.readFileSync(runLog, 'utf8').split('\n').filter((l) => l === 'run').length;
const saved = process.env.PATH;
const children: ChildProcess[] = [];

beforeAll(() => {
  fs.mkdirSync(bin);
  fs.mkdirSync(empty);
  // The real lsof, found on the PATH the test started with (the engine runs with `bin` alone).
  fs.writeFileSync(path.join(bin, 'lsof'), `#!/bin/sh\necho run >> '${runLog}'\nPATH='${saved}' exec lsof "$@"\n`, { mode: 0o755 });
});
afterAll(() => {
  process.env.PATH = saved;
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A Node child with this process title running `code`; resolves with its first stdout line (JSON). */
function child(title: string, code: string, arg: unknown = null): Promise<{ proc: ChildProcess; said: Record<string, number> }> {
  const proc = spawn(process.execPath, ['-e', `process.title = ${JSON.stringify(title)}; const arg = ${JSON.stringify(arg)};\n${code}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  return new Promise((resolve) => proc.stdout!.once('data', (d) => resolve({ proc, said: JSON.parse(String(d).split('\n')[0]) })));
}

const SERVER = `
const net = require('node:net'), dgram = require('node:dgram');
const held = [];
const tcp = net.createServer((c) => held.push(c)).listen(0, '127.0.0.1');
const brief = net.createServer((c) => c.destroy()).listen(0, '127.0.0.1');
const udp = dgram.createSocket('udp4').bind(0, '127.0.0.1');
udp.on('message', (m, from) => udp.send(m, from.port, from.address));
setTimeout(() => console.log(JSON.stringify({ tcp: tcp.address().port, brief: brief.address().port, udp: udp.address().port })), 100);`;

const CLIENT = `
const net = require('node:net'), dgram = require('node:dgram');
const c = net.connect(arg.tcp, '127.0.0.1', () => {
  const u = dgram.createSocket('udp4');
  u.on('message', () => console.log(JSON.stringify({ tcpPort: c.localPort, udpPort: u.address().port })));
  u.connect(arg.udp, '127.0.0.1', () => u.send('ping'));
});`;

/** Connects, and closes as soon as connected; the server closes its end on accept too. */
const SHORT = `
const c = require('node:net').connect(arg.brief, '127.0.0.1', () => { const port = c.localPort; c.destroy(); c.on('close', () => console.log(JSON.stringify({ port }))); });`;

/** n connections at once to the TCP server, held open. */
const BURST = `
const net = require('node:net');
const ports = [];
for (let i = 0; i < arg.n; i++) { const c = net.connect(arg.tcp, '127.0.0.1', () => { ports.push(c.localPort); if (ports.length === arg.n) console.log(JSON.stringify({ first: Math.min(...ports) })); }); }`;

async function stopped(engine: LiveEngine): Promise<LiveSummary> {
  return engine.stop();
}

async function flowsOf(db: string): Promise<Record<string, any>[]> {
  const out = await runCli('flows', '--db', db, '--json');
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout) as Record<string, any>[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeNeeding(['root', 'cap', 'lsof'], 'macOS fallback on Linux: cap capture, lsof lookups (platform darwin, no tcpdump on PATH)', () => {
  it('a held TCP connection and a UDP exchange named by lsof (pids and titles of the real children), a connection of a few ms unattributed and counted, a burst in a few runs; coverage and verify say lowered confidence', async () => {
    process.env.PATH = bin;
    const server = await child('oa-lsof-srv', SERVER);
    const ports = server.said;
    const db = path.join(dir, 'fallback.db');
    const warnings: string[] = [];
    const engine = startLiveEngine({
      db, platform: 'darwin', evidence: 'none', interface: ['lo'], process: ['oa-lsof-cli'],
      filter: `tcp port ${ports.tcp} or tcp port ${ports.brief} or udp port ${ports.udp}`,
    });
    engine.on('warning', (w) => warnings.push(w));
    await sleep(300);

    const client = await child('oa-lsof-cli', CLIENT, ports);
    const short = await child('oa-lsof-short', SHORT, ports);
    await sleep(500);
    const runsBefore = runCount();
    const burst = await child('oa-lsof-burst', BURST, { tcp: ports.tcp, n: 40 });
    await sleep(1500);
    const runsAfter = runCount();
    const summary = await stopped(engine);
    process.env.PATH = saved;
    expect(summary.error).toBeNull();

    expect(warnings[0]).toBe('tcpdump not found on PATH (macOS has it at /usr/sbin/tcpdump): pktap unavailable, attributing by lsof lookups (lower confidence: connections that close before a lookup are missed)');
    expect(warnings).toHaveLength(1);

    const flows = await flowsOf(db);
    const tcp = flows.find((f) => f.proto === 'tcp' && f.initiator_port === client.said.tcpPort);
    const udp = flows.find((f) => f.proto === 'udp' && f.initiator_port === client.said.udpPort);
    const brief = flows.find((f) => f.proto === 'tcp' && f.initiator_port === short.said.port);
    const cli = { pid: client.proc.pid, name: 'oa-lsof-cli', exe: null };
    const srv = { pid: server.proc.pid, name: 'oa-lsof-srv', exe: null };
    expect(tcp).toMatchObject({ responder_port: ports.tcp, process: cli, peer_process: srv });
    expect(udp).toMatchObject({ responder_port: ports.udp, process: cli, peer_process: srv });
    expect(brief).toMatchObject({ responder_port: ports.brief, process: null });
    // The burst: 40 connections, each named, in at most a few lsof runs (not one per flow).
    const burstFlows = flows.filter((f) => f.proto === 'tcp' && f.responder_port === ports.tcp && f.initiator_port !== client.said.tcpPort);
    expect(burstFlows).toHaveLength(40);
    expect(burstFlows.every((f) => f.process?.pid === burst.proc.pid && f.process?.name === 'oa-lsof-burst')).toBe(true);
    expect(runsAfter - runsBefore).toBeLessThanOrEqual(3);

    const store = new Database(db, { readonly: true });
    const processes = store.prepare('SELECT pid, comm, uid, start_time, exe, source, ollama_tree FROM processes ORDER BY pid').all();
    expect(processes).toEqual(expect.arrayContaining([
      { pid: client.proc.pid, comm: 'oa-lsof-cli', uid: 0, start_time: null, exe: null, source: 'lsof', ollama_tree: 1 },
      { pid: server.proc.pid, comm: 'oa-lsof-srv', uid: 0, start_time: null, exe: null, source: 'lsof', ollama_tree: 0 },
    ]));
    const attribution = JSON.parse((store.prepare('SELECT attribution FROM sessions').get() as { attribution: string }).attribution);
    store.close();
    expect(attribution).toMatchObject({ method: 'lsof', why_not: 'tcpdump not found on PATH (macOS has it at /usr/sbin/tcpdump): pktap unavailable', lsof: { unavailable: null } });
    expect(attribution.lsof.not_found).toBeGreaterThanOrEqual(1); // the short connection's
    expect(attribution.lsof.runs).toBe(runCount());

    // Coverage: lowered confidence, why, and the short flow counted.
    const claims = await runCli('claims', '--db', db, '--json', '--claims-file', writeClaim(ports.brief));
    const report = JSON.parse(claims.stdout);
    const cov = report.coverage.sessions[0];
    expect(cov).toMatchObject({ attribution: 'available', attribution_confidence: 'lowered', short_unattributed: 1 });
    expect(cov.confidence_note.startsWith('lower-confidence attribution (lsof lookups, because tcpdump not found on PATH (macOS has it at /usr/sbin/tcpdump): pktap unavailable): '
      + "a connection that closes before a lookup is missed, and without root other users' processes are not visible; ")).toBe(true);
    expect(cov.confidence_note).toContain('1 flow shorter than 1 s stayed unattributed');
    // A claim about the Ollama tree (the client, by --process) never holds while a flow lsof could not name matches it.
    const mine = report.claims.find((c: { id: string }) => c.id === 'tree-never-reaches-brief-port');
    expect(mine.verdict).toBe('inconclusive');
    expect(mine.reason).toMatch(/^1 flow without process information could be the Ollama tree's/);
    const text = await runCli('claims', '--db', db);
    expect(text.stdout).toMatch(/~ confidence lowered: lower-confidence attribution \(lsof lookups/);
    const verify = await runCli('verify', '--db', db, '--json');
    expect(JSON.parse(verify.stdout)).toMatchObject({ confidence: 'lowered' });
    const verifyText = await runCli('verify', '--db', db);
    expect(verifyText.stdout.split('\n')[0]).toMatch(/; confidence lowered: lower-confidence attribution \(lsof lookups.* \(see coverage\)$/);
  });

  it('no lsof either: one warning, flows unattributed, coverage says there is no process information and why', async () => {
    process.env.PATH = empty;
    const server = await child('oa-lsof-srv', SERVER);
    const db = path.join(dir, 'no-lsof.db');
    const warnings: string[] = [];
    const engine = startLiveEngine({ db, platform: 'darwin', evidence: 'none', interface: ['lo'], filter: `tcp port ${server.said.tcp} or udp port ${server.said.udp}` });
    engine.on('warning', (w) => warnings.push(w));
    await sleep(300);
    const client = await child('oa-lsof-cli', CLIENT, server.said);
    await sleep(800);
    const summary = await engine.stop();
    process.env.PATH = saved;
    expect(summary.error).toBeNull();
    expect(warnings).toEqual([
      'tcpdump not found on PATH (macOS has it at /usr/sbin/tcpdump): pktap unavailable, attributing by lsof lookups (lower confidence: connections that close before a lookup are missed)',
      'lsof not found on PATH (macOS has it at /usr/sbin/lsof): flows stay unattributed (the session records it)',
    ]);
    const flows = await flowsOf(db);
    expect(flows.filter((f) => f.initiator_port === client.said.tcpPort || f.initiator_port === client.said.udpPort)).toHaveLength(2);
    expect(flows.every((f) => f.process === null && f.peer_process === null)).toBe(true);
    const report = JSON.parse((await runCli('claims', '--db', db, '--json')).stdout);
    const cov = report.coverage.sessions[0];
    expect(cov).toMatchObject({ attribution: 'unavailable', attributed_share: null, attribution_confidence: 'lowered' });
    expect(cov.problems).toContain('no process information (lsof not found on PATH (macOS has it at /usr/sbin/lsof)): flows cannot be tied to the Ollama tree');
  });
});

describeNeeding(['root', 'cap', 'dist', 'setpriv'], 'macOS fallback without root and without BPF access (platform darwin, run as nobody)', () => {
  it('cap cannot open the device: the engine refuses to start with one line saying sudo or the access_bpf group', () => {
    const home = tmpDir('oa-lsof-nobody-'); // beside the test's folder, which nobody cannot enter
    fs.chownSync(home, 65534, 65534);
    const engine = path.resolve('dist/live/engine.js');
    const code = `import(${JSON.stringify(engine)}).then((m) => {
      try { m.startLiveEngine({ db: ${JSON.stringify(path.join(home, 'x.db'))}, platform: 'darwin', interface: ['lo'], evidence: 'none' }); console.log('started'); process.exit(0); }
      catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }
    });`;
    let out: string;
    try {
      out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', code], { encoding: 'utf8' });
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
    expect(JSON.parse(out)).toEqual({
      name: 'LiveCaptureError',
      message: "cannot capture on lo: no permission (libpcap: socket: Operation not permitted); run with sudo, or join the access_bpf group (Wireshark's ChmodBPF installs it)",
    });
  });
});

function writeClaim(port: number): string {
  const file = path.join(dir, `claims-${port}.json`);
  fs.writeFileSync(file, JSON.stringify([{
    id: 'tree-never-reaches-brief-port', title: 'the Ollama tree never connects to the closing listener', source: 'this test',
    scope: 'ollama', match: { port: [port], direction: 'loopback' }, expect: 'never',
  }]));
  return file;
}
