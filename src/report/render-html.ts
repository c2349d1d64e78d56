/**
 * report.html: one self-contained file. Inline CSS, inline SVG, no script, no external asset
 * (a Content-Security-Policy forbids loading any, as a second guard). Every value from the
 * store or the caller goes through escapeHtml. Links only point inside the page (#flow-12).
 */
import { escapeHtml as esc } from './escape.js';
import { interfaceText } from '../capture/link-types.js';
import { connText, endpoint, formatBytes, formatDuration, formatPercent, formatTime } from '../text/format-values.js';
import { coverageView } from './coverage-view.js';
import { exposureView } from './exposure-view.js';
import { modelCell, pickFlows, verdictTone } from './flow-rows.js';
import type { ReportClaim, ReportData, ReportFlow } from './report-types.js';
import type { TextTable } from './text-table.js';
import { timelineSvg } from './timeline-svg.js';
import { INVALID_TIME } from '../store/format-time.js';

export interface HtmlExtras {
  /** SHA-256 of evidence.pcapng, shown so a reader can check the file that travels with the page. */
  evidenceSha256: string | null;
}

export function renderHtml(r: ReportData, extras: HtmlExtras): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`ollama-audit report: ${r.host}, ${formatTime(r.time_range.start)}`)}</title>`,
    `<style>${CSS}</style></head><body>`,
    header(r),
    summary(r, extras),
    claimsSection(r),
    coverageSection(r),
    section('timeline-section', 'Timeline', `${timelineSvg(r.timeline)}\n<p class="note">${esc(r.timeline.note)}.</p>`),
    flowsSection(r),
    processesSection(r),
    dnsSection(r),
    httpSection(r),
    exposureSection(r),
    sessionsSection(r),
    warningsSection(r),
    '</body></html>',
    '',
  ].join('\n');
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>\n${body}\n</section>`;
}

/** Tables wider than this many columns become one card per row in a narrow window (see the CSS). */
const STACK_OVER_COLUMNS = 6;

/**
 * `nowrap` names the columns that hold short values (numbers, times) and must not wrap mid-value.
 * Each cell carries its column's name (`data-label`), shown beside the value when a narrow
 * window stacks the row.
 */
function table(id: string, caption: string, head: string[], rows: string[][], rowAttrs?: (i: number) => string, nowrap: number[] = []): string {
  if (rows.length === 0) return `<p class="empty">${esc(caption)}: none.</p>`;
  const td = (c: string, j: number) => `<td${nowrap.includes(j) ? ' class="nowrap"' : ''} data-label="${esc(head[j] ?? '')}">${c}</td>`;
  const body = rows.map((cells, i) => `<tr${rowAttrs ? rowAttrs(i) : ''}>${cells.map(td).join('')}</tr>`);
  const stack = head.length > STACK_OVER_COLUMNS ? ' class="stack"' : '';
  return `<table id="${id}"${stack}><caption>${esc(caption)}</caption>\n<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>\n` +
    `<tbody>\n${body.join('\n')}\n</tbody></table>`;
}

/** A view table (plain text cells), every cell escaped. */
function textTable(t: TextTable): string {
  return table(t.id, t.caption, t.head, t.rows.map((row) => row.map((c) => esc(c))));
}

