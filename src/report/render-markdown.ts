/**
 * report.md: the same report as plain Markdown (claims, coverage, flows, processes, DNS, HTTP,
 * exposure, sessions), for a ticket or a pull request. Values are escaped cell by cell, and names
 * from outside (hosts, URIs, DNS names, processes, files) are code spans a renderer links nothing in; the
 * timeline is summed per activity (the picture is in report.html).
 */
import { escapeMarkdown as md, markdownCode as code } from './escape.js';
import { interfaceText } from '../capture/link-types.js';
import { connText, endpoint, formatBytes, formatDuration, formatPercent, formatTime } from '../text/format-values.js';
import { coverageView } from './coverage-view.js';
import { exposureView } from './exposure-view.js';
import { modelCell, pickFlows } from './flow-rows.js';
import type { ReportClaim, ReportData } from './report-types.js';
import type { TextTable } from './text-table.js';
import { INVALID_TIME, isoMillis } from '../store/format-time.js';

export function renderMarkdown(r: ReportData, evidenceSha256: string | null): string {
  return [
    '# ollama-audit report',
    '',
    `- Host: ${md(r.host)}`,
    `- Time range: ${md(formatTime(r.time_range.start))} to ${md(formatTime(r.time_range.end))}`,
    `- Sessions: ${r.sessions.map((s) => `#${s.id} ${md(s.kind)}`).join(', ') || 'none'}`,
    `- Generated: ${md(formatTime(r.generated_at))} by ${md(`${r.tool.name} ${r.tool.version}`)}`,
    '',
    ...evidence(r, evidenceSha256),
    ...claims(r),
    ...coverage(r),
    ...timeline(r),
    ...flows(r),
    ...processes(r),
    ...dns(r),
    ...http(r),
    ...exposure(r),
    ...sessions(r),
    ...(r.warnings.length ? ['## Warnings', '', ...r.warnings.map((w) => `- ${md(w)}`), ''] : []),
  ].join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ['None.', ''];
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((c) => `| ${c.join(' | ')} |`), ''];
}

/** A view table with every cell escaped; its caption as a bold line above it. */
function textTable(t: TextTable): string[] {
  if (t.rows.length === 0) return [`${md(t.caption)}: none.`, ''];
  const cell = (c: string, j: number) => (t.code?.includes(j) ? code(c) : md(c));
  return [`**${md(t.caption)}**`, '', ...table(t.head.map(md), t.rows.map((row) => row.map(cell)))];
}

function coverage(r: ReportData): string[] {
  if (r.coverage === null) return ['## Coverage', '', 'No coverage given (claims not evaluated).', ''];
  const v = coverageView(r.coverage, r.sessions);
  return ['## Coverage', '', md(v.lead), '', ...(v.table ? textTable(v.table) : []),
    ...v.problems.map((p) => `- ${md(p)}`), ...(v.problems.length ? [''] : []),
    ...(v.thresholds ? [md(v.thresholds), ''] : [])];
}

function exposure(r: ReportData): string[] {
  if (r.exposure === null) return ['## Exposure', '', 'Exposure audit not run.', ''];
  const v = exposureView(r.exposure);
  return ['## Exposure', '', md(v.lead), '',
    ...v.findings.map((f) => `- **${md(f.severity)}** ${md(f.code)}: ${md(f.message)}`), ...(v.findings.length ? [''] : []),
    ...v.tables.flatMap(textTable),
    ...v.notes.map((n) => `- ${md(n)}`), ...(v.notes.length ? [''] : [])];
}

function evidence(r: ReportData, sha: string | null): string[] {
  const e = r.evidence;
  const head = e.file === null
    ? 'No evidence file.'
    : `Evidence: \`${e.file}\`, ${e.packets} packet(s)${e.complete ? '' : ' (**incomplete**)'}, SHA-256 \`${sha ?? ''}\`.`;
  return ['## Evidence', '', head, '', md(`${e.policy} The report never holds API request or response bodies.`), '',
    ...e.warnings.map((w) => `- ${md(w)}`), ...(e.warnings.length ? [''] : [])];
}

function claims(r: ReportData): string[] {
  if (r.claims === null) return ['## Claims', '', 'Claims not evaluated.', ''];
  return ['## Claims', '', ...table(['Claim', 'Verdict', 'Reason', 'Evidence', 'Source'], r.claims.map((c) => [
    `**${md(c.title)}** (${md(c.id)})`, `**${md(c.verdict)}**`, md(c.reason), claimEvidence(c), md(c.source),
  ]))];
}

