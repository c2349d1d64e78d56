/**
 * Screen geometry and row text, pure: how many lines each part gets at a terminal size, and each
 * table row as one string cut to the width (one <Text> per line: cheap to draw, and a line can
 * never wrap and push the frame past rows−1).
 */
import { formatBytes, formatDuration } from '../../text/format-values.js';
import type { ApiLine, ClaimLine } from '../data/frame.js';
import type { WatchFlow } from '../state/flow-state.js';
import type { GroupRow } from '../state/groups.js';

/** Below this the dashboard says the terminal is too small instead of drawing. */
export const MIN_COLUMNS = 80;
export const MIN_ROWS = 24;
/** Table rows kept before the claims strip gets a line more. */
const MIN_TABLE_ROWS = 8;
/** Lines besides the claims strip and the table: header, banner, coverage, tabs, table header, footer. */
const FIXED_LINES = 6;

export interface Layout {
  columns: number;
  /** Drawn height: rows−1 (a frame as tall as the terminal makes ink clear the screen each frame). */
  height: number;
  claimLines: number;
  tableRows: number;
}

export function layoutOf(columns: number, rows: number, claims: number): Layout | null {
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) return null;
  const height = rows - 1;
  const room = height - FIXED_LINES - MIN_TABLE_ROWS;
  const claimLines = Math.max(1, Math.min(claims, room));
  return { columns, height, claimLines, tableRows: height - FIXED_LINES - claimLines };
}

/** Cut to `w` columns with "…", or padded to it. */
export function fit(text: string, w: number): string {
  if (w <= 0) return '';
  return text.length > w ? `${text.slice(0, w - 1)}…` : text.padEnd(w);
}

function fitLeft(text: string, w: number): string {
  return text.length > w ? `${text.slice(0, w - 1)}…` : text.padStart(w);
}

export function rateText(bytesPerS: number): string {
  return bytesPerS === 0 ? '0' : `${formatBytes(bytesPerS)}/s`;
}

interface Col { title: string; w: number; right?: boolean }

/** The Flows table's columns at a width: rate and total side by side from 120 columns, else one of them (`t`). */
function flowColumns(width: number, totals: boolean): Col[] {
  const wide = width >= 120;
  const fixed: Col[] = [
    { title: 'PID', w: 7, right: true }, { title: 'PROCESS', w: wide ? 11 : 9 }, { title: 'REMOTE', w: 0 },
    ...(wide ? [{ title: 'SRC', w: 5 }] : []), { title: 'ACTIVITY', w: wide ? 15 : 12 },
    ...(wide
      ? [{ title: '↓ RATE', w: 10, right: true }, { title: '↓ TOTAL', w: 8, right: true }, { title: '↑ RATE', w: 10, right: true }, { title: '↑ TOTAL', w: 8, right: true }]
      : totals ? [{ title: '↓ TOTAL', w: 9, right: true }, { title: '↑ TOTAL', w: 9, right: true }] : [{ title: '↓ RATE', w: 10, right: true }, { title: '↑ RATE', w: 10, right: true }]),
    { title: 'AGE', w: 7, right: true },
  ];
  const used = 2 + fixed.reduce((n, c) => n + c.w + 1, 0);
  return fixed.map((c) => (c.title === 'REMOTE' ? { ...c, w: Math.max(12, width - used) } : c));
}

function line(cols: Col[], cells: string[], mark: string): string {
  return `${mark} ${cols.map((c, i) => (c.right ? fitLeft(cells[i], c.w) : fit(cells[i], c.w))).join(' ')}`;
}

export function flowHeader(width: number, totals: boolean): string {
  const cols = flowColumns(width, totals);
  return line(cols, cols.map((c) => c.title), ' ');
}

export function flowLine(f: WatchFlow & { ageS: number }, width: number, o: { totals: boolean; addresses: boolean; selected: boolean }): string {
  const cols = flowColumns(width, o.totals);
  const cells: Record<string, string> = {
    PID: f.pid === null ? '-' : String(f.pid), PROCESS: f.proc ?? '-', REMOTE: o.addresses ? f.address : f.remote,
    SRC: f.nameSource === 'connect' ? 'conn' : f.nameSource ?? '-', ACTIVITY: f.activity, '↓ RATE': rateText(f.rateIn), '↓ TOTAL': formatBytes(f.bytesIn),
    '↑ RATE': rateText(f.rateOut), '↑ TOTAL': formatBytes(f.bytesOut), AGE: formatDuration(f.ageS),
  };
  return line(cols, cols.map((c) => cells[c.title]), o.selected ? '>' : ' ');
}

export function groupHeader(by: 'host' | 'activity'): string {
  return `  ${fit(by === 'host' ? 'HOST' : 'ACTIVITY', 34)} ${fitLeft('FLOWS', 6)} ${fitLeft('OLLAMA', 6)} ${fitLeft('↓ RATE', 11)} ${fitLeft('↑ RATE', 11)} ${fitLeft('↓ TOTAL', 9)} ${fitLeft('↑ TOTAL', 9)}  ${by === 'host' ? 'ACTIVITIES' : 'HOSTS'}`;
}

export function groupLine(g: GroupRow, width: number, selected: boolean): string {
  const text = `${selected ? '>' : ' '} ${fit(g.key, 34)} ${fitLeft(String(g.flows), 6)} ${fitLeft(String(g.ollama), 6)} ${fitLeft(rateText(g.rateIn), 11)} ${fitLeft(rateText(g.rateOut), 11)} ${fitLeft(formatBytes(g.bytesIn), 9)} ${fitLeft(formatBytes(g.bytesOut), 9)}  ${g.other.join(', ')}`;
  return fit(text, width);
}

export function claimLine(c: ClaimLine, width: number, selected: boolean, withEvidence: boolean): string {
  // Evidence flow numbers first (Enter on them in Flows shows each), then why.
  const ids = c.evidence.map((e) => e.split(' ')[0]);
  const ev = withEvidence ? `${fit(ids.length ? `${ids.slice(0, 4).join(' ')}${ids.length > 4 ? ` +${ids.length - 4}` : ''}` : '-', 22)} ` : '';
  return fit(`${selected ? '>' : ' '} ${fit(c.verdict.toUpperCase(), 13)} ${fit(c.id, 34)} ${ev}${c.reason}  [${c.coverage}]`, width);
}

export function apiLine(a: ApiLine, width: number, selected: boolean): string {
  const caused = a.caused.length ? `caused ${a.caused.join('; ')}` : 'caused no flow';
  return fit(`${selected ? '>' : ' '} ${fit(a.cls, 8)} ${fit(a.client, 28)} ${fit(a.request, 26)} ${fit(a.model ?? '—', 24)} ${caused}`, width);
}
