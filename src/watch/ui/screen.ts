/**
 * One screen of the dashboard from a frame and the user's choices: a pure component (goldens
 * render it with renderToString), exactly `layout.height` lines (rows−1), each cut to the width.
 * With NO_COLOR no color or reverse video is used: the selected row is marked with `>` anyway.
 */
import { createElement as h, memo, type ReactElement } from 'react';
import { formatBytes, formatDuration } from '../../text/format-values.js';
import type { Frame } from '../data/frame.js';
import { KEY_HELP, VIEWS, type ViewName } from '../state/keys.js';
import type { UiState } from '../state/ui-state.js';
// ink's screen output without its per-cell pass for the screen's plain lines (see the file).
import { ONE_CELL_CHAR } from './ink-output.js';
import { ink } from './load-ink.js';
import { apiLine, claimLine, fit, flowHeader, flowLine, groupHeader, groupLine, layoutOf, MIN_COLUMNS, MIN_ROWS, type Layout } from './layout.js';

// ink through load-ink.ts: without es-toolkit's barrel (one copy of each component and hook either way).
const { Box, Text, Transform } = ink;

export interface ScreenProps {
  frame: Frame | null;
  ui: UiState;
  columns: number;
  rows: number;
  noColor: boolean;
  /** The answer of the last `e` or `r`, shown in the footer. */
  notice: string | null;
}

const VIEW_TITLES: Record<ViewName, string> = { flows: 'Flows', hosts: 'Hosts', activities: 'Activities', claims: 'Claims', coverage: 'Coverage', api: 'API clients' };
const SHORT_TITLES: Record<ViewName, string> = { flows: 'Flows', hosts: 'Hosts', activities: 'Acts', claims: 'Claims', coverage: 'Cov', api: 'API' };
const VERDICT_COLOR: Record<string, string> = { violated: 'red', holds: 'green', inconclusive: 'yellow', 'not exercised': 'gray' };

type Line = { text: string; color?: string; inverse?: boolean; bold?: boolean };

export function Screen(p: ScreenProps): ReactElement {
  const layout = layoutOf(p.columns, p.rows, p.frame?.claims.length ?? 1);
  if (!layout) {
    return h(Text, null, fit(`terminal too small: ${p.columns}×${p.rows}; watch needs at least ${MIN_COLUMNS}×${MIN_ROWS} (q quits)`, Math.max(1, p.columns - 1)));
  }
  const lines = p.frame ? screenLines(p.frame, p.ui, layout, p.notice) : waiting(layout);
  return h(Box, { flexDirection: 'column', height: layout.height }, ...lines.map((l, i) => h(ScreenLine, {
    key: i, width: layout.columns, text: l.text,
    ...(p.noColor ? {} : { color: l.color, inverse: l.inverse, bold: l.bold }),
  })));
}

const ONE_CELL = new RegExp(`^${ONE_CELL_CHAR}*$`);
const blanks = new Map<number, string>();

function blankOf(width: number): string {
  let b = blanks.get(width);
  if (b === undefined) blanks.set(width, (b = ' '.repeat(width)));
  return b;
}

/**
 * One line, re-drawn only when its text or style changed (memo). A line of one-cell characters
 * (nearly all) is given to ink as a blank of the line's width that a Transform replaces with the
 * text as it is written: ink measures and lays out the unchanged blank, not the text. That is the
 * cheaper path (ink measures a text's width character by character, and a line with any non-ASCII
 * character, as most here have: │ · ↓, goes through Intl.Segmenter), and ink 6.8 keeps every text
 * it ever measured in a cache it never empties: the dashboard's lines change each second (clock,
 * ages, rates), so measuring them grew the heap for as long as it ran. Any other line (a name with
 * wide characters) is measured and cut by ink as before. `width` is the terminal's (ink would wrap
 * a wider blank, and the Transform would then find no blank to replace).
 */
const ScreenLine = memo(function ScreenLine(p: { text: string; width: number; color?: string; inverse?: boolean; bold?: boolean }): ReactElement {
  const style = { color: p.color, inverse: p.inverse, bold: p.bold };
  // Padded to the width only where the padding shows (reverse video); ink drops trailing blanks.
  const text = p.inverse ? fit(p.text, p.width) : cut(p.text, p.width);
  if (!ONE_CELL.test(text)) return h(Text, { wrap: 'truncate', ...style }, fit(p.text, p.width));
  const blank = blankOf(p.width);
  return h(Transform, { transform: (styled: string) => styled.replace(blank, () => text) }, h(Text, style, blank));
});

/** Cut to `w` columns with "…" (not padded). */
function cut(text: string, w: number): string {
  return text.length > w ? `${text.slice(0, w - 1)}…` : text;
}

function waiting(layout: Layout): Line[] {
  return [{ text: 'ollama-audit watch: reading the store…' }, ...Array<Line>(layout.height - 1).fill({ text: '' })];
}

function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

function headerLines(f: Frame, ui: UiState): Line[] {
  const badge = ui.paused ? 'PAUSED' : f.header.live ? 'LIVE' : 'ENDED';
  const write = f.header.lastWriteAgoS === null ? '' : ` · last write ${formatDuration(f.header.lastWriteAgoS)} ago`;
  const session = f.header.session === null ? 'no session in the store yet' : `session ${f.header.session}`;
  const b = f.banner;
  const banner = b.kind === 'silent'
    ? `SILENT for ${formatDuration(b.forS)}${b.ever ? ' (no off-host traffic of the Ollama tree since)' : ' (no off-host traffic of the Ollama tree seen)'}`
    : `TRAFFIC: ${b.flows} flow(s) to ${b.topHost}${b.flows > 1 ? ' and others' : ''}, ${formatBytes(b.bytes)} in the last minute`;
  return [
    { text: `[${badge}] ${clock(f.nowMs)} │ ${session} │ ${f.header.source}${write}`, bold: true, inverse: ui.paused },
    // Silence is green only when it was watched: else yellow, saying what stands in the way.
    b.kind === 'silent' && f.doubt !== null
      ? { text: `${banner}, unverified: ${f.doubt}`, color: 'yellow', bold: true }
      : { text: banner, color: b.kind === 'silent' ? 'green' : 'red', bold: true },
  ];
}

