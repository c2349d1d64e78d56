/**
 * Every user-facing default, once: the commands, their `--help` texts and the daemon read them
 * from here, and a daemon's settings print themselves back as command-line arguments (a service
 * unit is generated from them, so what runs at boot is what the user ran).
 */
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ANY_DEVICE } from './capture/link-types.js';
import { OLLAMA_API_PORT } from './knowledge/ports.js';
import { UserError } from './errors.js';

/*
 * The values each enumerated option accepts live here, beside the defaults, and not in the module
 * that acts on them: every command's registration validates its options (commander's choices),
 * so a module they came from would load with every command, even `--version` (an import has no use
 * for the evidence writer's rules, the kernel-event attribution, the service files or the exporters).
 */

/** --evidence: how much of each packet the evidence files keep (src/store/evidence-policy.ts). */
export const EVIDENCE_POLICIES = ['full', 'head', 'none'] as const;
export type EvidencePolicy = (typeof EVIDENCE_POLICIES)[number];

/** --attribution: kernel socket events and/or procfs (src/attribution/os/linux/kernel-attribution.ts). */
export const ATTRIBUTION_MODES = ['auto', 'ebpf', 'procfs'] as const;
export type AttributionMode = (typeof ATTRIBUTION_MODES)[number];

/** `service --init`: the init systems a service file is written for (src/service/). */
export const INIT_SYSTEMS = ['systemd', 'launchd'] as const;
export type InitSystem = (typeof INIT_SYSTEMS)[number];

/** `service --init`'s default: the platform's own, launchd on macOS, systemd elsewhere. */
export function defaultInit(platform: NodeJS.Platform = process.platform): InitSystem {
  return platform === 'darwin' ? 'launchd' : 'systemd';
}

/**
 * `--assume` (claims, verify): settings a capture cannot show, each the condition of a built-in
 * claim (src/knowledge/claims.ts types its conditions with these; test/settings.test.ts checks
 * that each is one).
 */
export const ASSUME_FLAGS = ['no-cloud', 'https-proxy'] as const;
export type AssumeFlag = (typeof ASSUME_FLAGS)[number];

