/**
 * The Coverage and Exposure sections are written for a reader (issue #8, item 15): sentences and
 * small tables with headers instead of JSON or key/value dumps, percentages with at most two
 * decimals, interfaces by name and link type in words, and a page that neither scrolls sideways
 * nor breaks a verdict badge at 1400 or 800 px in Chromium.
 *
 * Input: three real captures of the same simulated pull (fixtures/README.md): the demo pcapng
 * (dumpcap, two named interfaces, process comments), pull-any-sll2.pcap (tcpdump -i any) and
 * pull-eth-nano.pcap (one Ethernet interface, nanosecond pcap), judged by the real claims engine
 * and exposure audit, as `ollama-audit report` does. Expected values come from capinfos and
 * tshark on the same files.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsReport } from '../../src/claims/evaluate.js';
import { reportText } from '../../src/claims/report-text.js';
import { auditExposure } from '../../src/exposure/audit.js';
import { reportInputFrom } from '../../src/report/from-claims.js';
import { writeReport } from '../../src/report/write-report.js';
import { capinfosInterfaces, encapsulationWords } from '../helpers/capinfos.js';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { tsharkColumns } from '../helpers/tshark.js';
import { importFile } from '../../src/commands/import-file.js';
import { openDb, type Db } from '../../src/store/open-db.js';
import { chromium, DEMO, tmpDir } from './helpers.js';

const FIXTURES = path.dirname(path.dirname(DEMO));
const FILES = [DEMO, path.join(FIXTURES, 'pull-any-sll2.pcap'), path.join(FIXTURES, 'pull-eth-nano.pcap')];

const root = tmpDir('oarp-report-');
let db: Db;
let out: string;
let md: string;
let html: string;

beforeAll(async () => {
  const dbPath = path.join(root, 'audit.db');
  openDb(dbPath).close();
  for (const f of FILES) await importFile(dbPath, f);
  db = openDb(dbPath);
  out = path.join(root, 'report');
  const { claims, coverage } = reportInputFrom(claimsReport(db));
  writeReport(db, out, { claims, coverage, exposure: auditExposure(db, { live: false }) });
  md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
}, 60_000);
afterAll(() => {
  db?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** The text of a Markdown section, from its heading to the next. */
function mdSection(title: string): string {
  const start = md.indexOf(`## ${title}\n`);
  expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
  const end = md.indexOf('\n## ', start + 3);
  return md.slice(start, end < 0 ? undefined : end);
}

