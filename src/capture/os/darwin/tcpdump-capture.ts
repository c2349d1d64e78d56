/**
 * Live capture on macOS: Apple's tcpdump over pktap, read as a pcapng stream (pcapng-stream.ts).
 *
 *   tcpdump -i pktap,all -k -U -s 0 -w - [BPF]
 *
 * `-i pktap,all` captures every interface, lo0 included (where the API and runner traffic is), and
 * tags each packet with its socket's process (Apple's Process Information Blocks, pcapng-darwin.ts);
 * `-k` asks for that metadata, `-U` writes each packet as it comes, `-s 0` whole packets, `-w -` to
 * stdout. The tcpdump found on PATH runs (Apple's is /usr/sbin/tcpdump; capturing needs root or
 * the access_bpf group). Packets carry tcpdump's kernel timestamps, not arrival times.
 *
 * Kernel drops: tcpdump says them on stderr when it exits ("N packets captured", "N packets
 * received by filter", "N packets dropped by kernel"); an Interface Statistics Block's isb_ifdrop
 * in the stream counts while running, when tcpdump writes one. Until either, they are unknown (null).
 * stop() sends SIGINT (tcpdump's clean exit: it flushes, prints its statistics) and resolves once
 * tcpdump has exited and the last bytes are read; a tcpdump that does not exit within
 * STOP_TIMEOUT_MS is killed and its counters stay unknown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { InterfaceInfo, Packet } from '../../packet.js';
import { createPcapngStream, type PcapngStream } from '../../pcapng-stream.js';
import { CaptureFileError } from '../../read-result.js';
import { ANY_DEVICE } from '../../link-types.js';
import { DARWIN_BPF_HINT, LiveCaptureError } from '../../live-error.js';
import type { LiveCapture, LiveCaptureEvents, LiveCaptureOptions, LiveStats } from '../../live-capture.js';
import { isStatsLine, parseTcpdumpStats, type TcpdumpStats } from './tcpdump-stats.js';

const STOP_TIMEOUT_MS = 5000;
/** stderr kept for an error message: the last lines, bounded. */
const STDERR_KEEP = 4096;

/** The arguments tcpdump runs with (devices: ours; `any` is pktap's `all`). */
export function tcpdumpArgs(opts: LiveCaptureOptions): string[] {
  const devices = opts.interfaces?.length ? opts.interfaces : [ANY_DEVICE];
  const pktap = `pktap,${devices.map((d) => (d === ANY_DEVICE ? 'all' : d)).join(',')}`;
  const filter = opts.filter?.trim() ?? '';
  return ['-i', pktap, '-k', '-U', '-s', '0', '-w', '-', ...(filter === '' ? [] : [filter])];
}

export function openTcpdumpCapture(opts: LiveCaptureOptions = {}): LiveCapture {
  const args = tcpdumpArgs(opts);
  const device = args[1];
  const interfaces: InterfaceInfo[] = [];
  let sink: ((p: Packet) => void) | null = null;
  let events: LiveCaptureEvents = {};
  let delivered = 0;
  let beforeStart = 0;
  let ended = false;
  let stderrTail = '';
  let exitStats: TcpdumpStats | null = null;
  let stopping: Promise<void> | null = null;

  const stream: PcapngStream = createPcapngStream("tcpdump's output", (p) => {
    if (sink === null) {
      beforeStart++;
      return;
    }
    delivered++;
    sink(p);
  }, (info) => interfaces.push(info));

  const child: ChildProcess = spawn('tcpdump', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.stdout!.on('data', (chunk: Buffer) => {
    try {
      stream.push(chunk);
    } catch (e) {
      if (!(e instanceof CaptureFileError)) throw e; // a failure downstream is not tcpdump's
      fail(new LiveCaptureError(`${(e as Error).message}: is the tcpdump on PATH Apple's (/usr/sbin/tcpdump, which writes pcapng with process blocks)?`));
      child.kill('SIGKILL');
      return;
    }
    // A block that cannot be read after the first: the stream reads nothing more, so the session
    // would go on blind (no packets, no drops counted). It ends now, saying where and why.
    if (stream.stopped) {
      fail(new LiveCaptureError(`tcpdump's output cannot be read past byte ${stream.result.bytesRead} (${stream.result.warnings.at(-1) ?? 'a corrupt block'}): the capture stopped there`));
      child.kill('SIGKILL');
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_KEEP);
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    ended = true;
    fail(new LiveCaptureError(err.code === 'ENOENT'
      ? 'tcpdump not found on PATH: macOS has it at /usr/sbin/tcpdump (add /usr/sbin to PATH)'
      : `cannot run tcpdump: ${err.message}`));
  });
  child.on('close', (code, signal) => {
    ended = true;
    exitStats = parseTcpdumpStats(stderrTail);
    finishStream();
    if (stopping === null) fail(new LiveCaptureError(exitReason(code, signal, stderrTail)));
  });

  function fail(err: LiveCaptureError): void {
    const onFailed = events.onFailed;
    events.onFailed = undefined; // once
    onFailed?.(err);
  }

  function finishStream(): void {
    const before = stream.result.warnings.length;
    const r = stream.end();
    for (const w of r.warnings.slice(before)) events.onWarning?.(`tcpdump's output: ${w}`);
    if (exitStats?.captured != null && exitStats.captured > r.packets) {
      events.onWarning?.(`tcpdump captured ${exitStats.captured} packets, ${r.packets} reached the audit`);
    }
  }

  function stats(): LiveStats {
    const drops = exitStats?.droppedByKernel ?? stream.result.drops;
    const total = {
      delivered, beforeStart, kernelPackets: exitStats?.receivedByFilter ?? null, kernelDrops: drops, ifDrops: null,
    };
    const note = drops === null ? (ended ? 'tcpdump gave no drop count' : 'tcpdump reports its drop count when it exits') : null;
    return { interfaces: [{ name: device, ...total, note }], total, clockDriftUs: 0 };
  }

  return {
    interfaces,
    source: device,
    start(onPacket, on = {}) {
      sink = onPacket;
      events = on;
    },
    stats,
    stop() {
      stopping ??= ended ? Promise.resolve() : stopChild(child, exited);
      return stopping;
    },
  };
}

/** SIGINT, then SIGKILL if tcpdump has not exited in time; resolves once it has. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** One line on why tcpdump ended on its own: its last stderr line says it best ("You don't have permission..."). */
function exitReason(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const last = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !isStatsLine(l)).at(-1);
  const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
  const hint = /permission|not permitted|\/dev\/bpf/i.test(last ?? '') ? `; ${DARWIN_BPF_HINT}` : '';
  return `tcpdump ${how}${last ? `: ${last}` : ''}${hint}`;
}
