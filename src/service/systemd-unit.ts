/**
 * The systemd unit of the daemon: a pure function of the daemon's settings (the command line
 * comes from settingsToArgs, so no default is written twice). Each capability and hardening
 * directive is justified in native-notes/service.md; `systemd-analyze verify` and
 * `systemd-analyze security --offline=true` check the result in test/service/.
 */
import { existsSync } from 'node:fs';
import { settingsToArgs, type AttributionMode, type DaemonSettings } from '../settings.js';
import { onPath } from '../capture/os/on-path.js';

export const SERVICE_NAME = 'ollama-audit';
export const UNIT_FILE = `${SERVICE_NAME}.service`;
/** The system user the service runs as (created by systemd-sysusers at install). */
export const SERVICE_USER = 'ollama-audit';
/** systemd-sysusers' line for that user: a system user, no login, home in the state folder. */
export const SYSUSERS_LINE = `u ${SERVICE_USER} - "ollama-audit daemon" /var/lib/${SERVICE_NAME}`;

/**
 * What the daemon needs with procfs attribution alone (native-notes/service.md has the
 * experiments): CAP_NET_RAW opens the packet socket; CAP_DAC_READ_SEARCH opens other users'
 * /proc/<pid>/fd (mode 0500, owner only); CAP_SYS_PTRACE reads the links in it and
 * /proc/<pid>/exe (the kernel's ptrace access check). No CAP_NET_ADMIN: measured unnecessary.
 */