function htmlSection(id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  expect(start, `section ${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

/** Rows of a Markdown table whose header row starts with `firstHead`, as cells. */
function mdTable(text: string, firstHead: string): string[][] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`| ${firstHead} |`));
  expect(at, `table starting with ${firstHead}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (let i = at; i < lines.length && lines[i].startsWith('|'); i++) {
    if (i !== at + 1) rows.push(lines[i].slice(2, -2).split(' | '));
  }
  return rows;
}

/** Every percentage in a text, as written. */
const percentages = (text: string) => [...text.matchAll(/(\d+(?:\.\d+)?)\s?%/g)].map((m) => m[1]);

/** `capinfos -c`: packets in a file. */
function packetsIn(file: string): number {
  return Number(/Number of packets:\s+(\d+)/.exec(execFileSync('capinfos', ['-c', file], { encoding: 'utf8' }))![1]);
}

describe('report.md Coverage and Exposure', () => {
  it('Coverage has no JSON: sentences and a table, one row per session', () => {
    const cov = mdSection('Coverage');
    expect(cov).not.toMatch(/[{}"]/);
    expect(cov).not.toMatch(/session_id|attributed_share|loss_estimate|drop_percent|off_host_visible|max_loss_percent/);
    expect(cov).toMatch(/^3 sessions with \d+ packets in all; /m);
    const rows = mdTable(cov, 'Session');
    expect(rows[0]).toEqual(['Session', 'Capture', 'Interfaces', 'Packets', 'Kernel drops', 'Capture loss (estimated)', 'Process known for', 'Traffic seen']);
    expect(rows).toHaveLength(1 + FILES.length);
    // The thresholds in words, not as a key/value pair.
    expect(cov).toContain('A claim cannot hold when the estimated capture loss is above 1% of acknowledged TCP bytes');
  });

  itNeeding(['capinfos'], 'Coverage states packets (as capinfos counts them), drops, loss and the attributed share', () => {
    const rows = mdTable(mdSection('Coverage'), 'Session').slice(1);
    FILES.forEach((file, i) => {
      const [session, , , packets, drops, loss, attributed] = rows[i];
      expect(session).toContain(path.basename(file).replace(/[_]/g, '\\_'));
      expect(Number(packets)).toBe(packetsIn(file));
      // Files carry no kernel drop counter: said, not printed as 0.
      expect(drops).toBe('unknown (not counted by the source)');
      // Every capture saw both ends of each TCP connection (fixtures/README.md): no loss.
      expect(loss).toBe('0% of acknowledged TCP bytes');
      // Only the pcapng has ptcpdump-style process comments.
      if (i === 0) expect(attributed).toMatch(/^\d{1,2}(\.\d{1,2})?% of bytes$/);
      else expect(attributed).toBe('nothing (no process information)');
    });
  });

  it('Exposure has no JSON: a lead sentence and a table of API clients', () => {
    const exp = mdSection('Exposure');
    expect(exp).not.toMatch(/[{}"]/);
    expect(exp).toContain('judged from the stored traffic only (not live');
    const rows = mdTable(exp, 'Clients');
    expect(rows[0]).toEqual(['Clients', 'Flows', 'Addresses', 'First / last seen', 'Bytes from them / to them', 'Most active']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['loopback']);
  });

  itNeeding(['tshark'], 'the API client row counts the connections tshark sees to port 11434', () => {
    const syns = FILES.reduce((n, f) => n + tsharkColumns(f, ['frame.number'], 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 11434').length, 0);
    const [row] = mdTable(mdSection('Exposure'), 'Clients').slice(1);
    expect(Number(row[1])).toBe(syns);
    expect(row[5]).toBe(`127.0.0.1 (${syns} flows)`);
  });

  it('no percentage anywhere in report.md or report.html has more than two decimals', () => {
    for (const text of [md, html]) {
      const ps = percentages(text);
      expect(ps.length).toBeGreaterThan(3);
      for (const p of ps) expect(p).toMatch(/^\d+(\.\d{1,2})?$/);
    }
  });
});

describe('report.html Coverage and Exposure', () => {
  it('are tables with headers, not key/value dumps', () => {
    const cov = htmlSection('coverage');
    expect(cov).toContain('<table id="coverage-sessions"');
    expect(cov).toContain('<thead><tr><th>Session</th><th>Capture</th><th>Interfaces</th><th>Packets</th><th>Kernel drops</th>');
    const exp = htmlSection('exposure');
    expect(exp).toContain('<table id="exposure-clients"');
    expect(exp).toContain('<thead><tr><th>Clients</th><th>Flows</th>');
    for (const s of [cov, exp]) {
      expect(s).not.toContain('class="kv"');
      expect(s).not.toMatch(/<th>(session_id|attributed_share|api_ports|host_trap)<\/th>/);
      // Raw floats such as 0.9940611080722044: none (times keep their microseconds after a colon).
      expect(s).not.toMatch(/(?<![:\d])\d+\.\d{3,}/);
    }
  });

  itNeeding(['capinfos'], 'interface cells show names and link types in words, as capinfos reads the files', () => {
    const rows = [...htmlSection('coverage').matchAll(/<td data-label="Interfaces">([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(rows).toHaveLength(FILES.length);
    FILES.forEach((file, n) => {
      const ours = rows[n].split('; ');
      const theirs = capinfosInterfaces(file);
      expect(ours).toHaveLength(theirs.length);
      theirs.forEach((i, k) => {
        expect(ours[k].startsWith(`${i.name ?? `#${k}`}: `), ours[k]).toBe(true);
        for (const w of encapsulationWords(i.encapsulation)) expect(ours[k].toLowerCase()).toContain(w);
      });
    });
    expect(html).not.toMatch(/link type \d/);
  });
});

describe('claims text', () => {
  it('coverage lines: interfaces by link type, percentages with at most two decimals, no ISO timestamps', () => {
    const text = reportText(claimsReport(db));
    const cov = text.slice(0, text.indexOf('\nClaims\n'));
    expect(cov).toContain('#0: Linux cooked v2 (SLL2)');
    expect(cov).toContain('#0: Ethernet');
    expect(cov).not.toMatch(/link type \d/);
    expect(cov).toMatch(/process known for \d+(\.\d{1,2})?% of bytes/);
    for (const p of percentages(cov)) expect(p).toMatch(/^\d+(\.\d{1,2})?$/);
    expect(cov).not.toMatch(/\d{4}-\d\d-\d\dT/);
  });
});


/**
 * Measures the page in the browser: a copy of report.html (the report itself has no script and
 * forbids one) with a script at the end that writes what it measured into an attribute of
 * <body>, read back from --dump-dom.
 */
const MEASURE = `<script>
const d = document.documentElement;
const badges = [...document.querySelectorAll('.verdict, .badge, .tag')].map((e) => {
  const cs = getComputedStyle(e);
  const line = parseFloat(cs.lineHeight);
  const chrome = parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom) + parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
  return { text: e.textContent, nowrap: cs.whiteSpace === 'nowrap', lines: Math.round((e.getBoundingClientRect().height - chrome) / line) };
});
const wide = [...document.body.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > d.clientWidth + 0.5).map((e) => e.id || e.tagName);
document.body.setAttribute('data-measured', JSON.stringify({ scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, badges, wide: wide.slice(0, 10) }));
</script>`;

interface Measured {
  scrollWidth: number;
  clientWidth: number;
  badges: { text: string; nowrap: boolean; lines: number }[];
  wide: string[];
}

function measure(width: number): Measured {
  const page = path.join(out, `measure-${width}.html`);
  fs.writeFileSync(page, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `${MEASURE}</body>`));
  const dom = chromium(root, [`--window-size=${width},1200`, '--dump-dom', `file://${page}`]);
  const attr = /data-measured="([^"]*)"/.exec(dom);
  expect(attr, 'the measuring script ran').not.toBeNull();
  return JSON.parse(attr![1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Measured;
}

describeNeeding(['chromium'], 'report.html in headless Chromium at 1400 and 800 px', () => {
  for (const width of [1400, 800]) {
    it(`${width} px: no horizontal scroll, every badge on one line`, () => {
      const m = measure(width);
      expect(m.clientWidth).toBeGreaterThan(width - 40);
      expect(m.wide, 'elements past the right edge').toEqual([]);
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);
      // The real engine's verdicts include "not exercised" and "inconclusive", the longest ones.
      expect(m.badges.map((b) => b.text)).toEqual(expect.arrayContaining(['violated', 'not exercised', 'inconclusive']));
      for (const b of m.badges) {
        expect(b.nowrap, `badge "${b.text}" is white-space: nowrap`).toBe(true);
        expect(b.lines, `badge "${b.text}" is one line`).toBe(1);
      }
    });

    it(`${width} px: a screenshot of that width`, () => {
      const png = path.join(root, `report-${width}.png`);
      chromium(root, [`--window-size=${width},3000`, '--hide-scrollbars', `--screenshot=${png}`, `file://${path.join(out, 'report.html')}`]);
      const b = fs.readFileSync(png);
      expect(b.subarray(1, 4).toString()).toBe('PNG');
      expect(b.readUInt32BE(16)).toBe(width);
      if (process.env.REPORT_SCREENSHOT_DIR) fs.copyFileSync(png, path.join(process.env.REPORT_SCREENSHOT_DIR, `report-${width}.png`));
    });
  }
});