function claimEvidence(c: ReportClaim): string {
  const e = c.evidence;
  const parts = [`${e.count} flow(s)`];
  if (e.flow_ids.length) parts.push(e.flow_ids.map((id) => `#${id}`).join(' '));
  for (const ch of e.chains ?? []) parts.push(`${ch.label ? `${md(ch.label)}: ` : ''}${ch.flow_ids.map((id) => `#${id}`).join(' → ')}`);
  return parts.join('; ');
}

function timeline(r: ReportData): string[] {
  const t = r.timeline;
  if (t.buckets === 0) return ['## Timeline', '', 'No traffic in the chosen sessions.', ''];
  const rows = t.activities.map((a) => {
    const row = t.bytes[a];
    const busiest = row.indexOf(Math.max(...row));
    return [md(a), formatBytes(row.reduce((s, v) => s + v, 0)), md(formatTime(isoMillis(t.start_us! + busiest * t.bucket_s * 1e6)))];
  });
  return ['## Timeline', '', `${t.buckets} buckets of ${formatDuration(t.bucket_s)} from ${md(formatTime(t.start))} (the chart is in report.html; ${md(t.note)}).`, '',
    ...table(['Activity', 'Bytes', 'Busiest bucket starts'], rows)];
}


function flows(r: ReportData): string[] {
  const { shown, hidden } = pickFlows(r.flows, r.flow_totals.flows, 500);
  const rows = shown.map((f) => [
    f.finding ? `**${f.id}** (finding)` : `${f.id}`,
    md(formatTime(f.first_seen ?? INVALID_TIME)), md(f.proto),
    md(endpoint(f.initiator_addr, f.initiator_port, f.proto)), md(endpoint(f.responder_addr, f.responder_port, f.proto)),
    md(connText(f)), code(f.hostname ?? ''), md(f.activity), f.process === null ? '—' : `${code(f.process.name)} (${f.process.pid})`,
    `${f.packets_out + f.packets_in}`, `${formatBytes(f.bytes_out)} / ${formatBytes(f.bytes_in)}`,
  ]);
  return ['## Flows', '', ...table(['#', 'First seen', 'Proto', 'From', 'To', 'State (history)', 'Name', 'Activity', 'Process', 'Packets', 'Bytes out/in'], rows),
    ...(hidden > 0 ? [`${hidden} more flow(s) in report.json (${r.flow_totals.flows} in all, ${formatBytes(r.flow_totals.bytes_out)} / ${formatBytes(r.flow_totals.bytes_in)}); listed: findings, Ollama flows, then the most bytes.`, ''] : [])];
}

function processes(r: ReportData): string[] {
  return ['## Processes', '', ...table(['PID', 'Name', 'Executable', 'Role', 'Ollama', 'Flows', 'Bytes out/in'], r.processes.map((p) => [
    `${p.pid}`, code(p.name), code(p.exe ?? ''), md(p.role ?? '—'), p.ollama ? 'yes' : 'no', `${p.flows}`,
    `${formatBytes(p.bytes_out)} / ${formatBytes(p.bytes_in)}`,
  ]))];
}

function dns(r: ReportData): string[] {
  return ['## DNS names', '', ...table(['Name', 'Type', 'Lookups', 'Result', 'Answers'], r.dns.map((d) => [
    code(d.query), md(d.qtype), `${d.count}`, md(d.rcodes.join(', ')), d.answers.length ? d.answers.map(code).join(', ') : '—',
  ]))];
}

function http(r: ReportData): string[] {
  return ['## HTTP requests', '', ...table(['Time', 'Method', 'Host', 'Path', 'Model', 'Status', 'Flow'], r.http.map((h) => [
    md(formatTime(h.ts)), code(h.method), code(h.host ?? ''), code(h.path ?? ''), h.model !== null ? code(modelCell(h)) : md(modelCell(h)),
    `${h.status ?? '—'}`, h.flow_id === null ? '—' : `#${h.flow_id}`,
  ])), ...(r.http_total > r.http.length ? [`${r.http_total - r.http.length} more request(s) in report.json (${r.http_total} in all; listed: the earliest).`, ''] : [])];
}

function sessions(r: ReportData): string[] {
  return ['## Capture sessions', '', ...table(['#', 'Kind', 'Source', 'Interfaces', 'From', 'To', 'Packets', 'Kernel drops', 'Loss estimate'], r.sessions.map((s) => [
    `${s.id}`, md(s.kind), code(s.source), s.interfaces.length ? s.interfaces.map((i) => code(interfaceText(i))).join('; ') : '—',
    md(formatTime(s.started_at)), md(formatTime(s.ended_at)), `${s.packets}`, `${s.drops ?? 'unknown'}`,
    s.loss_estimate === null ? 'unknown' : formatPercent(s.loss_estimate),
  ]))];
}