function coverageSection(r: ReportData): string {
  if (r.coverage === null) return section('coverage', 'Coverage', '<p class="empty">No coverage given (claims not evaluated).</p>');
  const v = coverageView(r.coverage, r.sessions);
  return section('coverage', 'Coverage', [
    `<p>${esc(v.lead)}</p>`,
    v.table ? textTable(v.table) : '',
    v.problems.length ? `<ul class="problems">${v.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '',
    v.thresholds ? `<p class="note">${esc(v.thresholds)}</p>` : '',
  ].filter((x) => x !== '').join('\n'));
}

const SEVERITY_TONE: Record<string, string> = { high: 'bad', medium: 'warn', info: 'neutral' };

function exposureSection(r: ReportData): string {
  if (r.exposure === null) return section('exposure', 'Exposure', '<p class="empty">Exposure audit not run.</p>');
  const v = exposureView(r.exposure);
  const findings = v.findings.length === 0 ? '' : `<ul class="findings">${v.findings.map((f) =>
    `<li><span class="badge ${SEVERITY_TONE[f.severity] ?? 'neutral'}">${esc(f.severity)}</span> <code>${esc(f.code)}</code>: ${esc(f.message)}</li>`).join('')}</ul>`;
  return section('exposure', 'Exposure', [
    `<p>${esc(v.lead)}</p>`, findings, ...v.tables.map(textTable),
    v.notes.length ? `<ul class="notes">${v.notes.map((n) => `<li class="note">${esc(n)}</li>`).join('')}</ul>` : '',
  ].filter((x) => x !== '').join('\n'));
}

function header(r: ReportData): string {
  const rows: [string, string][] = [
    ['Host', r.host],
    ['Time range', `${formatTime(r.time_range.start)} to ${formatTime(r.time_range.end)}`],
    ['Sessions', r.sessions.map((s) => `#${s.id} ${s.kind}`).join(', ') || 'none'],
    ['Generated', formatTime(r.generated_at)],
    ['Tool', `${r.tool.name} ${r.tool.version}`],
  ];
  return `<header><h1>ollama-audit report</h1>\n<dl class="meta">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl></header>`;
}

function summary(r: ReportData, extras: HtmlExtras): string {
  const lines: string[] = [];
  if (r.claims === null) lines.push('<li>Claims not evaluated.</li>');
  else {
    const by = new Map<string, number>();
    for (const c of r.claims) by.set(c.verdict, (by.get(c.verdict) ?? 0) + 1);
    const parts = [...by].map(([v, n]) => `<span class="verdict ${verdictTone(v)}">${esc(v)}</span> ${n}`);
    lines.push(`<li>${r.claims.length} claim(s)${parts.length ? `: ${parts.join(', ')}` : ''}.</li>`);
  }
  const t = r.flow_totals;
  lines.push(`<li>${t.flows} flow(s), ${t.ollama} involving Ollama, ${t.findings} cited as evidence.</li>`);
  const e = r.evidence;
  lines.push(e.file === null
    ? '<li>No evidence file.</li>'
    : `<li>Evidence: <code>${esc(e.file)}</code>, ${e.packets} packet(s)${e.complete ? '' : ', <strong>incomplete</strong>'}; ` +
      `SHA-256 <code class="hash">${esc(extras.evidenceSha256 ?? '')}</code>.</li>`);
  lines.push(`<li class="note">${esc(e.policy)} The report never holds API request or response bodies.</li>`);
  return section('summary', 'Summary', `<ul>${lines.join('\n')}</ul>${e.warnings.length ? warningList(e.warnings) : ''}`);
}

function warningList(lines: readonly string[]): string {
  return `<ul class="warnings">${lines.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`;
}

function flowLink(id: number): string {
  return `<a href="#flow-${id}">#${id}</a>`;
}

function claimsSection(r: ReportData): string {
  if (r.claims === null) return section('claims-section', 'Claims', '<p class="empty" id="claims-not-evaluated">Claims not evaluated.</p>');
  const rows = r.claims.map((c) => [
    `<strong>${esc(c.title)}</strong><br><span class="id">${esc(c.id)}</span>`,
    `<span class="verdict ${verdictTone(c.verdict)}">${esc(c.verdict)}</span>`,
    esc(c.reason),
    claimEvidence(c),
    `<span class="source">${esc(c.source)}</span>`,
  ]);
  return section('claims-section', 'Claims', table('claims', 'Claims and verdicts', ['Claim', 'Verdict', 'Reason', 'Evidence', 'Source'], rows));
}

function claimEvidence(c: ReportClaim): string {
  const e = c.evidence;
  const parts = [`${e.count} flow(s)${e.first_seen ? `, first ${esc(formatTime(e.first_seen))}` : ''}`];
  if (e.flow_ids.length) parts.push(e.flow_ids.map(flowLink).join(' '));
  for (const ch of e.chains ?? []) parts.push(`${ch.label ? `${esc(ch.label)}: ` : ''}${ch.flow_ids.map(flowLink).join(' → ')}`);
  return parts.join('<br>');
}

function flowsSection(r: ReportData): string {
  const { shown, hidden } = pickFlows(r.flows, r.flow_totals.flows);
  const rows = shown.map((f) => flowCells(f, sameDay(r.time_range.start, r.time_range.end)));
  const note = hidden > 0 ? `<p class="note">${hidden} more flow(s) in report.json (${r.flow_totals.flows} in all, ${esc(formatBytes(r.flow_totals.bytes_out))} / ${esc(formatBytes(r.flow_totals.bytes_in))}); listed here: findings, Ollama flows, then the most bytes.</p>` : '';
  return section('flows-section', 'Flows', table('flows', 'Flows (findings highlighted)',
    ['#', 'First seen (UTC)', 'Duration', 'Proto', 'From', 'To', 'State (history)', 'Name', 'Activity', 'Process', 'Packets', 'Bytes out/in'],
    rows, (i) => ` id="flow-${shown[i].id}"${shown[i].finding ? ' class="finding"' : ''}`, [0, 1, 2, 3, 6, 9, 10, 11]) + note);
}

function sameDay(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.slice(0, 10) === b.slice(0, 10);
}

/** A flow's start: the clock only when the whole report is one UTC day (the header has the date). */
function flowStart(iso: string | null, clockOnly: boolean): string {
  if (iso === null) return INVALID_TIME; // a stored time that cannot be shown (store/format-time.ts)
  return clockOnly ? `<span title="${esc(formatTime(iso))}">${esc(iso.slice(11, -1))}</span>` : esc(formatTime(iso));
}

function flowCells(f: ReportFlow, clockOnly: boolean): string[] {
  const name = f.hostname === null ? '—' : `<span class="long">${esc(f.hostname)}</span>${f.hostname_source ? ` <span class="src">(${esc(f.hostname_source)})</span>` : ''}`;
  const http = f.http_method ? `<br><span class="src">${esc(`${f.http_method} ${f.http_path ?? ''}`)}${f.http_status !== null ? ` → ${f.http_status}` : ''}</span>` : '';
  return [
    `${f.id}${f.finding ? `<br><span class="tag" title="${esc(`cited by ${f.claims.join(', ')}`)}">finding</span>` : ''}`,
    flowStart(f.first_seen, clockOnly),
    f.duration_s === null ? INVALID_TIME : esc(formatDuration(f.duration_s)),
    esc(f.proto),
    `<span class="ep">${esc(endpoint(f.initiator_addr, f.initiator_port, f.proto))}</span>`,
    `<span class="ep">${esc(endpoint(f.responder_addr, f.responder_port, f.proto))}</span>`,
    `<span title="Zeek conn_state and history">${esc(connText(f))}</span>`,
    name + http,
    `${esc(f.activity)}<br><span class="src">${esc(f.activity_reason)}</span>`,
    f.process === null ? '—' : esc(`${f.process.name} (${f.process.pid})`),
    `${f.packets_out + f.packets_in}`,
    `${esc(formatBytes(f.bytes_out))} / ${esc(formatBytes(f.bytes_in))}`,
  ];
}

function processesSection(r: ReportData): string {
  const rows = r.processes.map((p) => [
    esc(p.pid), esc(p.name), p.exe === null ? '—' : `<code>${esc(p.exe)}</code>`, esc(p.role ?? '—'), p.ollama ? 'yes' : 'no',
    esc(p.flows), `${esc(formatBytes(p.bytes_out))} / ${esc(formatBytes(p.bytes_in))}`,
    p.exe_sha256 === null ? '—' : `<code class="hash">${esc(p.exe_sha256)}</code>`, esc(p.source),
  ]);
  return section('processes-section', 'Processes', table('processes', 'Processes seen owning flows',
    ['PID', 'Name', 'Executable', 'Role', 'Ollama', 'Flows', 'Bytes out/in', 'Executable SHA-256', 'Known from'], rows));
}

function dnsSection(r: ReportData): string {
  const rows = r.dns.map((d) => [esc(d.query), esc(d.qtype), esc(d.count), esc(d.rcodes.join(', ')), esc(d.answers.join(', ') || '—'), esc(formatTime(d.first_seen))]);
  return section('dns-section', 'DNS names', table('dns', 'DNS lookups by name', ['Name', 'Type', 'Lookups', 'Result', 'Answers', 'First'], rows));
}

function httpSection(r: ReportData): string {
  const rows = r.http.map((h) => [
    esc(formatTime(h.ts)), esc(h.method), esc(h.host ?? '—'), esc(h.path ?? '—'), esc(modelCell(h)), esc(h.status ?? '—'), h.flow_id === null ? '—' : flowLink(h.flow_id),
  ]);
  const more = r.http_total > r.http.length
    ? `<p class="note">${r.http_total - r.http.length} more request(s) in report.json (${r.http_total} in all; listed: the earliest).</p>` : '';
  return section('http-section', 'HTTP requests', table('http', 'Plaintext HTTP requests (start line, Host, status and the model a request to the API named only)',
    ['Time', 'Method', 'Host', 'Path', 'Model', 'Status', 'Flow'], rows) + more);
}

function sessionsSection(r: ReportData): string {
  const rows = r.sessions.map((s) => [
    esc(s.id), esc(s.kind), `<code>${esc(s.source)}</code>`,
    esc(s.interfaces.map(interfaceText).join('; ') || '—'),
    `${esc(formatTime(s.started_at))}<br>${esc(formatTime(s.ended_at))}`,
    esc(s.packets), esc(s.drops ?? 'unknown'), esc(s.loss_estimate === null ? 'unknown' : formatPercent(s.loss_estimate)),
    esc([...s.warnings, ...Object.entries(s.skipped).map(([k, n]) => `skipped ${n} ${k}`)].join('; ') || '—'),
  ]);
  return section('sessions-section', 'Capture sessions', table('sessions', 'Sessions: window, interfaces, drops and loss',
    ['#', 'Kind', 'Source', 'Interfaces', 'From / to', 'Packets', 'Kernel drops', 'Loss estimate', 'Notes'], rows));
}

function warningsSection(r: ReportData): string {
  return r.warnings.length === 0 ? '' : section('warnings', 'Warnings', warningList(r.warnings));
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 24px auto; max-width: 1280px; padding: 0 16px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #2471a3; padding-bottom: 2px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 6px 0; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
td.nowrap { white-space: nowrap; }
/* Claim titles break between words only (OLLAMA_NO_CLOUD=1 stays whole); the reason column gives way. */
#claims td:first-child { overflow-wrap: break-word; min-width: 9em; }
.long, .ep { display: inline-block; overflow-wrap: anywhere; }
.long { min-width: 10em; }
.ep { min-width: 9.5em; }
thead th { background: #eef2f5; overflow-wrap: normal; }
tbody tr:nth-child(even) { background: #fafafa; }
tr.finding, tr.finding:nth-child(even) { background: #fff4d6; }
.verdict, .badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-weight: 600; border: 1px solid #999; white-space: nowrap; }
.verdict.good, .badge.good { background: #d5f5e3; border-color: #27ae60; }
.verdict.bad, .badge.bad { background: #fadbd8; border-color: #c0392b; }
.badge.warn { background: #fdebd0; border-color: #ca6f1e; }
.verdict.neutral, .badge.neutral { background: #eaecee; }
.problems li { color: #8a1c1c; }
.tag { font-size: 11px; background: #f0b429; color: #000; padding: 0 4px; border-radius: 3px; white-space: nowrap; }
.src, .id, .source, .note { color: #555; font-size: 12px; }
.empty { color: #666; font-style: italic; }
.warnings li { color: #8a1c1c; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
code.hash { overflow-wrap: anywhere; }
svg.timeline { width: 100%; height: auto; font-family: inherit; }
a { color: #1a5276; }
/* A narrow window (a laptop split in two, 800 px): a table of many columns cannot fit without
   breaking numbers and names mid-value or scrolling sideways, so each row becomes a card with
   the column names beside the values. */
@media (max-width: 1160px) {
  body { margin: 12px auto; padding: 0 8px; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; }
  table.stack thead { display: none; }
  table.stack tr { border: 1px solid #ccc; margin: 0 0 6px; padding: 2px 0; }
  table.stack caption { display: block; }
  table.stack td { border: none; padding: 1px 6px 1px 12em; position: relative; min-height: 1.45em; }
  table.stack td::before { content: attr(data-label); position: absolute; left: 6px; width: 11em; font-weight: 600; color: #444; }
  .ep, .long { min-width: 0; }
}
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  thead { display: table-header-group; }
  tr, svg { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  @page { size: A4 landscape; margin: 12mm; }
}
`;
