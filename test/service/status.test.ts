/**
 * `service status` and `uninstall --purge` on a running service: installed with the stand-in
 * systemd (test/service/stand-in.ts), the daemon started from the installed unit's own ExecStart
 * (what systemd would run), its store in /var/lib/ollama-audit on a 3 MiB tmpfs the test mounts
 * there. Real curl connections to a local server, then the disk filled mid-run and freed: status
 * must report the daemon's pid, the store, the session's packets, and then the store gap (exit 1);
 * while the disk is full it must say nothing has been written (exit 1). The daemon's --metrics
 * (from the unit's command line) say the same: store not writable while full, writable again after.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { installedArgs } from '../../src/service/service-files.js';
import { writeStandIns } from './stand-in.js';

const STATE = '/var/lib/ollama-audit';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let unitDir: string;
let madeState = false;
let server: Server;
let port: number;
let daemon: ChildProcess | null = null;
let daemonErr = '';
let oldPath: string | undefined;

async function waitFor(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; daemon: ${daemonErr}`);
    await sleep(100);
  }
}

/** n sequential connections (Connection: close), each its own flow; async: the server answers in this process. */
async function curl(n: number): Promise<void> {
  const urls = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${port}/r${i}`);
  await promisify(execFile)('curl', ['-s', '-o', '/dev/null', '-H', 'Connection: close', ...urls], { timeout: 60_000 });
}

/** A loopback port nobody listens on now. */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const p = (s.address() as AddressInfo).port;
  await new Promise((ok) => s.close(ok));
  return p;
}

const status = () => runCli('service', 'status', '--init', 'systemd', '--unit-dir', unitDir);

describeNeeding(['root', 'cap', 'curl', 'dist'], 'service status of a running service, with a full disk', () => {
  beforeAll(async () => {
    if (existsSync(STATE) && execFileSync('findmnt', ['-n', STATE], { encoding: 'utf8' }).trim() === '') {
      throw new Error(`${STATE} exists on this machine: the test would shadow it; remove it or run elsewhere`);
    }
    dir = mkdtempSync(join(tmpdir(), 'oasv-status-'));
    unitDir = join(dir, 'units');
    mkdirSync(unitDir);
    writeStandIns(join(dir, 'bin'));
    oldPath = process.env.PATH;
    process.env.PATH = `${join(dir, 'bin')}:${oldPath}`;
    process.env.OASV_CALLS = join(dir, 'calls.log');
    process.env.OASV_SHOW = join(dir, 'show.txt');
    if (!existsSync(STATE)) { mkdirSync(STATE); madeState = true; }
    // mode=0700: the daemon refuses a folder others can write (safe-files.ts).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', STATE]);
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await new Promise((ok) => server?.close(ok));
    spawnSync('umount', ['--lazy', STATE]);
    if (madeState) rmSync(STATE, { recursive: true, force: true });
    process.env.PATH = oldPath;
    for (const v of ['OASV_CALLS', 'OASV_SHOW']) delete process.env[v];
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports pid, store and session; then the store gap; purge removes the store', async () => {
    const metricsPort = await freePort();
    const installed = await runCli('service', 'install', '--init', 'systemd', '--unit-dir', unitDir, '-i', 'lo', '--filter', `tcp port ${port}`, '--evidence', 'none',
      '--attribution', 'procfs', '--metrics', String(metricsPort));
    expect(installed.code, installed.stderr).toBe(0);
    // What systemd would start: the unit's ExecStart, word for word.
    const args = installedArgs('systemd', readFileSync(join(unitDir, 'ollama-audit.service'), 'utf8'));
    expect(args.slice(2)).toEqual(['daemon', '--db', `${STATE}/audit.db`, '--interface', 'lo', '--filter', `tcp port ${port}`, '--evidence', 'none',
      '--attribution', 'procfs', '--metrics', `127.0.0.1:${metricsPort}`]);
    const gauge = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1]);
    daemon = spawn(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    daemon.stderr!.on('data', (d: Buffer) => { daemonErr += d.toString(); });
    const since = new Date().toUTCString();
    writeFileSync(process.env.OASV_SHOW!, `ActiveState=active\nSubState=running\nMainPID=${daemon.pid}\nActiveEnterTimestamp=${since}\n`);
    await waitFor('the daemon to capture', () => /capturing on lo/.test(daemonErr));
    await curl(10);
    await sleep(2500);

    const healthy = await status();
    expect(healthy.stderr).toBe('');
    const lines = healthy.stdout.split('\n');
    expect(lines[0]).toBe(`ollama-audit.service: active (running), pid ${daemon.pid}, since ${since}`);
    expect(lines[1]).toMatch(new RegExp(`^store: ${STATE}/audit\\.db, [\\d.]+ (KiB|MiB), last write \\S+ \\([\\d.]+ (ms|s) ago\\)$`));
    const packets = Number(/^session 1: started \S+; (\d+) packets, kernel drops \d+, estimated loss /m.exec(healthy.stdout)?.[1]);
    // 10 HTTP connections on lo: at least a handshake, request, response and close each.
    expect(packets).toBeGreaterThanOrEqual(10 * 7);
    expect(healthy.stdout).toMatch(/^store gaps: none$/m);
    expect(healthy.stdout).toMatch(/^findings: \d+ claims violated.*, \d+ inconclusive/m);
    expect(healthy.stdout).toMatch(/^health: ok$/m);
    expect(healthy.code).toBe(0);
    expect(await gauge('ollama_audit_store_writable')).toBe(1);

    // The disk fills: writes fail, connections close meanwhile and are lost.
    const filler = join(STATE, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    await curl(30);
    await waitFor('the full-disk warning', () => /disk full while writing/.test(daemonErr));
    await sleep(11_000);
    const full = await status();
    expect(full.stdout).toMatch(/^ {2}- nothing written to the store for \d+ s while the service runs \(a full disk\? see the service's log\)$/m);
    expect(full.code).toBe(1);
    // The metrics say the same: not writable, and the last write as old as status says.
    expect(await gauge('ollama_audit_store_writable')).toBe(0);
    expect(Date.now() / 1000 - await gauge('ollama_audit_last_write_timestamp_seconds')).toBeGreaterThan(10);

    rmSync(filler);
    await waitFor('writing to resume', () => /writing to .* again/.test(daemonErr));
    const gap = await status();
    expect(gap.stdout).toMatch(/^store gaps: 1$/m);
    const lost = Number(/^ {2}- the store was full from \d\d:\d\d:\d\d UTC to \d\d:\d\d:\d\d UTC: (\d+) flows not stored.*\(claims over this session cannot hold\)$/m.exec(gap.stdout)?.[1]);
    // Connections that closed while the disk was full: some, never more than were made then.
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThanOrEqual(30);
    expect(gap.stdout).toMatch(/^health: 1 problem$/m);
    expect(gap.code).toBe(1);
    expect(await gauge('ollama_audit_store_writable')).toBe(1);

    daemon.kill('SIGTERM');
    await new Promise((ok) => daemon!.once('exit', ok));
    writeFileSync(process.env.OASV_SHOW!, 'ActiveState=inactive\nSubState=dead\nMainPID=0\nActiveEnterTimestamp=\n');
    const stopped = await status();
    expect(stopped.stdout.split('\n')[0]).toBe('ollama-audit.service: inactive (dead)');
    expect(stopped.stdout).toMatch(/^ {2}- the service is not running \(inactive \(dead\)\)$/m);
    expect(stopped.code).toBe(1);

    const purged = await runCli('service', 'uninstall', '--purge', '--init', 'systemd', '--unit-dir', unitDir);
    expect(purged.code, purged.stderr).toBe(0);
    for (const f of ['audit.db', 'audit.db-wal', 'audit.db-shm', 'audit.evidence']) expect(existsSync(join(STATE, f)), f).toBe(false);
    const notInstalled = await status();
    expect(notInstalled.code).toBe(2);
    expect(notInstalled.stderr).toMatch(/no service installed at .*service install/);
  });
});
