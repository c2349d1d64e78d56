import { existsSync } from 'node:fs';
import { auditExposure, type ExposureReport } from '../exposure/audit.js';
import { openDb, type Db } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { fullyVisible } from '../exposure/listeners.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE } from '../errors.js';
import { requireSessions } from './session-check.js';
import { visible } from '../text/visible.js';

export interface ExposureOptions {
  db?: string;
  json?: boolean;
  session?: number[];
  /** Read what listens now (Linux: procfs; macOS: lsof, launchd); default: on Linux and macOS. */
  live?: boolean;
  /** Extra API ports (a non-default OLLAMA_HOST of a server not running now). */
  apiPort?: number[];
}

/**
 * Exposure audit. Exit 1: a finding of severity medium or high; 2: it cannot tell (procfs hid
 * what listens, or nothing was looked at), with the reason on stderr; 0: clean.
 */
export function runExposure(opts: ExposureOptions, out: NodeJS.WritableStream = process.stdout): number {
  const live = opts.live ?? (process.platform === 'linux' || process.platform === 'darwin');
  const path = resolveDbPath(opts.db);
  // Without a store the live half still answers; with --db or --session the user asked for it, so a missing one is an error.
  const db: Db | null = opts.db || opts.session?.length || existsSync(path) ? openDb(path, { readonly: true }) : null;
  try {
    if (db) requireSessions(db, opts.session, opts.db);
    const report = auditExposure(db, { live, sessions: opts.session?.length ? opts.session : undefined, apiPorts: opts.apiPort });
    out.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatExposure(report));
    return exposureExit(report, db === null ? path : null);
  } finally {
    db?.close();
  }
}

/** The exit code of a report; an exit 2 writes its reason to stderr. `missingDb`: the store path when there was none. */
function exposureExit(r: ExposureReport, missingDb: string | null): number {
  if (r.findings.some((f) => f.severity !== 'info')) return EXIT_FINDING;
  const hidden = r.findings.find((f) => f.code === 'not-visible');
  const why = hidden ? hidden.message
    : !r.live && missingDb !== null ? `nothing was examined: what listens was not read (--no-live, or neither Linux nor macOS) and there is no store at ${missingDb}; drop --no-live, or pass --db PATH`
      : null;
  if (why === null) return EXIT_OK;
  process.stderr.write(`ollama-audit: cannot tell: ${visible(why)}\n`);
  return EXIT_USAGE;
}

/** Lines carry process names, environment values, addresses and messages from outside: each is shown with visible(). */
function section(title: string, lines: string[]): string {
  return `${title}\n${lines.length > 0 ? lines.map((l) => `  ${visible(l)}`).join('\n') : '  (none)'}\n`;
}

export function formatExposure(r: ExposureReport): string {
  const parts: string[] = [];
  if (r.live) {
    const v = r.visibility;
    const hidden = v === null || fullyVisible(v) ? [] : [
      ...v.unowned.map((l) => `${l.ip_version === 6 ? `[${l.address}]` : l.address}:${l.port}  ${l.scope}  API port  owner not visible (uid ${l.uid})`),
      ...(v.unreadable.length + (v.hidepid === null ? 0 : 1) > 0 ? ['(procfs hides sockets or processes from this user: see the not-visible finding)'] : []),
    ];
    parts.push(section('Listening (Ollama tree, now):', [...r.listeners.map((l) =>
      `${l.ip_version === 6 ? `[${l.address}]` : l.address}:${l.port}  ${l.scope}${l.api ? '  API' : ''}  ${l.comm} pid ${l.pid}${l.host_netns ? '' : ' (other netns)'}`), ...hidden]));
    parts.push(section('Environment:', r.processes.filter((p) => p.role === 'server').map((p) => (p.env.readable
      ? `pid ${p.pid}: OLLAMA_HOST=${p.env.ollama_host ?? '(unset)'} -> ${p.ollama_host.host || '*'}:${p.ollama_host.port} (${p.ollama_host.scope}); OLLAMA_ORIGINS=${p.env.ollama_origins ?? '(unset)'}`
      : `pid ${p.pid}: environment unreadable (${p.env.unreadable_reason})`))));
  }
  parts.push(section(`API clients (ports ${r.api_ports.join(', ')}):`, r.clients.map((g) =>
    `${g.class}: ${g.flows} flow(s) from ${g.clients} address(es), ${g.first_seen} .. ${g.last_seen}, ${g.bytes_out} B from the clients / ${g.bytes_in} B to them; ${g.addresses.slice(0, 5).map((a) => `${a.address} (${a.flows})`).join(', ')}`)));
  parts.push(section('Reverse proxies:', r.proxies.map((p) =>
    `${p.name ?? 'unknown'} ${p.front.join(', ')} [${p.detected_by.join(', ')}] ${p.api_requests} request(s); behind it: ${p.clients.map((g) => `${g.class} ${g.clients}`).join(', ') || 'none seen'}`)));
  parts.push(section('Findings:', r.findings.map((f) => `[${f.severity}] ${f.code}: ${f.message}`)));
  if (r.notes.length > 0) parts.push(section('Notes:', r.notes));
  return parts.join('\n');
}
