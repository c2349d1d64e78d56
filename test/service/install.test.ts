/**
 * `service install|uninstall` against a stand-in init system: `systemctl` and `systemd-sysusers`
 * scripts first on PATH that record every call (there is no running systemd here), and a unit
 * folder of the test's own (--unit-dir). What must hold: the file written is the --dry-run text,
 * the calls are the ones a real systemd needs in that order, an installed unit is refused
 * without --force, and without root nothing is written and nothing is called (exit 2, one line).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { describeNeeding } from '../helpers/needs.js';
import { writeStandIns } from './stand-in.js';

const REPO = resolve(import.meta.dirname, '../..');
let dir: string;
let unitDir: string;
let calls: string;
let oldPath: string | undefined;

const recorded = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : []);
const install = (...args: string[]) => runCli('service', 'install', '--init', 'systemd', '--unit-dir', unitDir, ...args);
const unitPath = () => join(unitDir, 'ollama-audit.service');

describe('service install / uninstall with a stand-in systemd', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oasv-install-'));
    writeStandIns(join(dir, 'bin'));
    calls = join(dir, 'calls.log');
    oldPath = process.env.PATH;
    process.env.PATH = `${join(dir, 'bin')}:${oldPath}`;
    process.env.OASV_CALLS = calls;
  });
  afterAll(() => {
    process.env.PATH = oldPath;
    delete process.env.OASV_CALLS;
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    rmSync(calls, { force: true });
    unitDir = mkdtempSync(join(dir, 'units-'));
  });

  it('install writes the --dry-run unit (0644), creates the user, reloads, enables and starts it', async () => {
    const dry = await install('--dry-run', '--retain', '7d');
    expect(recorded()).toEqual([]);
    expect(existsSync(unitPath())).toBe(false);
    const r = await install('--retain', '7d');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(unitPath(), 'utf8')).toBe(dry.stdout);
    expect(statSync(unitPath()).mode & 0o777).toBe(0o644);
    expect(recorded()).toEqual([
      'systemd-sysusers --inline u ollama-audit - "ollama-audit daemon" /var/lib/ollama-audit',
      'systemctl daemon-reload',
      'systemctl enable --now ollama-audit.service',
    ]);
    expect(r.stdout).toMatch(/wrote .*ollama-audit\.service/);
    // Which attribution the service gets, and what it costs, is said (the unit's own comment line too).
    const attribution = /^ollama-audit: attribution: (.*)$/m.exec(r.stdout)?.[1];
    expect(attribution).toBeDefined();
    expect(dry.stdout).toContain(`# Attribution: ${attribution}`);
    expect(attribution).toMatch(/^procfs only, as the unprivileged user ollama-audit/);
  });

  it('without bpftrace the unit is the unprivileged procfs one, and install says why there are no kernel events', async () => {
    const saved = process.env.OLLAMA_AUDIT_BPFTRACE;
    process.env.OLLAMA_AUDIT_BPFTRACE = '/nonexistent/bpftrace';
    try {
      const r = await install();
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(unitPath(), 'utf8')).toMatch(/^User=ollama-audit$/m);
      expect(r.stdout).toMatch(/^ollama-audit: attribution: procfs only/m);
      expect(r.stdout).toMatch(/^ollama-audit: no kernel socket events for the service \(.*\): \/nonexistent\/bpftrace is not installed .*apt-get install bpftrace/m);
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_AUDIT_BPFTRACE;
      else process.env.OLLAMA_AUDIT_BPFTRACE = saved;
    }
  });

  it('with bpftrace installed the default unit is still the unprivileged procfs one; install says kernel events need uid 0 and how to have them', async () => {
    const saved = process.env.OLLAMA_AUDIT_BPFTRACE;
    process.env.OLLAMA_AUDIT_BPFTRACE = process.execPath; // any program on disk stands for an installed bpftrace
    try {
      const r = await install();
      expect(r.code, r.stderr).toBe(0);
      const unit = readFileSync(unitPath(), 'utf8');
      expect(unit).toMatch(/^User=ollama-audit$/m);
      expect(unit).toMatch(/^ExecStart=.* --attribution procfs$/m);
      expect(r.stdout).toMatch(/^ollama-audit: no kernel socket events for the service \(.*\): they need uid 0 .*service install --force --attribution ebpf/m);
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_AUDIT_BPFTRACE;
      else process.env.OLLAMA_AUDIT_BPFTRACE = saved;
    }
  });

  it('an installed unit is refused without --force (one line, exit 2, nothing changed); --force replaces it and restarts', async () => {
    await install();
    const before = readFileSync(unitPath(), 'utf8');
    rmSync(calls);
    const refused = await install('--retain', '7d');
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/already exists .*--force/);
    expect(readFileSync(unitPath(), 'utf8')).toBe(before);
    expect(recorded()).toEqual([]);
    const forced = await install('--retain', '7d', '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(unitPath(), 'utf8')).toMatch(/^ExecStart=.* --retain 1w( |$)/m);
    expect(recorded()).toEqual([
      'systemd-sysusers --inline u ollama-audit - "ollama-audit daemon" /var/lib/ollama-audit',
      'systemctl daemon-reload', 'systemctl enable --now ollama-audit.service', 'systemctl restart ollama-audit.service',
    ]);
  });

  it('uninstall stops, disables and removes the unit and keeps the store; a second uninstall says nothing is installed', async () => {
    await install();
    rmSync(calls);
    const r = await runCli('service', 'uninstall', '--init', 'systemd', '--unit-dir', unitDir);
    expect(r.code).toBe(0);
    expect(existsSync(unitPath())).toBe(false);
    expect(recorded()).toEqual(['systemctl disable --now ollama-audit.service', 'systemctl daemon-reload']);
    expect(r.stdout).toMatch(/kept the store \/var\/lib\/ollama-audit\/audit\.db/);
    const again = await runCli('service', 'uninstall', '--init', 'systemd', '--unit-dir', unitDir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no service installed at .*nothing to uninstall/);
  });

  it('a failing systemctl is reported as one line naming the call, exit 2', async () => {
    writeFileSync(join(dir, 'bin', 'systemctl'), '#!/bin/sh\necho "Failed to connect to bus: No such file or directory" >&2\nexit 1\n');
    try {
      const r = await install();
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('ollama-audit: systemctl daemon-reload failed: Failed to connect to bus: No such file or directory\n');
    } finally {
      writeStandIns(join(dir, 'bin'));
    }
  });
});

describeNeeding(['root', 'setpriv', 'dist'], 'service install without root', () => {
  it('install and uninstall exit 2 with one line, change nothing and call nothing', () => {
    const own = mkdtempSync(join(tmpdir(), 'oasv-noroot-'));
    try {
      writeStandIns(join(own, 'bin'));
      const units = join(own, 'units');
      mkdirSync(units, { mode: 0o777 });
      chmodSync(own, 0o755);
      const log = join(own, 'calls.log');
      const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups',
        process.execPath, join(REPO, 'bin/ollama-audit.js'), 'service', 'install', '--init', 'systemd', '--unit-dir', units], {
        encoding: 'utf8', env: { ...process.env, PATH: `${join(own, 'bin')}:${process.env.PATH}`, OASV_CALLS: log },
      });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('ollama-audit: service install needs root (it changes the system\'s services): run it with sudo\n');
      expect(existsSync(join(units, 'ollama-audit.service'))).toBe(false);
      expect(existsSync(log)).toBe(false);
      // Uninstall likewise: an installed unit (written here as root) stays, nothing is called.
      writeFileSync(join(units, 'ollama-audit.service'), '[Service]\nExecStart=/bin/true\n');
      const un = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups',
        process.execPath, join(REPO, 'bin/ollama-audit.js'), 'service', 'uninstall', '--purge', '--init', 'systemd', '--unit-dir', units], {
        encoding: 'utf8', env: { ...process.env, PATH: `${join(own, 'bin')}:${process.env.PATH}`, OASV_CALLS: log },
      });
      expect(un.status).toBe(2);
      expect(un.stderr).toBe('ollama-audit: service uninstall needs root (it changes the system\'s services): run it with sudo\n');
      expect(existsSync(join(units, 'ollama-audit.service'))).toBe(true);
      expect(existsSync(log)).toBe(false);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
