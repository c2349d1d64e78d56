/**
 * Process attribution from the per-packet comments ptcpdump writes into pcapng.
 *
 * The format, as read in github.com/mozillazg/ptcpdump (internal/writer/pcapng.go writes it,
 * internal/types/context.go FromPacketComments reads it back): each packet's EPB carries one
 * opt_comment per group, every group being `Key: value` lines separated by "\n":
 *
 *   PID: 1234\nCmd: /usr/bin/curl\nArgs: curl -m 10 1.1.1.1
 *   ThreadId: 1235\nThreadName: curl                          (optional)
 *   UserId: 1000\nGroupId: 1000                               (optional)
 *   ParentPID: 1000\nParentCmd: /usr/bin/bash\nParentArgs: bash (optional)
 *   ContainerName: ..\nContainerId: ..\nContainerImage: ..\nContainerLabels: ..
 *   PodName: ..\nPodNamespace: ..\nPodUID: ..\nPodLabels: ..\nPodAnnotations: ..
 *
 * `Cmd` is the executable path (older releases and ptcpdump's own reader also accept `Command`);
 * `Args` is argv joined with single spaces, so arguments containing spaces cannot be told apart;
 * a `Cmd` or `Args` value ending in "..." was truncated by the eBPF side.
 * Several comments of one packet may reach us joined by "\n": the parser is line-based for that.
 *
 * Command lines hold users' words (`ollama run MODEL "prompt"`, `curl -d '{"prompt":...}'`): `Args`
 * and `ParentArgs` are redacted here, and so is a `Cmd` that holds more than a path
 * (src/attribution/cmdline-redact.ts), so no prompt reaches the store or the evidence comments.
 */
import { DIR_IN, type Flow } from '../flows/flow.js';
import { bothEndsLocal } from '../flows/local-path.js';
import { redactArgv, redactCmdField } from './cmdline-redact.js';

export interface CommentProcess {
  pid: number;
  /** Basename of `Cmd` (or of argv[0] when `Cmd` is missing); '' when neither is given. */
  name: string;
  /** `Cmd` as written: the executable path. */
  exe: string | null;
  exeTruncated: boolean;
  /** `Args` split on spaces (lossy, see above). */
  cmdline: string[] | null;
  cmdlineTruncated: boolean;
  tid: number | null;
  threadName: string | null;
  uid: number | null;
  gid: number | null;
  parentPid: number | null;
  parentExe: string | null;
  parentCmdline: string[] | null;
  containerName: string | null;
  containerId: string | null;
  containerImage: string | null;
  podName: string | null;
  podNamespace: string | null;
}

const TRUNCATED = '...';

/** The process a ptcpdump comment names, or null for any other comment text. */
export function parsePacketComment(comment: string): CommentProcess | null {
  const fields = readFields(comment);
  const pid = positiveInt(fields.get('PID'));
  if (pid === null) return null;

  const exe = truncatable(fields.get('Cmd') ?? fields.get('Command'));
  const exePath = exe.value === null ? null : redactCmdField(exe.value);
  const args = truncatable(fields.get('Args'));
  const cmdline = args.value === null ? null : redactArgv(splitArgs(args.value), exePath);
  const parentArgs = truncatable(fields.get('ParentArgs')).value;
  const parentExe = truncatable(fields.get('ParentCmd') ?? fields.get('ParentCommand')).value;

  return {
    pid,
    name: basename(firstWord(exePath ?? cmdline?.[0] ?? '')),
    exe: exePath,
    exeTruncated: exe.truncated,
    cmdline,
    cmdlineTruncated: args.truncated,
    tid: positiveInt(fields.get('ThreadId') ?? fields.get('TID')),
    threadName: text(fields.get('ThreadName')),
    uid: nonNegativeInt(fields.get('UserId')),
    gid: nonNegativeInt(fields.get('GroupId')),
    parentPid: positiveInt(fields.get('ParentPID')),
    parentExe: parentExe === null ? null : redactCmdField(parentExe),
    parentCmdline: parentArgs === null ? null : redactArgv(splitArgs(parentArgs), parentExe),
    containerName: text(fields.get('ContainerName')),
    containerId: text(fields.get('ContainerId')),
    containerImage: text(fields.get('ContainerImage')),
    podName: text(fields.get('PodName')),
    podNamespace: text(fields.get('PodNamespace')),
  };
}

/**
 * Sets `flow.process` (or `flow.peerProcess`) from a packet comment when it has none yet: the
 * first comment that names a process wins, later ones (and other comment text) change nothing.
 *
 * ptcpdump names the local socket's process: on a path through this host only (loopback, or a
 * local server reached through one of the host's addresses: source and destination equal) that
 * is the packet's sender, so a packet from the responder names the server, which goes to
 * peerProcess; a packet from a remote peer names its local receiver, the flow's process.
 */
export function attributeFromComment(flow: Flow, dir: number, comment: string): void {
  const peer = dir === DIR_IN && bothEndsLocal(flow);
  if ((peer ? flow.peerProcess : flow.process) !== null) return;
  const p = parsePacketComment(comment);
  if (p === null) return;
  const named = { pid: p.pid, name: p.name, exe: p.exe };
  if (peer) flow.peerProcess = named;
  else flow.process = named;
}

/** `Key: value` lines; the first occurrence of a key wins (the process group comes first). */
function readFields(comment: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of comment.split(/\r?\n/)) {
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    const key = raw.slice(0, colon).trim();
    if (!/^[A-Za-z]+$/.test(key) || fields.has(key)) continue;
    fields.set(key, raw.slice(colon + 1).trim());
  }
  return fields;
}

function positiveInt(v: string | undefined): number | null {
  const n = nonNegativeInt(v);
  return n === null || n === 0 ? null : n;
}

function nonNegativeInt(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,10}$/.test(v)) return null;
  const n = Number(v);
  return n <= 0xffffffff ? n : null;
}

function text(v: string | undefined): string | null {
  return v === undefined || v === '' ? null : v;
}

function truncatable(v: string | undefined): { value: string | null; truncated: boolean } {
  if (v === undefined || v === '') return { value: null, truncated: false };
  if (!v.endsWith(TRUNCATED)) return { value: v, truncated: false };
  const cut = v.slice(0, -TRUNCATED.length);
  return { value: cut === '' ? null : cut, truncated: true };
}

function splitArgs(v: string): string[] {
  return v.split(' ').filter((a) => a !== '');
}

/** A `Cmd` that held a command line names its program by its first word. */
function firstWord(v: string): string {
  const cut = v.indexOf(' ');
  return cut < 0 ? v : v.slice(0, cut);
}

function basename(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? path : path.slice(cut + 1);
}
