/**
 * The live half of the exposure audit on macOS, which has no procfs: what the Ollama tree listens
 * on from `lsof -nP -iTCP -sTCP:LISTEN -F pcn` (src/attribution/os/darwin/lsof-fields.ts), and the OLLAMA_HOST /
 * OLLAMA_ORIGINS launchd starts Ollama with: Homebrew's service plist
 * (~/Library/LaunchAgents/homebrew.mxcl.ollama.plist, EnvironmentVariables; plist-env.ts) when it
 * sets them, else `launchctl getenv` (what Ollama.app, started by launchd, gets; the app's "Expose
 * Ollama to the network" setting is OLLAMA_HOST=0.0.0.0). A server started from a shell has its own
 * environment, which macOS does not show: the report says where the values came from.
 *
 * Processes are the Ollama tree by lsof's command name (pktapProcessRole: server, app, runner).
 * lsof run by a non-root user lists only that user's processes: an empty answer then cannot mean
 * "nothing listens" (a `not-visible` finding says so).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pktapProcessRole } from '../../../knowledge/processes.js';
import { parseAddr } from '../../../decode/addr-parse.js';
import type { Finding } from '../../findings.js';
import type { LiveListeners, Listener, TreeProcess } from '../../listeners.js';
import type { OllamaEnv } from '../../environ.js';
import { parseOllamaHost } from '../../ollama-host.js';
import { judgeHostSetting, judgeListenAddr } from '../../scope.js';
import { parseLsofFields, type LsofSocket } from '../../../attribution/os/darwin/lsof-fields.js';
import { parseLaunchctlGetenv } from './launchctl-env.js';
import { PlistError, plistEnvironment } from './plist-env.js';

/** What the audit reads on a Mac; tests put stand-in programs first on PATH and a HOME of their own. */
export interface DarwinInputs {
  /** A program's stdout, or null when it could not run. */
  run(cmd: string, args: string[]): string | null;
  read(path: string): string | null;
  home: string;
  root: boolean;
}

export const HOMEBREW_PLIST = 'Library/LaunchAgents/homebrew.mxcl.ollama.plist';

export function systemInputs(): DarwinInputs {
  return {
    run(cmd, args) {
      try {
        return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
      } catch (e) {
        // lsof exits 1 when nothing matched, with nothing on stdout: an answer, not a failure.
        const err = e as { status?: number; stdout?: string };
        return err.status === 1 && typeof err.stdout === 'string' ? err.stdout : null;
      }
    },
    read(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return null;
      }
    },
    home: homedir(),
    root: process.getuid?.() === 0,
  };
}

export interface DarwinListeners {
  live: LiveListeners;
  findings: Finding[];
  notes: string[];
}

export function listDarwinListeners(inputs: DarwinInputs, apiPorts: readonly number[] = []): DarwinListeners {
  const notes: string[] = [];
  const findings: Finding[] = [];
  const env = launchdEnv(inputs, notes);
  const text = inputs.run('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN', '-F', 'pcn']);
  const sockets = text === null ? [] : parseLsofFields(text).filter((s) => s.local !== null);
  if (text === null) {
    findings.push({ severity: 'info', code: 'not-visible', message: 'lsof could not run: what listens is unknown (macOS has it at /usr/sbin/lsof)' });
  }
  const processes = treeProcesses(sockets, env);
  const ports = new Set(apiPorts);
  const listeners = sockets.flatMap((s) => {
    const p = processes.find((t) => t.pid === s.pid);
    return p === undefined ? [] : [toListener(s, p, ports)];
  });
  // Not root: lsof lists this user's sockets only, and says nothing of what it left out (procfs on
  // Linux at least shows that others exist), so listeners of root's or another user's Ollama (an
  // exposed one) may be missing whether or not this user's own were found.
  if (!inputs.root && text !== null) {
    const own = listeners.length === 0 ? 'no Ollama listener of this user' : `this user's Ollama listeners are listed`;
    findings.push({
      severity: 'info', code: 'not-visible',
      message: `lsof shows a non-root user only their own processes: ${own}, and those of other users (or root) cannot be seen; run with sudo`,
    });
  }
  return { live: { processes, listeners, visibility: { unreadable: [], unowned: [], hidepid: null } }, findings, notes };
}

/** OLLAMA_HOST and OLLAMA_ORIGINS as launchd hands them out, with a note saying from where. */
function launchdEnv(inputs: DarwinInputs, notes: string[]): OllamaEnv {
  const plistPath = join(inputs.home, HOMEBREW_PLIST);
  const plistText = inputs.read(plistPath);
  let plist = new Map<string, string>();
  if (plistText !== null) {
    try {
      plist = plistEnvironment(plistText);
    } catch (e) {
      if (!(e instanceof PlistError)) throw e;
      notes.push(`${plistPath}: ${e.message}`);
    }
  }
  if (plist.has('OLLAMA_HOST') || plist.has('OLLAMA_ORIGINS')) {
    notes.push(`OLLAMA_HOST/OLLAMA_ORIGINS from ${plistPath} (brew services); a server started otherwise has its own environment`);
    return { readable: true, unreadable_reason: null, ollama_host: plist.get('OLLAMA_HOST') ?? null, ollama_origins: plist.get('OLLAMA_ORIGINS') ?? null };
  }
  const host = inputs.run('launchctl', ['getenv', 'OLLAMA_HOST']);
  const origins = inputs.run('launchctl', ['getenv', 'OLLAMA_ORIGINS']);
  if (host === null || origins === null) {
    return { readable: false, unreadable_reason: 'launchctl could not run and macOS does not show a process\'s environment', ollama_host: null, ollama_origins: null };
  }
  notes.push('OLLAMA_HOST/OLLAMA_ORIGINS from launchctl getenv (what Ollama.app gets); a server started from a shell has its own environment');
  return { readable: true, unreadable_reason: null, ollama_host: parseLaunchctlGetenv(host), ollama_origins: parseLaunchctlGetenv(origins) };
}

function treeProcesses(sockets: readonly LsofSocket[], env: OllamaEnv): TreeProcess[] {
  const out = new Map<number, TreeProcess>();
  for (const s of sockets) {
    const role = pktapProcessRole(s.command, null);
    if (role === null || out.has(s.pid)) continue;
    const host = parseOllamaHost(env.ollama_host);
    // lsof -F pcn gives no parent, path or command line: unknown, not guessed.
    out.set(s.pid, {
      pid: s.pid, ppid: 0, comm: s.command, exe: null, cmdline: [], role, env: { ...env },
      ollama_host: { ...host, scope: judgeHostSetting(host.host) }, netns: null, host_netns: true,
    });
  }
  return [...out.values()].sort((a, b) => a.pid - b.pid);
}

/**
 * lsof prints a wildcard address as `*` for IPv4 and IPv6 alike (-F pcn does not say which):
 * kept as `*`, every interface either way.
 */
function toListener(s: LsofSocket, p: TreeProcess, apiPorts: ReadonlySet<number>): Listener {
  const address = s.local!.address;
  const port = s.local!.port ?? 0;
  const ip = address === '*' ? null : parseAddr(address.replace(/%.*$/, ''));
  return {
    pid: p.pid, comm: p.comm, role: p.role, address, port, ip_version: address.includes(':') ? 6 : 4,
    // Text lsof -n printed that is no address: its reach is unknown, so judged the widest.
    scope: address === '*' ? 'all-interfaces' : ip === null ? 'public' : judgeListenAddr(ip),
    api: apiPorts.has(port) || (p.role === 'server' && port === p.ollama_host.port),
    netns: null, host_netns: true,
  };
}
