/**
 * `export --format csv` (issue #12): RFC 4180 read back by Python's csv module (an independent
 * reader), and OWASP's CSV-injection rule on names that real clients sent (fixtures/formula,
 * make/formula-names.sh): a text cell starting with = + - @ gets a leading ' and is quoted;
 * otherwise every value is the store's own, to the last character (hostile names included).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/store/read/flows.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkHttpRequests } from '../helpers/tshark.js';
import { exported, factsOf, flowsJson, FORMULA, HOSTILE, storeWith, tempDir } from './helpers.js';


/** Python's csv module reading the text as RFC 4180 (quotes, doubled quotes, CRLF, line breaks inside quotes). */
function readCsv(text: string): string[][] {
  const script = 'import csv, io, json, sys\ntext = sys.stdin.buffer.read().decode("utf-8")\nprint(json.dumps(list(csv.reader(io.StringIO(text, newline=""), strict=True))))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: text, encoding: 'utf8' })) as string[][];
}

const tmp = tempDir('oaex-csv-');
afterAll(tmp.remove);

describeNeeding(['tshark', 'python3'], 'export --format csv', () => {
  let text: string;
  let header: string[];
  let rows: Record<string, string>[];
  let flows: FlowRecord[];

  beforeAll(async () => {
    const db = await storeWith(tmp.dir, FORMULA, HOSTILE);
    text = await exported(db, '--format', 'csv');
    const table = readCsv(text);
    header = table[0];
    rows = table.slice(1).map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
    flows = await flowsJson(db);
  });

  it('is RFC 4180: a header row, CRLF line ends, one row per flow with as many cells as the header', () => {
    expect(header.slice(0, 4)).toEqual(['session_id', 'flow_id', 'first_seen', 'last_seen']);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/"[^"]*"/g, '').split('\n').every((l, i, all) => i === all.length - 1 || l.endsWith('\r'))).toBe(true);
    expect(rows.length).toBe(flows.length);
    expect(rows.every((r) => Object.keys(r).length === header.length && Object.values(r).every((v) => v !== undefined))).toBe(true);
  });

  it('a text cell that a spreadsheet would run as a formula (= + - @) starts with \' and is quoted in the file', () => {
    const facts = factsOf<{ hosts: string[]; path: string; exe: string }>(FORMULA);
    // What curl put on the wire, by tshark: the Host headers and the request target.
    const requests = tsharkHttpRequests(FORMULA);
    expect(requests.map((r) => r.host)).toEqual(facts.hosts);
    const formulaRows = rows.filter((r) => r.session_id === '1');
    expect(formulaRows.map((r) => r.http_host)).toEqual(facts.hosts.map((h) => `'${h.toLowerCase()}`));
    expect(formulaRows.map((r) => r.http_path)).toContain(`'${facts.path}`);
    expect(formulaRows.map((r) => r.process_name)).toContain(`'${facts.exe.split('/').pop()}`);
    for (const r of rows) for (const v of Object.values(r)) expect(/^[=+\-@\t\r]/.test(v), v).toBe(false);
    for (const h of facts.hosts) expect(text).toContain(`"'${h.toLowerCase().replace(/"/g, '""')}`);
  });

  it('every other value is the store\'s own, exactly (hostile names with escapes and controls included)', () => {
    const byId = new Map(flows.map((f) => [String(f.id), f]));
    const unguard = (v: string) => (/^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v);
    for (const r of rows) {
      const f = byId.get(r.flow_id)!;
      const expected = [f.hostname, f.sni, f.http_host, f.http_path, f.connect_host, f.dns_name, f.process?.name ?? null, f.process?.exe ?? null, f.activity_reason];
      expect([r.hostname, r.sni, r.http_host, r.http_path, r.connect_host, r.dns_name, r.process_name, r.process_exe, r.activity_reason].map(unguard))
        .toEqual(expected.map((v) => v ?? ''));
      expect([Number(r.bytes_out), Number(r.bytes_in), r.community_id, r.ollama]).toEqual([f.bytes_out, f.bytes_in, f.community_id, String(f.ollama)]);
    }
    const hostile = factsOf<{ http_path: string; exe: string }>(HOSTILE);
    expect(rows.map((r) => r.http_path)).toContain(hostile.http_path);
    expect(rows.map((r) => r.process_exe)).toContain(hostile.exe);
  });
});
