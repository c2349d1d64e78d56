/**
 * The generated systemd unit, checked by systemd's own tools on the file `service install
 * --dry-run` prints: `systemd-analyze verify` (no error and no warning) and `systemd-analyze
 * security --offline=true` (exposure ≤ 4.0, "OK" or better), for the default settings and for
 * options that need quoting or change the unit (--metrics on loopback and on all addresses, each
 * --attribution: kernel events make a uid-0 unit bounded to five capabilities, procfs an unprivileged one).
 * The daemon's own option parser reads the unit's command line back to the same settings.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { addDaemonOptions } from '../../src/commands/cli-options.js';
import { bpftraceProgram, serviceSettingsFromOptions, type DaemonOptionValues } from '../../src/settings.js';
import { installedArgs } from '../../src/service/service-files.js';
import { defaultServiceAttribution, systemdUnit } from '../../src/service/systemd-unit.js';

const REPO = join(import.meta.dirname, '../..');

interface Analysis { verifyCode: number; verifyOutput: string; exposure: number; rating: string; securityCode: number; text: string }

let dir: string;

/** systemd-analyze on a unit file named ollama-audit.service (verify wants the unit's real name). */
function analyze(text: string, name = 'ollama-audit.service'): Analysis {
  const sub = mkdtempSync(join(dir, 'u-'));
  const file = join(sub, name);
  writeFileSync(file, text);
  const verify = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  const security = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=40', '--no-pager', file], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: (\d+\.\d) (\S+)/.exec(security.stdout);
  if (!m) throw new Error(`no exposure level in: ${security.stdout} ${security.stderr}`);
  return {
    verifyCode: verify.status ?? -1, verifyOutput: (verify.stdout + verify.stderr).trim(),
    exposure: Number(m[1]), rating: m[2], securityCode: security.status ?? -1, text,
  };
}

