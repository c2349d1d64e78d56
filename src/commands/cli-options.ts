/**
 * The pieces the CLI's commands are declared with: shared options (--db, the daemon's options,
 * --max-flows), value parsers that refuse bad values with commander's one-line usage error, and
 * the help-text helpers. cli.ts declares the commands with them.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { basename } from 'node:path';
import { parseDuration, parseSize } from './parse-units.js';
import { activityNames } from '../knowledge/activity.js';
import { isIP } from 'node:net';
import { ASSUME_FLAGS, ATTRIBUTION_MODES, DB_PATH_TEXT, DEFAULTS, EVIDENCE_POLICIES, evidenceDirFor, type MetricsAddress } from '../settings.js';
import { visible } from '../text/visible.js';

export const KEEP_CMDLINE_HELP = 'store processes\' command lines verbatim (privacy: arguments can hold prompts); by default only argv[0], option names and Ollama\'s subcommand and model are kept, other arguments become <N chars>';

export function dbOption(defaultText = DB_PATH_TEXT): Option {
  return new Option('--db <path>', `SQLite store (default: ${defaultText})`);
}

/**
 * The daemon's options, shared by `daemon` and the settings round trip (settingsToArgs prints
 * these): every default comes from DEFAULTS.
 */
export function addDaemonOptions(cmd: Command, dbDefaultText = DB_PATH_TEXT): Command {
  return cmd
    .addOption(dbOption(dbDefaultText))
    .addOption(repeatable('-i, --interface <name>', 'interface to capture on; repeat for several', collect, DEFAULTS.interfaces.join(', ')))
    .option('--filter <bpf>', 'BPF capture filter, e.g. "not port 22"')
    .addOption(new Option('--evidence <policy>', 'packets kept as evidence: full, head (first 16 KiB of each direction, then headers), or none').choices(EVIDENCE_POLICIES).default(DEFAULTS.evidence))
    .option('--evidence-dir <dir>', `where evidence pcapng segments go (default: a folder named after the database beside it, ${DEFAULTS.dbFile} -> ${basename(evidenceDirFor(DEFAULTS.dbFile))}/)`)
    .option('--max-evidence <size>', 'total evidence size kept, oldest segments deleted first (e.g. 2GiB) (default: no limit)', parseSize)
    .option('--retain <duration>', `delete evidence segments, and closed flows with their DNS/HTTP rows, older than this (e.g. 7d); per-day totals stay (\`rollups\`) (default: ${DEFAULTS.retainS / 86400}d)`, parseDuration)
    .option('--max-db <size>', `keep the store under this size: the oldest closed flows are deleted first (e.g. 2GiB, at least ${DEFAULTS.minMaxDbBytes / 1024 ** 2}MiB) (default: no limit)`, parseSize)
    .addOption(repeatable('--process <name>', 'also treat processes with this name as Ollama; repeatable', collect))
    .addOption(repeatable('--pid <n>', 'also treat this pid (and its children) as Ollama; repeatable', collectInt))
    .addOption(repeatable('--api-port <port>', `another port the Ollama API listens on (${DEFAULTS.apiPort} always counts); repeatable`, collectPort))
    .option('--duration <duration>', 'stop after this long (e.g. 10m) (default: until SIGINT/SIGTERM)', parseDuration)
    .option('--keep-cmdline', KEEP_CMDLINE_HELP)
    .addOption(maxFlowsOption())
    .addOption(new Option('--attribution <source>', 'who owns each connection: ebpf (kernel socket events through bpftrace: names even connections of a few ms; root), procfs (/proc only), or auto (ebpf when it can be had, else procfs with a warning)').choices(ATTRIBUTION_MODES).default(DEFAULTS.attribution))
    .option('--capture-buffer <size>', `kernel capture ring per interface (e.g. 256MiB, ${DEFAULTS.captureBufferRange.min / 1024 ** 2}MiB to ${DEFAULTS.captureBufferRange.max / 1024 ** 3}GiB): packets wait there while the daemon is busy, back to back in 256 KiB blocks (~200 bytes for a SYN: the default holds ~330,000 small packets, ~41,000 full-size ones); a larger ring drops fewer in a burst and is counted in the daemon's RSS (default: ${DEFAULTS.captureBufferBytes / 1024 ** 2}MiB)`, parseSize)
    .option('--snaplen <bytes>', `bytes kept of each packet, ${DEFAULTS.snaplenRange.min} to ${DEFAULTS.snaplenRange.max}, cut by the kernel: more keeps more of a segment larger than an Ethernet MTU (on lo, or with offloads; an API request's model field beyond what was kept is stored as unknown, model_status unread), fewer holds more such segments per MiB of ring (default: ${DEFAULTS.snaplen.device}; on lo and any ${DEFAULTS.snaplen.loopback}, a request head and the 8 KiB of body read for its model)`, parseSize)
    .option('--metrics <[addr:]port>', `serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR an IP address; default ${DEFAULTS.metricsHost}, loopback only) (default: not served)`, metricsAddress);
}