const PROCFS_CAPABILITIES = ['CAP_NET_RAW', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE'];

/**
 * What kernel socket events (bpftrace) add, measured on this kernel (native-notes/service.md,
 * "Kernel socket events"): CAP_BPF (maps, programs) and CAP_PERFMON (tracepoint perf events; the
 * output buffer); bpf(2) and perf_event_open(2), which @system-service leaves out; BTF named by
 * file, because bpftrace otherwise walks the kernel's BTF ids (BPF_BTF_GET_NEXT_ID), which needs
 * CAP_SYS_ADMIN. And uid 0: bpftrace 0.17 refuses any other effective uid before it tries
 * anything, so this unit has no User= and relies on its bounding set instead (no CAP_DAC_OVERRIDE,
 * CAP_SYS_ADMIN, CAP_CHOWN...; it writes only where ProtectSystem=strict leaves it: its state folder).
 */
const BTF_FILE = '/sys/kernel/btf/vmlinux';
const KERNEL_EVENT_RIGHTS = {
  capabilities: ['CAP_BPF', 'CAP_PERFMON'],
  syscalls: ['bpf', 'perf_event_open'],
  environment: [`BPFTRACE_BTF=${BTF_FILE}`],
};

/** The rights a unit grants: a function of the daemon's --attribution (procfs: unprivileged; auto/ebpf: kernel events). */
export interface UnitRights {
  /** The user it runs as; null: root (uid 0), with only `capabilities`. */
  user: string | null;
  capabilities: string[];
  /** System calls allowed beyond @system-service. */
  syscalls: string[];
  /** Environment= assignments. */
  environment: string[];
}

/**
 * The attribution a systemd service gets when `--attribution` is not given: procfs, so that the
 * unit runs as its own user, not root (issue #12's least privilege), even where bpftrace could run:
 * bpftrace 0.17 refuses every uid but 0, so kernel events cost the service uid 0. They are one
 * option away (`--attribution ebpf`, not `auto`: a service starting at boot on a busy machine must
 * wait for bpftrace rather than give up after auto's 2 s; if it cannot have them it exits 2 and
 * systemd starts it again). `why` says what the service goes without and, where it is possible,
 * how to have it; coverage says `attribution_confidence: lowered` when short flows went unnamed.
 */
export function defaultServiceAttribution(bpftrace: string, btfFile = BTF_FILE): { mode: AttributionMode; why: string } {
  const without = 'no kernel socket events for the service (connections of a few ms may go unattributed; coverage says so)';
  if (process.platform !== 'linux') return { mode: 'procfs', why: `${without}: they are a Linux feature` };
  if (!onPath(bpftrace)) return { mode: 'procfs', why: `${without}: ${bpftrace} is not installed (Debian/Ubuntu: apt-get install bpftrace; then service install --force --attribution ebpf)` };
  if (!existsSync(btfFile)) return { mode: 'procfs', why: `${without}: this kernel has no BTF (${btfFile}), which bpftrace needs without CAP_SYS_ADMIN` };
  return { mode: 'procfs', why: `${without}: they need uid 0 (bpftrace refuses any other); to have them: service install --force --attribution ebpf (uid 0 bounded to five capabilities, README "Service")` };
}

/** The user and rights a unit with this attribution gets (kernel events cost uid 0 and two capabilities). */
export function unitRights(attribution: AttributionMode): UnitRights {
  if (attribution === 'procfs') return { user: SERVICE_USER, capabilities: [...PROCFS_CAPABILITIES], syscalls: [], environment: [] };
  return {
    user: null,
    capabilities: [...PROCFS_CAPABILITIES, ...KERNEL_EVENT_RIGHTS.capabilities],
    syscalls: [...KERNEL_EVENT_RIGHTS.syscalls],
    environment: [...KERNEL_EVENT_RIGHTS.environment],
  };
}

/** Paths systemd's ProtectHome= hides: a program installed below them needs ProtectHome=read-only. */
const HOME_PREFIXES = ['/home/', '/root/', '/run/user/'];

export interface UnitProgram {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of bin/ollama-audit.js. */
  script: string;
}

/** The unit file's text. */
export function systemdUnit(settings: DaemonSettings, program: UnitProgram): string {
  const exec = [program.node, program.script, 'daemon', ...settingsToArgs(settings)].map(systemdQuote).join(' ');
  const underHome = [program.node, program.script].some((p) => HOME_PREFIXES.some((h) => p.startsWith(h)));
  const rights = unitRights(settings.attribution);
  const caps = rights.capabilities.join(' ');
  return [
    '# Written by `ollama-audit service install`; `ollama-audit service uninstall` removes it.',
    '# Every directive is explained in native-notes/service.md.',
    `# Attribution: ${attributionNote(settings.attribution)}`,
    '[Unit]',
    'Description=ollama-audit: audit what Ollama sends over the network',
    'After=network.target',
    '',
    '[Service]',
    'Type=exec',
    ...rights.environment.map((e) => `Environment=${e}`),
    `ExecStart=${exec}`,
    'Restart=on-failure',
    'RestartSec=5s',
    ...(rights.user === null ? [] : [`User=${rights.user}`, `Group=${rights.user}`]),
    `StateDirectory=${SERVICE_NAME}`,
    'StateDirectoryMode=0700',
    'UMask=0077',
    `AmbientCapabilities=${caps}`,
    `CapabilityBoundingSet=${caps}`,
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${underHome ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictAddressFamilies=AF_PACKET AF_NETLINK AF_UNIX AF_INET AF_INET6',
    ...ipAccess(settings),
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'KeyringMode=private',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged @resources',
    // After the deny list, so that these two of @privileged/@debug stay allowed.
    ...(rights.syscalls.length > 0 ? [`SystemCallFilter=${rights.syscalls.join(' ')}`] : []),
    'SystemCallErrorNumber=EPERM',
    'MemoryMax=1G',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * What a unit's attribution costs, one line: written into the unit and printed by `service
 * install` (systemd-analyze security's figures for each: README "Service").
 */
export function attributionNote(attribution: AttributionMode): string {
  const caps = unitRights(attribution).capabilities.join(' ');
  if (attribution === 'procfs') return `procfs only, as the unprivileged user ${SERVICE_USER} with ${caps}; connections gone before /proc is read stay unnamed.`;
  return `${attribution}: kernel socket events (bpftrace) + procfs; bpftrace 0.17 runs only as uid 0, so the unit runs as root bounded to ${caps} (--attribution procfs: an unprivileged unit without kernel events).`;
}

/**
 * The daemon makes no network calls: every IP socket is denied, except that the metrics
 * listener on loopback may answer loopback scrapers. A listener on another address must answer
 * scrapers the unit cannot know, so then no IP filter is set.
 */
function ipAccess(s: DaemonSettings): string[] {
  if (s.metrics === undefined) return ['IPAddressDeny=any'];
  if (isLoopback(s.metrics.host)) return ['IPAddressDeny=any', 'IPAddressAllow=localhost'];
  return [];
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

/**
 * One ExecStart= argument as systemd reads it (systemd.service(5) "Command lines"): double
 * quotes around anything with a space, quote or backslash; `%` doubled (specifiers) and `$`
 * doubled (variable expansion), so every argument arrives exactly as settingsToArgs gave it.
 */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (arg !== '' && !/[\s"'\\;]/.test(arg)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