async function dryRun(...args: string[]): Promise<string> {
  const r = await runCli('service', 'install', '--dry-run', '--init', 'systemd', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const OPTION_SETS: string[][] = [
  [],
  ['--attribution', 'procfs'],
  ['--attribution', 'auto', '--metrics', '9464'],
  ['--metrics', '9464'],
  ['--metrics', '0.0.0.0:9464', '--retain', '7d', '--max-db', '2GiB', '--max-evidence', '2GiB'],
  ['-i', 'lo', '-i', 'eth0', '--filter', 'not port 22 and not host 10.0.0.1', '--process', 'my "odd" $HOME %n name\\x', '--api-port', '8000', '--evidence', 'full'],
];

describeNeeding(['systemd-analyze'], 'the systemd unit, checked by systemd-analyze', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oasv-unit-'));
    // The check below relies on systemd's offline security scoring (systemd ≥ 250).
    const version = Number(/systemd (\d+)/.exec(execFileSync('systemd-analyze', ['--version'], { encoding: 'utf8' }))?.[1]);
    expect(version).toBeGreaterThanOrEqual(250);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const args of OPTION_SETS) {
    it(`verify passes and security rates it OK (≤ 4.0) with [${args.join(' ')}]`, async () => {
      const a = analyze(await dryRun(...args));
      expect(a.verifyOutput).toBe('');
      expect(a.verifyCode).toBe(0);
      expect(a.exposure).toBeLessThanOrEqual(4.0);
      expect(['OK', 'SAFE']).toContain(a.rating);
      expect(a.securityCode).toBe(0);
    });
  }

  it('--attribution procfs: the unit runs as its own user with exactly the three capabilities, and the hardening the issue asks for', async () => {
    const text = await dryRun('--attribution', 'procfs');
    const values = (key: string) => text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
    expect(values('User')).toEqual(['ollama-audit']);
    expect(values('AmbientCapabilities')).toEqual(['CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE']);
    expect(values('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE']);
    expect(values('SystemCallFilter')).toEqual(['@system-service', '~@privileged @resources']);
    expect(values('Environment')).toEqual([]);
    expect(values('NoNewPrivileges')).toEqual(['yes']);
    expect(values('ProtectSystem')).toEqual(['strict']);
    expect(values('StateDirectory')).toEqual(['ollama-audit']);
    // A checkout under a home folder (CI may clone there) must stay readable to start.
    const underHome = /^\/(home|root|run\/user)\//.test(REPO) || /^\/(home|root|run\/user)\//.test(process.execPath);
    expect(values('ProtectHome')).toEqual([underHome ? 'read-only' : 'yes']);
    expect(values('PrivateTmp')).toEqual(['yes']);
    expect(values('RestrictAddressFamilies')).toEqual(['AF_PACKET AF_NETLINK AF_UNIX AF_INET AF_INET6']);
    expect(values('SystemCallFilter')).toContain('@system-service');
    expect(values('MemoryMax')).toEqual(['1G']);
    expect(values('Restart')).toEqual(['on-failure']);
    // No metrics: the daemon makes no IP connections at all.
    expect(values('IPAddressDeny')).toEqual(['any']);
    expect(values('IPAddressAllow')).toEqual([]);
    // Metrics on loopback: loopback scrapers only; on another address: scrapers the unit cannot know.
    expect((await dryRun('--metrics', '[::1]:9464')).split('\n').filter((l) => l.startsWith('IPAddress'))).toEqual(['IPAddressDeny=any', 'IPAddressAllow=localhost']);
    expect((await dryRun('--metrics', '0.0.0.0:9464')).split('\n').filter((l) => l.startsWith('IPAddress'))).toEqual([]);
  });

  it('kernel events (auto, ebpf): uid 0 bounded to the three capabilities plus CAP_BPF CAP_PERFMON, bpf and perf_event_open allowed after the deny list, BTF named by file; the same hardening', async () => {
    for (const mode of ['auto', 'ebpf']) {
      const text = await dryRun('--attribution', mode);
      const values = (key: string) => text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
      expect(values('User')).toEqual([]);
      expect(values('Group')).toEqual([]);
      expect(values('AmbientCapabilities')).toEqual(['CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_BPF CAP_PERFMON']);
      expect(values('CapabilityBoundingSet')).toEqual(values('AmbientCapabilities'));
      // Order matters to systemd: the later allow list puts back two calls the deny list took away.
      expect(values('SystemCallFilter')).toEqual(['@system-service', '~@privileged @resources', 'bpf perf_event_open']);
      expect(values('Environment')).toEqual(['BPFTRACE_BTF=/sys/kernel/btf/vmlinux']);
      for (const key of ['NoNewPrivileges', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'PrivateDevices']) expect(values(key)).toEqual(['yes']);
      expect(values('ProtectSystem')).toEqual(['strict']);
      expect(values('ExecStart')[0]).toMatch(mode === 'auto' ? / daemon --db \S+$/ : / --attribution ebpf$/);
      const a = analyze(text);
      expect(a.verifyOutput).toBe('');
      expect(a.exposure).toBeLessThanOrEqual(4.0);
    }
  });

  it('without --attribution: the unprivileged procfs unit, with or without bpftrace (not root); --attribution ebpf is the uid-0 unit', async () => {
    const saved = process.env.OLLAMA_AUDIT_BPFTRACE;
    try {
      process.env.OLLAMA_AUDIT_BPFTRACE = '/nonexistent/bpftrace';
      const without = await dryRun();
      expect(without).toMatch(/^ExecStart=.* --attribution procfs$/m);
      expect(without).toMatch(/^User=ollama-audit$/m);
      process.env.OLLAMA_AUDIT_BPFTRACE = process.execPath; // any program on disk stands for an installed bpftrace
      expect(await dryRun()).toBe(without);
      const ebpf = await dryRun('--attribution', 'ebpf');
      expect(ebpf).toMatch(/^ExecStart=.* --attribution ebpf$/m);
      expect(ebpf).not.toMatch(/^User=/m);
      // Why, for each case: how to have kernel events, or what stands in the way.
      expect(defaultServiceAttribution(process.execPath)).toEqual({ mode: 'procfs', why: expect.stringMatching(/need uid 0 .*--attribution ebpf/) });
      expect(defaultServiceAttribution(process.execPath, '/nonexistent/vmlinux')).toEqual({ mode: 'procfs', why: expect.stringMatching(/no BTF/) });
      expect(defaultServiceAttribution('/nonexistent/bpftrace')).toEqual({ mode: 'procfs', why: expect.stringMatching(/not installed/) });
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_AUDIT_BPFTRACE;
      else process.env.OLLAMA_AUDIT_BPFTRACE = saved;
    }
  });

  it('ProtectHome=read-only exactly when node or the package lives under /home, /root or /run/user; both rate OK', () => {
    const settings = serviceSettingsFromOptions({});
    const protectHome = (node: string, script: string) => /^ProtectHome=(.*)$/m.exec(systemdUnit(settings, { node, script }))?.[1];
    expect(protectHome('/usr/bin/node', '/usr/lib/node_modules/ollama-audit/bin/ollama-audit.js')).toBe('yes');
    expect(protectHome('/usr/bin/node', '/home/ann/ollama-audit/bin/ollama-audit.js')).toBe('read-only');
    expect(protectHome('/root/.nvm/versions/node/v20/bin/node', '/opt/ollama-audit/bin/ollama-audit.js')).toBe('read-only');
    const readOnly = analyze(systemdUnit(settings, { node: process.execPath, script: '/home/ann/ollama-audit/bin/ollama-audit.js' }));
    expect(readOnly.exposure).toBeLessThanOrEqual(4.0);
  });

  it('the command line is the settings\' own: the daemon\'s parser reads it back to the same settings', async () => {
    for (const args of OPTION_SETS) {
      const words = installedArgs('systemd', await dryRun(...args));
      expect(words[0]).toBe(process.execPath);
      expect(words[1]).toMatch(/bin\/ollama-audit\.js$/);
      expect(words[2]).toBe('daemon');
      const parse = (a: string[]) => {
        const cmd = addDaemonOptions(new Command('daemon')).exitOverride();
        cmd.parse(a, { from: 'user' });
        return serviceSettingsFromOptions(cmd.opts<DaemonOptionValues>());
      };
      // Without --attribution the service's own default (decided at install) is on its command line.
      const given = args.includes('--attribution') ? args : [...args, '--attribution', defaultServiceAttribution(bpftraceProgram()).mode];
      expect(parse(words.slice(3))).toEqual(parse(given));
    }
  });

  it('the checks can fail: an unknown key or a weakened unit is caught', async () => {
    const text = await dryRun();
    const unknown = analyze(text.replace('NoNewPrivileges=yes', 'NoNewPrivileges=yes\nNoNewPrivilege=yes'));
    expect(unknown.verifyOutput).toMatch(/Unknown key/);
    const weak = analyze(text.split('\n').filter((l) => !/^(Protect|Private|Restrict|SystemCall|Capability)/.test(l)).join('\n'));
    expect(weak.exposure).toBeGreaterThan(4.0);
    expect(weak.securityCode).not.toBe(0);
  });

  it('--db outside the service\'s state folder is refused with one line, exit 2', async () => {
    const r = await runCli('service', 'install', '--dry-run', '--init', 'systemd', '--db', '/srv/audit.db');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--db \/srv\/audit\.db: .*\/var\/lib\/ollama-audit\//);
  });
});