/** --metrics [ADDR:]PORT: a TCP port, after an IPv4 address or a bracketed IPv6 one ([::1]:9464); no host names (no lookups). */
export function metricsAddress(value: string): MetricsAddress {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(value.trim());
  const host = m?.[1]?.replace(/^\[|\]$/g, '') ?? DEFAULTS.metricsHost;
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535 || isIP(host) === 0 || (m[1]?.startsWith('[') ?? false) !== (isIP(host) === 6)) {
    throw new InvalidArgumentError('expected [ADDR:]PORT: a TCP port 1-65535, after an IP address if not loopback (0.0.0.0:9464, [::1]:9464)');
  }
  return { host, port };
}

/** A repeatable option gathering its values in a list; help shows `shown` (or nothing) as the default, not `[]`. */
export function repeatable<T>(flags: string, description: string, parse: (value: string, previous: T[]) => T[], shown?: string): Option {
  const o = new Option(flags, description).argParser(parse);
  return shown === undefined ? o.default([], 'none') : o.default([], shown);
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function collectInt(value: string, previous: number[]): number[] {
  return [...previous, positiveInt(value)];
}

export function collectPort(value: string, previous: number[]): number[] {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a TCP port, 1 to 65535');
  return [...previous, n];
}

export function collectAssume(value: string, previous: string[]): string[] {
  if (!(ASSUME_FLAGS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of: ${ASSUME_FLAGS.join(', ')}`);
  return [...previous, value];
}

export const PLAIN_ACTIVITY_TEXT = activityNames().filter((a) => !a.startsWith('api:')).join(', ');

export function activityName(value: string): string {
  const names = activityNames();
  if (!names.includes(value)) throw new InvalidArgumentError(`expected one of: ${names.join(', ')}`);
  return value;
}

/** Help text lines `Examples:` / `  $ ollama-audit ...`. */
export function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/** Commander's error (and any line it adds) as the one line every usage error gets. */
export function oneErrorLine(text: string): string {
  return `ollama-audit: ${visible(text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim())} (see --help)\n`;
}

/** --max-flows: the flow table's bound (src/flows/flow-table.ts). */
export function maxFlowsOption(): Option {
  return new Option('--max-flows <n>', 'open flows kept at most; beyond it the oldest unanswered (half-open) flow, else the least recently active, is closed early, counted, and claims cannot hold (1 or more)')
    .default(DEFAULTS.maxFlows).argParser(atLeastOne);
}

export function atLeastOne(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** The top-level command: usage errors as one line, the global --force-unsafe-dir, examples. */
export function newProgram(version: string): Command {
  const program = new Command('ollama-audit')
    .description('Audit what Ollama (and everything else on this host) sends over the network.')
    .version(version)
    // Set before the commands are added: each command copies these settings when it is made.
    .configureOutput({ outputError: (text, write) => write(oneErrorLine(text)) })
    .option('--force-unsafe-dir', 'write into folders of other users or writable by others (links are refused all the same)')
    .exitOverride()
    .addHelpText('after', examples('ollama-audit demo', 'ollama-audit import capture.pcapng', 'ollama-audit verify --pcap capture.pcapng'));
  // Module state (safe-files.ts), so set before every action: tests call main() many times in one
  // process. Loaded here, not at the top: `--version` and `--help` write no file.
  program.hook('preAction', async () => (await import('../store/safe-files.js')).allowUnsafeDirs(program.opts().forceUnsafeDir === true));
  return program;
}