function claimsStrip(f: Frame, n: number): Line[] {
  if (f.claims.length === 0) return [{ text: f.judging ? 'claims: judging…' : 'claims: not evaluated yet' }];
  const shown = f.claims.length > n ? f.claims.slice(0, n - 1) : f.claims;
  const lines: Line[] = shown.map((c) => ({ text: `${c.changed ? '* ' : '  '}${fit(c.verdict.toUpperCase(), 13)} ${fit(c.id, 36)} ${c.reason}  [${c.coverage}]`, color: VERDICT_COLOR[c.verdict], bold: c.changed }));
  if (shown.length < f.claims.length) lines.push({ text: `  +${f.claims.length - shown.length} more claims: 4 shows them all` });
  return lines;
}

function coverageStrip(f: Frame): Line {
  const c = f.coverage;
  if (!c) return { text: 'coverage: not evaluated yet' };
  const drops = c.drops === null ? 'unknown' : String(c.drops);
  const loss = c.lossPercent === null ? 'unknown' : `${Number(c.lossPercent.toFixed(2))}%`;
  return {
    text: `coverage: ${c.packets} packets · kernel drops ${drops} · est. loss ${loss} · unattributed ${c.unattributedFlows} flows ${formatBytes(c.unattributedBytes)} · expired early ${c.expiredEarly}${c.problems.length ? ` · ${c.problems.length} problem(s): ${c.problems[0]}` : ''}`,
    color: c.problems.length ? 'yellow' : undefined,
  };
}

function tabsLine(ui: UiState, f: Frame, columns: number): Line {
  const titles = columns >= 120 ? VIEW_TITLES : SHORT_TITLES;
  const tabs = VIEWS.map((v, i) => (v === ui.view ? `[${i + 1} ${titles[v]}]` : ` ${i + 1} ${titles[v]} `)).join('');
  const state = [
    `${f.total} rows`, ui.filter ? `filter ${ui.filter}` : '', `sort ${ui.sort}${ui.reverse ? ' ↑' : ' ↓'}`, ui.frozen ? 'order frozen' : '',
    ui.all ? 'all flows' : 'Ollama flows', ui.closed ? '+closed' : '',
  ].filter(Boolean).join(' · ');
  return { text: `${tabs}  ${state}`, bold: true };
}

function tableLines(f: Frame, ui: UiState, layout: Layout): Line[] {
  const w = layout.columns;
  const sel = (i: number) => f.offset + i === ui.cursor;
  const row = (text: string, i: number): Line => ({ text, inverse: sel(i) });
  if (ui.help) return [{ text: 'Keys (any key closes this list)', bold: true }, ...KEY_HELP.map(([k, what]) => ({ text: `  ${fit(k, 16)} ${what}` }))];
  if (f.detail) return [{ text: 'Detail (Esc back · e evidence pcapng · r report)', bold: true }, ...f.detail.map((text) => ({ text: `  ${text}` }))];
  switch (f.list.kind) {
    case 'flows':
      return [{ text: flowHeader(w, ui.totals), bold: true }, ...f.list.rows.map((r, i) => row(flowLine(r, w, { totals: ui.totals, addresses: ui.addresses, selected: sel(i) }), i))];
    case 'groups':
      return [{ text: groupHeader(f.list.by), bold: true }, ...f.list.rows.map((g, i) => row(groupLine(g, w, sel(i)), i))];
    case 'claims':
      return [{ text: '  VERDICT       CLAIM                              EVIDENCE FLOWS         REASON [COVERAGE]', bold: true },
        ...f.list.rows.map((c, i) => ({ ...row(claimLine(c, w, sel(i), true), i), color: VERDICT_COLOR[c.verdict] }))];
    case 'api':
      return [{ text: '  CLASS    CLIENT                       REQUEST                    MODEL                    CAUSED', bold: true },
        ...(f.list.rows.length ? f.list.rows.map((a, i) => row(apiLine(a, w, sel(i)), i)) : [{ text: '  no request on the API port in this session' }])];
    case 'coverage':
      return [{ text: '  COVERAGE', bold: true }, ...f.list.rows.map((text) => ({ text: `  ${text}` }))];
  }
}

function footer(ui: UiState, notice: string | null): Line {
  if (ui.editing !== null) return { text: `/${ui.editing}█  (host: proc: act: port:, ! negates; Enter applies, Esc cancels)`, inverse: true };
  if (notice) return { text: notice, color: 'cyan' };
  return { text: 'q quit  ↑↓ jk move  Enter detail  Tab/1-6 view  / filter  s/S sort  Space pause  o freeze  t totals  n addresses  a all  h closed  ? keys', color: 'gray' };
}

function screenLines(f: Frame, ui: UiState, layout: Layout, notice: string | null): Line[] {
  const table = tableLines(f, ui, layout).slice(0, layout.tableRows + 1);
  while (table.length < layout.tableRows + 1) table.push({ text: '' });
  return [...headerLines(f, ui), ...claimsStrip(f, layout.claimLines), coverageStrip(f), tabsLine(ui, f, layout.columns), ...table, footer(ui, notice)];
}
