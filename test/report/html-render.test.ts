import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeReport } from '../../src/report/write-report.js';
import { describeNeeding } from '../helpers/needs.js';
import { chromium, claim, DEMO, flowIds, importInto, tmpDir, type Imported } from './helpers.js';
import { outsideCodeSpans } from '../helpers/markdown.js';

const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const HOSTILE_HOST = '<script>alert(1)</script>';
const HOSTILE_PATH = '/x"><img src=x onerror=alert(2)>';
const HOSTILE_ACTIVITY = '<b onmouseover=alert(3)>evil</b>';

let st: Imported;
let out: string;
let registry: number[];

beforeAll(async () => {
  st = await importInto(root, DEMO);
  registry = flowIds(st.db, "activity = 'registry'");
  // Names come from the wire (SNI, Host, request lines): anyone can put markup there.
  st.db.prepare('UPDATE flows SET hostname = ? WHERE id = ?').run(HOSTILE_HOST, registry[0]);
  st.db.prepare("UPDATE http SET path = ? WHERE method = 'GET'").run(HOSTILE_PATH);
  st.db.prepare("UPDATE flows SET activity = ? WHERE activity = 'other'").run(HOSTILE_ACTIVITY);
  out = path.join(root, 'report');
  writeReport(st.db, out, {
    claims: [claim('no-registry', registry, 'violated'), claim('api-local', [], 'holds', { title: `title ${HOSTILE_HOST}` })],
    coverage: { gaps: [HOSTILE_HOST] },
    exposure: { live: true, listeners: [{ pid: 9, comm: HOSTILE_HOST, role: null, address: '0.0.0.0', port: 11434, scope: 'all-interfaces', api: true, host_netns: true }] },
  });
});
afterAll(() => st.db.close());

describe('hostile names', () => {
  it('are escaped in report.html wherever they appear (tables, timeline legend, coverage, exposure)', () => {
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b onmouseover');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('/x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    // The legend of the SVG timeline names the activity too.
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    expect(svg).toContain('&lt;b onmouseover=alert(3)&gt;evil&lt;/b&gt;');
  });

  it('are escaped in report.md', () => {
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    // Outside code spans every < is backslash-escaped, so no renderer sees a tag; names from the wire
    // are code spans, whose content a renderer shows as text.
    for (const line of md.split('\n')) expect(outsideCodeSpans(line)).not.toMatch(/(?<!\\)<(script|img|b)\b/);
    expect(md).toContain('`/x"><img src=x onerror=alert(2)>`');
    expect(md).toContain('`<script>alert(1)</script>`');
    expect(md).toContain('\\<script\\>alert(1)\\</script\\>'); // a claim title is text, escaped
    expect(md).toContain('| `<script>alert(1)</script> (9)` |'); // the exposure listener's process name
  });
});


describeNeeding(['chromium'], 'report.html in headless Chromium', () => {
  it('renders the claims table, the timeline SVG and the flows, with hostile names as text', () => {
    const url = `file://${path.join(out, 'report.html')}`;
    const dom = chromium(root, ['--dump-dom', url]);
    const claimsTable = dom.slice(dom.indexOf('<table id="claims">'), dom.indexOf('</table>', dom.indexOf('<table id="claims">')));
    expect(claimsTable.length).toBeGreaterThan(0);
    const rows = [...claimsTable.matchAll(/<tr>(.*?)<\/tr>/gs)].map((m) => m[1]);
    expect(rows).toHaveLength(3); // header + two claims
    expect(rows[1]).toContain('claim no-registry');
    expect(rows[1]).toContain('<span class="verdict bad">violated</span>');
    expect(rows[2]).toContain('<span class="verdict good">holds</span>');
    for (const id of registry) expect(rows[1]).toContain(`href="#flow-${id}"`);
    // The timeline: an <svg> with bars and a legend entry per activity.
    const svg = dom.slice(dom.indexOf('<svg id="timeline"'), dom.indexOf('</svg>'));
    expect(svg.length).toBeGreaterThan(0);
    expect((svg.match(/<rect class="bar"/g) ?? []).length).toBeGreaterThan(20);
    expect(svg).toMatch(/<text[^>]*>registry \(/);
    // Chromium parsed no element out of the hostile strings: they are text in the cells.
    expect(dom).not.toMatch(/<script/i);
    expect(dom).not.toMatch(/<img/i);
    expect(dom).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(dom).toContain(`id="flow-${registry[0]}" class="finding"`);
  });

  it('takes a screenshot (a PNG of the requested size)', () => {
    const png = path.join(root, 'report.png');
    chromium(root, ['--window-size=1280,2400', '--hide-scrollbars', `--screenshot=${png}`, `file://${path.join(out, 'report.html')}`]);
    const b = fs.readFileSync(png);
    expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(b.readUInt32BE(16)).toBe(1280);
    expect(b.readUInt32BE(20)).toBe(2400);
    if (process.env.REPORT_SCREENSHOT) fs.copyFileSync(png, process.env.REPORT_SCREENSHOT);
  });
});
