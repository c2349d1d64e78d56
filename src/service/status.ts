/**
 * `service status`: what the init system says (running?, pid, since) and what the store says
 * (size, last write, the daemon's newest session: packets, kernel drops, loss, windows the store
 * could not write, claims violated or inconclusive). Unhealthy when the service is not running,
 * the store recorded a gap, or nothing was written lately (the daemon commits every second, so a
 * silent store while running means it cannot write: a disk still full, a stuck process).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import { openDb } from '../store/open-db.js';
import { claimSession } from '../store/read/claim-rows.js';
import { latestLiveSession } from '../store/read/sessions.js';
import type { StoreGap } from '../store/live-session.js';
import { claimsReport } from '../claims/evaluate.js';
import { gapText } from '../live/engine.js';
import { formatBytes, formatDuration, formatPercent } from '../text/format-values.js';
import { isoMicros } from '../store/format-time.js';
import type { InitSystem } from '../settings.js';
import { argValue, installedArgs, serviceFilePath, serviceName } from './service-files.js';
import { runTool, type Target } from './install.js';

/** Longer than this without a commit while running: the store is not being written. */
const STALE_WRITE_S = 10;

export interface ServiceState {
  running: boolean;
  /** e.g. "active (running)", "failed", "inactive (dead)". */
  state: string;
  pid: number | null;
  since: string | null;
}

export interface StatusReport {
  lines: string[];
  problems: string[];
}

export function serviceStatus(target: Target, nowMs = Date.now()): StatusReport {
  const path = serviceFilePath(target.init, target.unitDir);
  if (!existsSync(path)) throw new UserError(`no service installed at ${path}: \`sudo ollama-audit service install\` installs it`);
  const state = initState(target.init);
  const lines = [`${serviceName(target.init)}: ${state.state}${state.pid ? `, pid ${state.pid}` : ''}${state.since ? `, since ${state.since}` : ''}`];
  const problems = state.running ? [] : [`the service is not running (${state.state})`];
  const db = argValue(installedArgs(target.init, readFileSync(path, 'utf8')), '--db');
  if (db === undefined) return { lines, problems: [...problems, `${path} names no store (--db)`] };
  const store = storeStatus(db, state.running, nowMs);
  return { lines: [...lines, ...store.lines], problems: [...problems, ...store.problems] };
}

/** systemctl show / launchctl print, read into running, pid and since. */
function initState(init: InitSystem): ServiceState {
  if (init === 'launchd') {
    let text: string;
    try {
      text = runTool('launchctl', ['print', `system/${serviceName(init)}`]);
    } catch {
      // launchctl print fails for a service launchd does not have loaded: installed but not running.
      return { running: false, state: 'not loaded', pid: null, since: null };
    }
    const state = /^\s*state = (.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
    const pid = Number(/^\s*pid = (\d+)$/m.exec(text)?.[1]);
    return { running: state === 'running', state, pid: pid > 0 ? pid : null, since: null };
  }
  const props = Object.fromEntries(runTool('systemctl', ['show', serviceName(init), '--property=ActiveState,SubState,MainPID,ActiveEnterTimestamp'])
    .split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const pid = Number(props.MainPID);
  return {
    running: props.ActiveState === 'active' && props.SubState === 'running',
    state: `${props.ActiveState ?? 'unknown'} (${props.SubState ?? 'unknown'})`,
    pid: pid > 0 ? pid : null,
    since: props.ActiveEnterTimestamp || null,
  };
}

function storeStatus(db: string, running: boolean, nowMs: number): StatusReport {
  if (!existsSync(db)) {
    return { lines: [`store: ${db} (not created yet)`], problems: running ? [`the store ${db} does not exist although the service runs`] : [] };
  }
  const size = [db, `${db}-wal`].filter((p) => existsSync(p)).reduce((n, p) => n + statSync(p).size, 0);
  const handle = openDb(db, { readonly: true });
  try {
    const latest = latestLiveSession(handle);
    const lines = [`store: ${db}, ${formatBytes(size)}, ${lastWriteText(latest?.writtenAt ?? null, nowMs)}`];
    const problems = staleProblem(latest?.writtenAt ?? null, running, nowMs);
    if (latest === null) return { lines: [...lines, 'session: none yet'], problems };
    const s = claimSession(handle, latest.id)!;
    const loss = s.loss_estimate === null ? 'unknown' : formatPercent(s.loss_estimate);
    lines.push(`session ${s.id}: started ${isoMicros(s.started_at ?? 0)}${s.ended_at ? `, ended ${isoMicros(s.ended_at)}` : ''}; ${s.packets} packets, kernel drops ${s.drops ?? 'unknown'}, estimated loss ${loss}`);
    const gaps = JSON.parse(s.gaps ?? '[]') as StoreGap[];
    lines.push(gaps.length === 0 ? 'store gaps: none' : `store gaps: ${gaps.length}`);
    for (const g of gaps) problems.push(`${gapText(g)} (claims over this session cannot hold)`);
    lines.push(findingsLine(claimsReport(handle, { sessions: [s.id] }).claims));
    return { lines, problems };
  } finally {
    handle.close();
  }
}

function lastWriteText(writtenAtUs: number | null, nowMs: number): string {
  if (writtenAtUs === null) return 'no write by a daemon yet';
  return `last write ${isoMicros(writtenAtUs)} (${formatDuration(Math.max(0, nowMs / 1000 - writtenAtUs / 1e6))} ago)`;
}

/** The daemon commits every second: running without a commit for a while means it cannot write. */
function staleProblem(writtenAtUs: number | null, running: boolean, nowMs: number): string[] {
  if (!running || writtenAtUs === null) return [];
  const ageS = nowMs / 1000 - writtenAtUs / 1e6;
  return ageS > STALE_WRITE_S ? [`nothing written to the store for ${formatDuration(ageS)} while the service runs (a full disk? see the service's log)`] : [];
}

function findingsLine(claims: { id: string; verdict: string }[]): string {
  const of = (v: string) => claims.filter((c) => c.verdict === v).map((c) => c.id);
  const violated = of('violated');
  const inconclusive = of('inconclusive');
  return `findings: ${violated.length} claims violated${violated.length ? ` (${violated.join(', ')})` : ''}, ${inconclusive.length} inconclusive${inconclusive.length ? ` (${inconclusive.join(', ')})` : ''}`;
}
