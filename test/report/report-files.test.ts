import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeReport, type WriteReportResult } from '../../src/report/write-report.js';
import type { ReportData } from '../../src/report/report-types.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkColumns } from '../helpers/tshark.js';
import { claim, DEMO, flowIds, importInto, tmpDir, tupleFilter, type Imported } from './helpers.js';

const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describeNeeding(['tshark', 'sha256sum', 'hostname'], 'report of a model pull', () => {
  let st: Imported;
  let registry: number[];
  let apiAndRunner: number[];
  let out: string;
  let result: WriteReportResult;

  beforeAll(async () => {
    st = await importInto(root, DEMO);
    registry = flowIds(st.db, "activity = 'registry'");
    apiAndRunner = flowIds(st.db, "activity = 'api:/api/generate' OR activity = 'runner'");
    out = path.join(root, 'report');
    result = writeReport(st.db, out, {
      claims: [
        claim('no-registry', registry, 'violated'),
        claim('generate-local', apiAndRunner, 'holds'),
      ],
      coverage: { gaps: ['no procfs attribution for imported files'], loss_estimate: 0 },
    });
  });
  afterAll(() => st.db.close());

  const evidence = () => path.join(out, 'evidence.pcapng');

  it('has found the flows the claims cite in the fixture', () => {
    expect(registry.length).toBeGreaterThanOrEqual(2);
    expect(apiAndRunner.length).toBe(2);
  });

  it('writes the five files, folder 0700 and files 0600', () => {
    expect(fs.readdirSync(out).sort()).toEqual(['evidence.pcapng', 'manifest.json', 'report.html', 'report.json', 'report.md']);
    expect(result.files.map((f) => path.basename(f))).toEqual(['report.md', 'report.html', 'report.json', 'evidence.pcapng', 'manifest.json']);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(out)) expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o600);
  });

  it('evidence.pcapng opens in tshark and carries the registry SNI', () => {
    const snis = tsharkColumns(evidence(), ['tls.handshake.extensions_server_name'], 'tls.handshake.type==1').map((r) => r[0]);
    expect(snis).toContain('registry.ollama.ai');
  });

  it('holds exactly the packets of the finding flows, as tshark counts their 5-tuples in the source capture', () => {
    const expected = [...registry, ...apiAndRunner].reduce((n, id) => n + tsharkColumns(DEMO, ['frame.number'], tupleFilter(st.db, id)).length, 0);
    expect(expected).toBeGreaterThan(20);
    expect(tsharkColumns(evidence(), ['frame.number']).length).toBe(expected);
    // ...and per flow, through the same 5-tuple filters on the evidence file.
    for (const id of [...registry, ...apiAndRunner]) {
      expect(tsharkColumns(evidence(), ['frame.number'], tupleFilter(st.db, id)).length).toBe(tsharkColumns(DEMO, ['frame.number'], tupleFilter(st.db, id)).length);
    }
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportData;
    expect(json.evidence.packets).toBe(expected);
    expect(json.evidence.complete).toBe(true);
    expect(json.evidence.warnings).toEqual([]);
  });

  it('names the process on every packet, without its command line', () => {
    const comments = tsharkColumns(evidence(), ['frame.comment']).map((r) => r[0] ?? '');
    expect(comments.length).toBeGreaterThan(0);
    for (const c of comments) expect(c).toMatch(/^PID: \d+\\nCmd: \//);
    // The fixture's own comments carry `Args:` with curl's -d '{"prompt":...}': none of it may pass.
    expect(tsharkColumns(DEMO, ['frame.comment'], 'frame.comment contains "Args:"').length).toBeGreaterThan(0);
    expect(comments.some((c) => c.includes('Args'))).toBe(false);
  });

  it('cuts API and runner bodies after the HTTP head: no prompt, no answer', () => {
    const src = fs.readFileSync(DEMO);
    const ev = fs.readFileSync(evidence());
    // The source really holds them (else this test could not fail)...
    expect(src.includes('Why is the sky blue?')).toBe(true);
    expect(src.includes('Rayleigh scattering')).toBe(true);
    // ...the evidence holds the request heads but neither the prompt nor the answer.
    expect(ev.includes('POST /api/generate HTTP/1.1\r\n')).toBe(true);
    expect(ev.includes('POST /completion HTTP/1.1\r\n')).toBe(true);
    expect(ev.includes('sky blue')).toBe(false);
    expect(ev.includes('Rayleigh')).toBe(false);
    // tshark agrees: the API packets with payload were cut (captured length below the wire length).
    const cut = tsharkColumns(evidence(), ['frame.cap_len', 'frame.len'], 'tcp.port == 11434 && tcp.len > 0');
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.some(([cap, len]) => Number(cap) < Number(len))).toBe(true);
  });

  it('manifest.json has the SHA-256 of every other file, as sha256sum computes it', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    const others = fs.readdirSync(out).filter((f) => f !== 'manifest.json').sort();
    expect(manifest.files.map((f: { name: string }) => f.name).sort()).toEqual(others);
    const sums = execFileSync('sha256sum', others, { cwd: out, encoding: 'utf8' }).trim().split('\n')
      .map((l) => l.split(/\s+\*?/)).map(([sha, name]) => [name, sha]);
    for (const [name, sha] of sums) {
      const entry = manifest.files.find((f: { name: string }) => f.name === name);
      expect(entry.sha256).toBe(sha);
      expect(entry.bytes).toBe(fs.statSync(path.join(out, name)).size);
    }
    expect(manifest.tool).toEqual({ name: 'ollama-audit', version: JSON.parse(fs.readFileSync('package.json', 'utf8')).version });
    expect(manifest.host).toBe(execFileSync('hostname', { encoding: 'utf8' }).trim());
    expect(manifest.time_range.start).toBe('2026-11-23T07:41:13.842633Z');
    expect(manifest.coverage.gaps).toEqual(['no procfs attribution for imported files']);
    expect(manifest.evidence).toMatchObject({ file: 'evidence.pcapng', complete: true });
  });

  it('report.json lists every flow with the findings marked, and the other tables', () => {
    const r = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportData;
    const stored = flowIds(st.db, '1');
    expect(r.flows.map((f) => f.id).sort((a, b) => a - b)).toEqual(stored);
    expect(r.flows.filter((f) => f.finding).map((f) => f.id).sort((a, b) => a - b)).toEqual([...registry, ...apiAndRunner].sort((a, b) => a - b));
    expect(r.flows.find((f) => f.id === registry[0])!.claims).toEqual(['no-registry']);
    expect(r.claims!.map((c) => c.id)).toEqual(['no-registry', 'generate-local']);
    expect(r.sessions).toHaveLength(1);
    expect(r.sessions[0]).toMatchObject({ kind: 'import', source: DEMO, loss_estimate: 0, drops: null });
    expect(r.processes.some((p) => p.exe === '/tmp/oafx-bin/ollama' && p.ollama)).toBe(true);
    expect(r.dns.some((d) => d.query === 'registry.ollama.ai' && d.answers.includes('203.0.113.10'))).toBe(true);
    expect(r.http.some((h) => h.method === 'POST' && h.path === '/api/generate' && h.status === 200)).toBe(true);
    expect(Object.keys(r.http[0]).sort()).toEqual(['flow_id', 'host', 'method', 'model', 'model_status', 'path', 'session_id', 'status', 'ts']);
    // Timeline: between 60 and 200 buckets, and every byte of every flow counted once.
    expect(r.timeline.buckets).toBeGreaterThanOrEqual(60);
    expect(r.timeline.buckets).toBeLessThanOrEqual(200);
    const total = Object.values(r.timeline.bytes).flat().reduce((a, b) => a + b, 0);
    const stBytes = (st.db.prepare('SELECT SUM(bytes_out + bytes_in) AS n FROM flows').get() as { n: number }).n;
    expect(Math.abs(total - stBytes)).toBeLessThanOrEqual(r.timeline.buckets * r.timeline.activities.length);
    expect(r.timeline.activities).toContain('registry');
    expect(r.timeline.activities).toContain('api');
    // No body anywhere in the JSON either (the store keeps none, and command lines are left out).
    const text = fs.readFileSync(path.join(out, 'report.json'), 'utf8');
    expect(text.includes('sky blue')).toBe(false);
    expect(text.includes('cmdline')).toBe(false);
  });

  it('report.html loads nothing from outside: every src/href points inside the page', () => {
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    const refs = [...html.matchAll(/\s(?:src|href|xlink:href|action|srcset|poster)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(r).toMatch(/^#flow-\d+$/);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(html).toContain("default-src 'none'");
    // The claim source is a URL, shown as text only.
    expect(html).toContain('<span class="source">https://github.com/ollama/ollama/blob/main/docs/faq.md</span>');
    // Internal links resolve: every #flow-N has its row.
    for (const r of refs) expect(html).toContain(`id="${r.slice(1)}"`);
  });

  it('report.md has the claims and the flows', () => {
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Claims');
    expect(md).toMatch(/\| \*\*claim no-registry\*\* \(no-registry\) \| \*\*violated\*\* \|/);
    expect(md).toContain('registry.ollama.ai');
    expect(md).toContain('`evidence.pcapng`');
    expect(md.includes('sky blue')).toBe(false);
  });

  it('a second report into the same folder replaces the first, leaving no stale evidence', () => {
    const again = writeReport(st.db, out, { claims: [], coverage: null });
    expect(again.manifest.evidence.file).toBeNull();
    expect(fs.existsSync(evidence())).toBe(false);
    expect(fs.readdirSync(out).sort()).toEqual(['manifest.json', 'report.html', 'report.json', 'report.md']);
  });
});
