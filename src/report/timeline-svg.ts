/**
 * The timeline as inline SVG: one stacked bar per time bucket, one colour per activity, a
 * legend with each activity's total, time labels in UTC. Every bar has a <title>, which
 * browsers show on hover, so no script is needed.
 */
import { escapeHtml } from './escape.js';
import { formatBytes, formatDuration, formatTime } from '../text/format-values.js';
import type { Timeline } from './report-types.js';
import { isoMillis } from '../store/format-time.js';

const W = 960;
const PLOT_H = 220;
const LEFT = 72;
const RIGHT = 12;
const TOP = 12;
const AXIS_H = 44;
const LEGEND_ROW = 20;

/** Fixed colours for the activities the classifier knows, so reports compare at a glance. */
const COLOURS: Record<string, string> = {
  registry: '#c0392b', 'blob-download': '#e67e22', 'ollama-com': '#8e44ad', 'proxy-connect': '#795548',
  dns: '#16a085', api: '#2471a3', runner: '#27ae60', other: '#95a5a6',
};
const SPARE = ['#d4ac0d', '#e84393', '#34495e', '#00acc1', '#7cb342', '#5d4037'];

export function activityColour(activity: string, index: number): string {
  return COLOURS[activity] ?? SPARE[index % SPARE.length];
}

export function timelineSvg(t: Timeline): string {
  if (t.buckets === 0 || t.start_us === null) {
    return `<p class="empty">No traffic in the chosen sessions: no timeline.</p>`;
  }
  const stepUs = t.bucket_s * 1e6;
  const max = Math.max(1, ...stackTotals(t));
  const yTop = niceTop(max);
  const legend = legendItems(t);
  const legendRows = layoutLegend(legend);
  const height = TOP + PLOT_H + AXIS_H + legendRows.length * LEGEND_ROW + 8;
  const label = `Bytes per ${formatDuration(t.bucket_s)} by activity, ${t.buckets} bars from ${formatTime(t.start)}`;
  return [
    `<svg id="timeline" class="timeline" viewBox="0 0 ${W} ${height}" role="img" aria-labelledby="timeline-title">`,
    `<title id="timeline-title">${escapeHtml(label)}</title>`,
    yAxis(yTop),
    bars(t, yTop, stepUs),
    xAxis(t, stepUs),
    legendSvg(legendRows, TOP + PLOT_H + AXIS_H),
    '</svg>',
  ].join('\n');
}

function plotWidth(): number {
  return W - LEFT - RIGHT;
}

function stackTotals(t: Timeline): number[] {
  const totals = new Array<number>(t.buckets).fill(0);
  for (const a of t.activities) t.bytes[a].forEach((v, i) => (totals[i] += v));
  return totals;
}

/**
 * The top of the y axis: 4 grid steps of 1, 2, 2.5 or 5 times a power of ten in the byte unit
 * the labels use (B, KiB, MiB...), so every grid line reads as a round number.
 */
function niceTop(max: number): number {
  const unit = 1024 ** Math.max(0, Math.floor(Math.log(max) / Math.log(1024)));
  const raw = max / 4 / unit;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = [1, 2, 2.5, 5, 10].find((x) => x * p >= raw) ?? 10;
  return 4 * m * p * unit;
}

function yAxis(yTop: number): string {
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yTop * i) / 4;
    const y = TOP + PLOT_H - (PLOT_H * i) / 4;
    out.push(`<line class="grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#ddd" stroke-width="1"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end" font-size="11">${escapeHtml(formatBytes(v))}</text>`);
  }
  out.push(`<text x="14" y="${TOP + PLOT_H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${TOP + PLOT_H / 2})">bytes per bar</text>`);
  return out.join('\n');
}

function bars(t: Timeline, yTop: number, stepUs: number): string {
  const bw = plotWidth() / t.buckets;
  const gap = bw > 4 ? 1 : 0;
  const out: string[] = [];
  for (let i = 0; i < t.buckets; i++) {
    let y = TOP + PLOT_H;
    const when = formatTime(isoMillis(t.start_us! + i * stepUs));
    t.activities.forEach((a, ai) => {
      const v = t.bytes[a][i];
      if (v <= 0) return;
      const h = (PLOT_H * v) / yTop;
      y -= h;
      out.push(`<rect class="bar" data-activity="${escapeHtml(a)}" x="${(LEFT + i * bw).toFixed(2)}" y="${y.toFixed(2)}" ` +
        `width="${Math.max(0.5, bw - gap).toFixed(2)}" height="${Math.max(0.5, h).toFixed(2)}" fill="${activityColour(a, ai)}">` +
        `<title>${escapeHtml(`${when}: ${a} ${formatBytes(v)}`)}</title></rect>`);
    });
  }
  return out.join('\n');
}

function xAxis(t: Timeline, stepUs: number): string {
  const base = TOP + PLOT_H;
  const bw = plotWidth() / t.buckets;
  const every = Math.max(1, Math.ceil(t.buckets / 7));
  const out = [`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${base}" y2="${base}" stroke="#333" stroke-width="1"/>`];
  for (let i = 0; i < t.buckets; i += every) {
    const x = LEFT + i * bw;
    out.push(`<line x1="${x.toFixed(2)}" x2="${x.toFixed(2)}" y1="${base}" y2="${base + 4}" stroke="#333"/>`);
    out.push(`<text class="tick" x="${x.toFixed(2)}" y="${base + 16}" text-anchor="middle" font-size="11">${escapeHtml(tickLabel(t.start_us! + i * stepUs, stepUs))}</text>`);
  }
  out.push(`<text x="${LEFT + plotWidth() / 2}" y="${base + 34}" text-anchor="middle" font-size="11">` +
    `${escapeHtml(`time (UTC) from ${formatTime(t.start)}, one bar = ${formatDuration(t.bucket_s)}`)}</text>`);
  return out.join('\n');
}

/** UTC clock text with as much precision as the bar size needs. */
function tickLabel(us: number, stepUs: number): string {
  const iso = isoMillis(us);
  if (stepUs >= 86400e6) return iso.slice(5, 10);
  if (stepUs >= 60e6) return iso.slice(11, 16);
  if (stepUs >= 1e6) return iso.slice(11, 19);
  return iso.slice(11, 23);
}


interface LegendItem { activity: string; colour: string; text: string; width: number }

function legendItems(t: Timeline): LegendItem[] {
  return t.activities.map((a, i) => {
    const text = `${a} (${formatBytes(t.bytes[a].reduce((s, v) => s + v, 0))})`;
    return { activity: a, colour: activityColour(a, i), text, width: 22 + text.length * 6.5 + 16 };
  });
}

/** Legend items in rows that fit the width. */
function layoutLegend(items: LegendItem[]): LegendItem[][] {
  const rows: LegendItem[][] = [];
  let row: LegendItem[] = [];
  let used = 0;
  for (const it of items) {
    if (row.length > 0 && used + it.width > plotWidth()) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(it);
    used += it.width;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

function legendSvg(rows: LegendItem[][], top: number): string {
  const out: string[] = ['<g class="legend">'];
  rows.forEach((row, r) => {
    let x = LEFT;
    const y = top + r * LEGEND_ROW;
    for (const it of row) {
      out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="14" height="14" fill="${it.colour}"/>`);
      out.push(`<text x="${(x + 20).toFixed(1)}" y="${y + 11}" font-size="12">${escapeHtml(it.text)}</text>`);
      x += it.width;
    }
  });
  out.push('</g>');
  return out.join('\n');
}