/** `export --format` (src/export/). */
export const EXPORT_FORMATS = ['ecs', 'zeek', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const DEFAULTS = Object.freeze({
  /** The store when neither --db nor the environment names one (under $XDG_DATA_HOME). */
  dbFolder: 'ollama-audit',
  dbFile: 'audit.db',
  /** libpcap's pseudo-device: every interface, with Linux cooked headers. */
  interfaces: Object.freeze([ANY_DEVICE]) as readonly string[],
  evidence: 'head' as EvidencePolicy,
  /**
   * --max-flows: open flows the flow table keeps at most (src/flows/flow-table.ts). A flow of bare
   * SYNs held without a Flow object (count()) takes ~230 bytes, the table's arrays
   * (test/flows/open-flow-memory.test.ts): about 115 MB when the table is full of them; a one-way
   * UDP flow ~170 (no TCP loss row); a flow with a Flow object ~870 bytes.
   */
  maxFlows: 500_000,
  /** Kernel socket events (bpftrace) when they can be had, else procfs with a warning (issue #14). */
  attribution: 'auto' as AttributionMode,
  bpftrace: 'bpftrace',
  tracefsDir: '/sys/kernel/tracing',
  /**
   * How long bpftrace may take to compile and attach its probes (about 1 s on an idle machine; over
   * 2 s in half the flood-bench runs under load): the capture never waits for it, procfs answers
   * alone meanwhile. After noticeMs auto says so (the session's why_not too) and waits on; after
   * timeoutMs both auto (procfs, with a warning) and ebpf (the session stops) give up.
   */
  kernelAttach: Object.freeze({ noticeMs: 2000, timeoutMs: 15_000 }),
  /**
   * --capture-buffer: the kernel capture ring asked of libpcap, per interface, all of it mapped into
   * and counted in the daemon's RSS from open. With cap patched to level 2 (native/cap-patch) it is
   * TPACKET_V3: 256 KiB blocks holding packets back to back (~86 bytes of header each, rounded to 8),
   * so 64 MiB holds ~330,000 small packets (64-byte datagrams; ~8 s of a 20,000 flow/s SYN flood with
   * its RSTs), ~41,000 of 1514 bytes, and ~3,840 lo segments cut at 16296. Older builds (immediate
   * mode, TPACKET_V2: one frame a packet) held 16,384 (4 KiB frames on an interface) or 4,096 (16 KiB
   * on lo and `any`) of any size. 32 MiB of V3 would still hold more 1514-byte packets (20,864) than
   * 64 MiB of V2 (16,384) but half the cut lo segments (1,920 against 4,096) and ~4 s of that SYN
   * flood: under the flood bench it dropped 5.8 % in a 6 s stall where 64 MiB dropped nothing, so
   * the default stays 64 MiB (measured: native-notes/cap.md "The ring's blocks"; bench/RESULTS.md
   * "tenth session, branch ring3"). A backlog is read 1,024 packets per event-loop turn.
   */
  captureBufferBytes: 64 * 1024 * 1024,
  /**
   * libpcap's buffer timeout for the TPACKET_V3 ring (cap patched to level 2, native/cap-patch): the
   * kernel hands a 256 KiB block over when it is full or when its timer, ticking every this long,
   * finds packets in it, so a packet on a quiet link reaches the daemon up to this late (its timestamp is the kernel's, so
   * not late). It also bounds a stall at low rates: a block retired every timeout, the ring holds
   * blocks × timeout of traffic that fills no block (64 MiB: 256 blocks, 12.8 s). 50 ms: far below
   * the second the daemon writes and `watch` redraws by.
   */
  captureBufferTimeoutMs: 50,
  /** --capture-buffer bounds: at least 4 blocks of 256 KiB (V3; 16 frames of 64 KiB with an unpatched cap); at most 1 GiB (2 GiB of kernel memory with 64 KiB frames). */
  captureBufferRange: Object.freeze({ min: 1024 * 1024, max: 1024 * 1024 * 1024 }),
  /**
   * --snaplen: bytes kept of each packet (its headers first); the kernel cuts there (with the V3
   * ring by the socket filter cap then always sets), so a cut packet takes snaplen + ~86 bytes of a
   * ring block. With older builds (TPACKET_V2 in immediate mode) it also sized every frame: one frame
   * a packet, snaplen + 88 bytes of libpcap's header and reserve on `any`, + 68 on Ethernet, rounded
   * up to 16, in power-of-two-page blocks; cap 0.2.1 fixed 65535: 8 packets per MiB.
   * What the readers need of a packet: its headers (flows, bytes and loss come from the IP and TCP
   * length fields, never from what was captured); a DNS message (UDP: a cut one is counted, not
   * read); a TLS ClientHello (~1.8 KB with a post-quantum key share); an HTTP request head; and the
   * first MODEL_SCAN_LIMIT (8 KiB) bytes of an API request's body for its model. Only a segment
   * larger than an Ethernet MTU can be cut: on lo (MTU 65536) and with offloads (GRO/TSO) one
   * segment may hold a whole request. So, when --snaplen is not given:
   *  - `device` (any other interface): 4008, the largest whose frame fits one 4 KiB page on every
   *    link type: 256 packets per MiB;
   *  - `loopback` (`lo`, and `any`, which carries lo's traffic): 16296, the largest in a 16 KiB
   *    frame: one segment's request head (up to ~7.9 KB) and the 8 KiB of body the model scan reads,
   *    so a local API request's model is read as with 65535; 64 packets per MiB.
   * A model field beyond what was captured (a bigger head, or a remote request cut by an offload)
   * is stored as unknown (model_status `unread`), never as a wrong value. Measured:
   * native-notes/cap.md "The ring's frames".
   */
  snaplen: Object.freeze({ device: 4008, loopback: 16296 }),
  /** --snaplen bounds: the headers of any packet (link, IPv6 with options, TCP with options) up to cap's 65535. */
  snaplenRange: Object.freeze({ min: 256, max: 65535 }),
  /** Ollama's own default (OLLAMA_HOST 127.0.0.1:11434): always an API port; --api-port adds others. */
  apiPort: OLLAMA_API_PORT,
  /** verify --exercise: seconds captured after the command ends, for late connections it caused. */
  exerciseGraceS: 5,
  /** No size limit on evidence unless --max-evidence. */
  maxEvidenceBytes: undefined as number | undefined,
  /**
   * --retain: evidence segments and the store's closed flows (with their DNS/HTTP rows) older than
   * this are deleted (30 days; per-day rollups outlive them: src/store/retention.ts).
   */
  retainS: 30 * 86400,
  /** --max-db: no size bound on the store unless given; when given, at least this (the schema and a second's rows). */
  maxDbBytes: undefined as number | undefined,
  minMaxDbBytes: 1024 * 1024,
  /**
   * A live capture's stop() (SIGTERM, Ctrl-C, --duration, verify --exercise) ends within this many
   * ms under any load: flows that do not fit are counted as unwritten_at_stop, never waited for.
   * A signal waits at most one poll callback's 1,024 packets (cap patch) before stop() starts; after
   * it the process still closes the store and its threads and ends bpftrace, which took up to ~1 s
   * on a machine loaded 4-12 times its cores (bench/RESULTS.md, tenth session: SIGTERM → exit up to
   * 2.5 s with 1.5 s here). 1 s keeps the whole within 2 s there too.
   */
  stopDeadlineMs: 1000,
  /**
   * Open flows from which an import bounds V8's heap growth for the rest of the process
   * (src/pipeline/heap-growth.ts): a flood, not an ordinary file (the extra full collections would
   * cost its time).
   */
  boundHeapAtFlows: 100_000,
  /**
   * The same for the live engine: sooner, because a SYN flood's flows close 5 s after the kernel's
   * RST (~100,000 open at 20,000 a second) and V8 had let the heap grow by ~250 MB in the first 9 s,
   * before 100,000 were open (bench/RESULTS.md, tenth session). A daemon's ordinary traffic stays
   * far below it.
   */
  liveBoundHeapAtFlows: 10_000,
  /**
   * The live engine's close delay for rejected connection attempts (REJ: SYN answered by RST only)
   * once more than 10,000 flows are open: 1 s instead of 5 s (flow-table.ts FlowTableOptions.rejected).
   * A SYN flood to a closed port made ~100,000 of them at 20,000 a second, each a Flow of ~1 KB kept
   * only to absorb late packets a REJ flow does not get (a duplicate RST comes within a round trip;
   * a new SYN starts a new flow anyway); 1 s is far more than a round trip. Below the pressure mark
   * (a daemon's ordinary traffic) every finished flow keeps Zeek's 5 s. An import keeps 5 s always
   * (its rows as before).
   */
  liveRejected: Object.freeze({ closeDelayUs: 1e6, pressureAtFlows: 10_000 }),
  /**
   * Bounds on a claims file, so a hostile or mistaken file cannot hang or exhaust the auditor:
   * its size (a claims file is a few KB; /dev/zero is not one), YAML aliases (each can expand to
   * a copy of a large node: "billion laughs"), and the amount of matching work it can ask for
   * per flow (claims × patterns, and how deep `not` may nest).
   */
  claimsFile: Object.freeze({ bytes: 1024 * 1024, aliases: 20, claims: 200, listItems: 256, patterns: 2000, notDepth: 4 }),
  /** `--metrics PORT` without an address listens here: loopback, so nothing is exposed unless asked. */
  metricsHost: '127.0.0.1',
  /**
   * The installed service's store, per init system: systemd's inside the state folder it makes for
   * the service (StateDirectory=ollama-audit); macOS has no /var/lib, its system daemons keep state
   * in /Library/Application Support.
   */
  serviceDb: Object.freeze({ systemd: '/var/lib/ollama-audit/audit.db', launchd: '/Library/Application Support/ollama-audit/audit.db' }),
  /** `service --unit-dir`: where each init system reads system services from. */
  unitDir: Object.freeze({ systemd: '/etc/systemd/system', launchd: '/Library/LaunchDaemons' }),
  /**
   * `watch`: data_version checked every pollMs; a frame drawn for new data at most every frameMs
   * (2 a second: a terminal redraw costs more than the data); claims evaluated again at most every
   * claimsEveryMs and so that judging takes at most claimsMaxShare of the data thread's time
   * (judge-pacing.ts: they read the whole session); the non-TTY line every lineMs; the data thread's
   * young generation (V8) capped at dataThreadYoungMb: its reads make short-lived rows by the
   * thousand, and V8's default let that space grow to tens of MB of a dashboard that should stay
   * under 150 MB (bench/RESULTS.md: VmHWM at 50,000 flows 186 → ~158 MB, no CPU cost measured);
   * the UI thread's young generation kept at the size it has when the dashboard starts: V8's
   * semi-space growth factor set to uiYoungGrowth (V8's default 2; watch/ui-heap.ts).
   */
  watch: Object.freeze({ pollMs: 250, frameMs: 500, claimsEveryMs: 5000, claimsMaxShare: 0.1, lineMs: 1000, dataThreadYoungMb: 2, uiYoungGrowth: 1 }),
  /**
   * How often readers that run for long judge the claims again (src/claims/judge-pacing.ts): at
   * least minGapMs apart, and at most maxShare of their time. The daemon's --metrics judges on its
   * capture thread, so it gives judging the smallest share.
   */
  judgePace: Object.freeze({
    metrics: Object.freeze({ minGapMs: 5000, maxShare: 0.05 }),
    exportFollow: Object.freeze({ minGapMs: 10_000, maxShare: 0.05 }),
  }),
});

/** Environment variables the settings read; nothing else of the environment matters to them. */
export interface SettingsEnv {
  OLLAMA_AUDIT_DB?: string;
  /** The bpftrace to run for kernel socket events (default: `bpftrace` on PATH). */
  OLLAMA_AUDIT_BPFTRACE?: string;
  XDG_DATA_HOME?: string;
  HOME?: string;
}

/** The bpftrace program kernel socket events run (--attribution auto|ebpf). */
export function bpftraceProgram(env: SettingsEnv = process.env): string {
  return env.OLLAMA_AUDIT_BPFTRACE || DEFAULTS.bpftrace;
}

/** How --help describes the default store. */
export const DB_PATH_TEXT = `$OLLAMA_AUDIT_DB, else $XDG_DATA_HOME/${DEFAULTS.dbFolder}/${DEFAULTS.dbFile}`;

/** --db, else $OLLAMA_AUDIT_DB, else $XDG_DATA_HOME/ollama-audit/audit.db (XDG's default ~/.local/share). */
export function resolveDbPath(explicit?: string, env: SettingsEnv = process.env): string {
  if (explicit) return explicit;
  if (env.OLLAMA_AUDIT_DB) return env.OLLAMA_AUDIT_DB;
  // XDG: a relative $XDG_DATA_HOME is invalid and ignored.
  const dataHome = env.XDG_DATA_HOME?.startsWith('/') ? env.XDG_DATA_HOME : join(env.HOME?.startsWith('/') ? env.HOME : homedir(), '.local', 'share');
  return join(dataHome, DEFAULTS.dbFolder, DEFAULTS.dbFile);
}

/**
 * Where a store's evidence segments go by default: a folder beside the database, named after it
 * (`audit.db` -> `audit.evidence/`, `x.sqlite` -> `x.sqlite.evidence/`), so two stores in one
 * folder never share segment names or prune each other's files. Absolute, because the store
 * records each segment's path and is read from other working directories.
 */
export function evidenceDirFor(dbPath: string): string {
  const db = resolve(dbPath);
  return join(dirname(db), `${basename(db).replace(/\.db$/i, '')}.evidence`);
}

/** What `daemon` runs with, every default filled in (field names are its option names). */
export interface DaemonSettings {
  /** Absolute: a service runs from another working directory. */
  db: string;
  interface: string[];
  filter?: string;
  evidence: EvidencePolicy;
  /** Absolute, for the same reason as db. */
  evidenceDir: string;
  maxEvidence?: number;
  /** Seconds (--retain): evidence segments and the store's closed flows older than this are deleted. */
  retain: number;
  /** Bytes (--max-db): the oldest closed flows are deleted while the store is larger. */
  maxDb?: number;
  process: string[];
  pid: number[];
  /** DEFAULTS.apiPort first, then the ports --api-port added, each once. */
  apiPort: number[];
  keepCmdline: boolean;
  /** Open flows at most (--max-flows). */
  maxFlows: number;
  /** --attribution: auto, ebpf (kernel socket events through bpftrace, required) or procfs. */
  attribution: AttributionMode;
  /** Bytes (--capture-buffer): the kernel capture ring per interface. */
  captureBuffer: number;
  /** Bytes kept of each packet (--snaplen); also sizes the ring's frames. None: DEFAULTS.snaplen by device. */
  snaplen?: number;
  /** Seconds; none: until SIGINT/SIGTERM. */
  duration?: number;
  /** Where /metrics is served (--metrics); none: not served. */
  metrics?: MetricsAddress;
}

/** --metrics [ADDR:]PORT, parsed: an IP literal (never a name: no lookups) and a TCP port. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/** The daemon's options as commander parsed them (values already converted, lists possibly empty). */
export interface DaemonOptionValues {
  db?: string;
  /** Devices to capture on (default: any). */
  interface?: string[];
  filter?: string;
  evidence?: string;
  evidenceDir?: string;
  maxEvidence?: number;
  /** Seconds of evidence and of closed flows to keep. */
  retain?: number;
  /** Bytes the store may hold at most. */
  maxDb?: number;
  /** More process names / pids counted as the Ollama tree. */
  process?: string[];
  pid?: number[];
  apiPort?: number[];
  /**
   * Store processes' command lines verbatim (a privacy choice: arguments can hold prompts).
   * Otherwise they are stored redacted (src/attribution/cmdline-redact.ts).
   */
  keepCmdline?: boolean;
  /** Open flows at most (--max-flows); default DEFAULTS.maxFlows. */
  maxFlows?: number;
  attribution?: string;
  /** Bytes of kernel capture ring per interface (--capture-buffer); default DEFAULTS.captureBufferBytes. */
  captureBuffer?: number;
  /** Bytes kept of each packet (--snaplen); default DEFAULTS.snaplen (by device). */
  snaplen?: number;
  duration?: number;
  metrics?: MetricsAddress;
}

/** Parsed options + environment -> complete settings. Throws UserError on a value no option allows. */
export function settingsFromOptions(opts: DaemonOptionValues, env: SettingsEnv = process.env): DaemonSettings {
  const evidence = opts.evidence ?? DEFAULTS.evidence;
  if (!(EVIDENCE_POLICIES as readonly string[]).includes(evidence)) {
    throw new UserError(`--evidence ${evidence}: expected one of ${EVIDENCE_POLICIES.join(', ')}`);
  }
  const attribution = opts.attribution ?? DEFAULTS.attribution;
  if (!(ATTRIBUTION_MODES as readonly string[]).includes(attribution)) {
    throw new UserError(`--attribution ${attribution}: expected one of ${ATTRIBUTION_MODES.join(', ')}`);
  }
  const retain = opts.retain ?? DEFAULTS.retainS;
  if (!(retain > 0)) throw new UserError(`--retain ${retain}: expected a duration longer than 0, such as 30d`);
  if (opts.maxDb !== undefined && !(opts.maxDb >= DEFAULTS.minMaxDbBytes)) {
    throw new UserError(`--max-db ${opts.maxDb}: expected a size of at least ${sizeArg(DEFAULTS.minMaxDbBytes)}, such as 2GiB`);
  }
  const captureBuffer = opts.captureBuffer ?? DEFAULTS.captureBufferBytes;
  const ring = DEFAULTS.captureBufferRange;
  if (!(captureBuffer >= ring.min && captureBuffer <= ring.max)) {
    throw new UserError(`--capture-buffer ${opts.captureBuffer}: expected a size from ${sizeArg(ring.min)} to ${sizeArg(ring.max)}, such as 128MiB`);
  }
  const snaplen = opts.snaplen;
  const snap = DEFAULTS.snaplenRange;
  if (snaplen !== undefined && !(Number.isInteger(snaplen) && snaplen >= snap.min && snaplen <= snap.max)) {
    throw new UserError(`--snaplen ${snaplen}: expected a whole number of bytes from ${snap.min} to ${snap.max}, such as ${DEFAULTS.snaplen.device}`);
  }
  const db = resolve(resolveDbPath(opts.db, env));
  return {
    db,
    interface: opts.interface?.length ? [...opts.interface] : [...DEFAULTS.interfaces],
    filter: opts.filter || undefined,
    evidence: evidence as EvidencePolicy,
    evidenceDir: resolve(opts.evidenceDir ?? evidenceDirFor(db)),
    maxEvidence: opts.maxEvidence ?? DEFAULTS.maxEvidenceBytes,
    retain,
    maxDb: opts.maxDb ?? DEFAULTS.maxDbBytes,
    process: [...(opts.process ?? [])],
    pid: [...(opts.pid ?? [])],
    apiPort: [...new Set([DEFAULTS.apiPort, ...(opts.apiPort ?? [])])],
    keepCmdline: opts.keepCmdline === true,
    maxFlows: opts.maxFlows ?? DEFAULTS.maxFlows,
    attribution: attribution as AttributionMode,
    captureBuffer,
    snaplen,
    duration: opts.duration,
    metrics: opts.metrics,
  };
}

/** The installed service's settings: no environment of its own, so its store is DEFAULTS.serviceDb unless --db names one. */
export function serviceSettingsFromOptions(opts: DaemonOptionValues, init: InitSystem = 'systemd'): DaemonSettings {
  return settingsFromOptions(opts, { OLLAMA_AUDIT_DB: DEFAULTS.serviceDb[init] });
}

/**
 * The arguments of `ollama-audit daemon` that give exactly these settings in any environment:
 * the store is always named (a service has no $OLLAMA_AUDIT_DB), other options only when they
 * differ from their default. One array element per argument: no shell quoting needed or done.
 */
export function settingsToArgs(s: DaemonSettings): string[] {
  const args = ['--db', s.db];
  if (!sameList(s.interface, DEFAULTS.interfaces)) for (const i of s.interface) args.push('--interface', i);
  if (s.filter !== undefined) args.push('--filter', s.filter);
  if (s.evidence !== DEFAULTS.evidence) args.push('--evidence', s.evidence);
  if (s.evidenceDir !== evidenceDirFor(s.db)) args.push('--evidence-dir', s.evidenceDir);
  if (s.maxEvidence !== undefined) args.push('--max-evidence', sizeArg(s.maxEvidence));
  if (s.retain !== DEFAULTS.retainS) args.push('--retain', durationArg(s.retain));
  if (s.maxDb !== undefined) args.push('--max-db', sizeArg(s.maxDb));
  for (const p of s.process) args.push('--process', p);
  for (const p of s.pid) args.push('--pid', String(p));
  for (const p of s.apiPort) if (p !== DEFAULTS.apiPort) args.push('--api-port', String(p));
  if (s.keepCmdline) args.push('--keep-cmdline');
  if (s.maxFlows !== DEFAULTS.maxFlows) args.push('--max-flows', String(s.maxFlows));
  if (s.attribution !== DEFAULTS.attribution) args.push('--attribution', s.attribution);
  if (s.captureBuffer !== DEFAULTS.captureBufferBytes) args.push('--capture-buffer', sizeArg(s.captureBuffer));
  if (s.snaplen !== undefined) args.push('--snaplen', String(s.snaplen));
  if (s.duration !== undefined) args.push('--duration', durationArg(s.duration));
  if (s.metrics !== undefined) args.push('--metrics', metricsArg(s.metrics));
  return args;
}

/** host:port as --metrics reads it back; an IPv6 address in brackets ([::1]:9464). */
export function metricsArg(m: MetricsAddress): string {
  return m.host.includes(':') ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const SIZE_ARG_UNITS: readonly [string, number][] = [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]];
const DURATION_ARG_UNITS: readonly [string, number][] = [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60]];

/** Bytes as the largest binary unit that divides them (2GiB), else plain bytes: read back exactly by parseSize. */
function sizeArg(bytes: number): string {
  const unit = SIZE_ARG_UNITS.find(([, n]) => bytes > 0 && bytes % n === 0);
  return unit ? `${bytes / unit[1]}${unit[0]}` : String(bytes);
}

/** Seconds as the largest unit that divides them (7d), else seconds: read back exactly by parseDuration. */
function durationArg(seconds: number): string {
  const unit = DURATION_ARG_UNITS.find(([, n]) => seconds > 0 && seconds % n === 0);
  return unit ? `${seconds / unit[1]}${unit[0]}` : `${seconds}s`;
}
