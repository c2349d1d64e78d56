/**
 * The macOS LaunchDaemon (no launchd here): the plist `service install --init launchd --dry-run`
 * prints, parsed by Python's plistlib (not by us), has the keys launchd needs and the same
 * daemon command line as the systemd unit; install / status / uninstall call a stand-in
 * `launchctl` (test/service/stand-in.ts) the way a Mac's must be called.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { installedArgs } from '../../src/service/service-files.js';
import { writeStandIns } from './stand-in.js';

let dir: string;
let oldPath: string | undefined;

/** plistlib's reading of the file, as JSON. */
function parsePlist(text: string): Record<string, unknown> {
  const py = 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))';
  return JSON.parse(execFileSync('python3', ['-c', py], { input: text, encoding: 'utf8' })) as Record<string, unknown>;
}

const OPTIONS = ['--db', '/Library/Application Support/ollama-audit/audit.db', '-i', 'en0', '--filter', 'not port 22 & <x>', '--retain', '7d', '--metrics', '9464'];

describeNeeding(['python3'], 'the macOS LaunchDaemon plist', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oasv-launchd-'));
    writeStandIns(join(dir, 'bin'));
    oldPath = process.env.PATH;
    process.env.PATH = `${join(dir, 'bin')}:${oldPath}`;
    process.env.OASV_CALLS = join(dir, 'calls.log');
    process.env.OASV_SHOW = join(dir, 'show.txt');
  });
  afterAll(() => {
    process.env.PATH = oldPath;
    for (const v of ['OASV_CALLS', 'OASV_SHOW']) delete process.env[v];
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run prints a plist with KeepAlive, log paths and the systemd unit\'s command line', async () => {
    const plist = await runCli('service', 'install', '--dry-run', '--init', 'launchd', ...OPTIONS);
    expect(plist.code, plist.stderr).toBe(0);
    const p = parsePlist(plist.stdout);
    expect(p.Label).toBe('com.ollama-audit.daemon');
    expect(p.RunAtLoad).toBe(true);
    expect(p.KeepAlive).toEqual({ SuccessfulExit: false });
    expect(p.StandardOutPath).toBe('/Library/Application Support/ollama-audit/ollama-audit.out.log');
    expect(p.StandardErrorPath).toBe('/Library/Application Support/ollama-audit/ollama-audit.err.log');
    expect(p.Umask).toBe(0o077);
    const args = p.ProgramArguments as string[];
    expect(args.slice(2)).toEqual(['daemon', '--db', '/Library/Application Support/ollama-audit/audit.db', '--interface', 'en0',
      '--filter', 'not port 22 & <x>', '--retain', '1w', '--metrics', '127.0.0.1:9464']);
    // The same command line systemd would run (the unit's store must be in its state folder, so compare without --db).
    const unit = await runCli('service', 'install', '--dry-run', '--init', 'systemd', ...OPTIONS.slice(2));
    const unitArgs = installedArgs('systemd', unit.stdout);
    // Nor --attribution: a systemd unit's default is decided on Linux at install (kernel events or procfs); macOS has neither.
    const withoutDb = (a: string[]) => a.filter((_, i) => !['--db', '--attribution'].includes(a[i]!) && !['--db', '--attribution'].includes(a[i - 1]!));
    expect(withoutDb(args)).toEqual(withoutDb(unitArgs));
    // Without --db: where macOS system daemons keep their state (there is no /var/lib).
    const bare = parsePlist((await runCli('service', 'install', '--dry-run', '--init', 'launchd')).stdout);
    expect((bare.ProgramArguments as string[]).slice(2)).toEqual(['daemon', '--db', '/Library/Application Support/ollama-audit/audit.db']);
  });

  it('install bootstraps the plist, status reads launchctl print, uninstall boots it out', async () => {
    const units = join(dir, 'LaunchDaemons');
    const install = await runCli('service', 'install', '--init', 'launchd', '--unit-dir', units, '--db', join(dir, 'store', 'audit.db'));
    expect(install.code, install.stderr).toBe(0);
    const file = join(units, 'com.ollama-audit.daemon.plist');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(parsePlist(readFileSync(file, 'utf8')).Label).toBe('com.ollama-audit.daemon');
    writeFileSync(process.env.OASV_SHOW!, 'system/com.ollama-audit.daemon = {\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n}\n');
    const status = await runCli('service', 'status', '--init', 'launchd', '--unit-dir', units);
    expect(status.stdout.split('\n')[0]).toBe('com.ollama-audit.daemon: running, pid 4242');
    expect(status.stdout).toMatch(/^store: .*audit\.db \(not created yet\)$/m);
    const uninstall = await runCli('service', 'uninstall', '--init', 'launchd', '--unit-dir', units);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(process.env.OASV_CALLS!, 'utf8').split('\n').filter(Boolean)).toEqual([
      `launchctl bootstrap system ${file}`, 'launchctl print system/com.ollama-audit.daemon', 'launchctl bootout system/com.ollama-audit.daemon',
    ]);
  });
});
