import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runReport } from '../../src/commands/report-command.js';
import { UserError } from '../../src/errors.js';
import { claim, DEMO, flowIds, importInto, tmpDir } from './helpers.js';

const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  return { out, text: () => text };
}

describe('runReport', () => {
  it('without a claims engine: flows and timeline, "claims not evaluated", no evidence file', async () => {
    const st = await importInto(root, DEMO);
    st.db.close();
    const dir = path.join(root, 'plain');
    const o = capture();
    expect(runReport({ db: st.dbPath, out: dir }, {}, o.out)).toBe(0);
    expect(o.text()).toContain(`report written to ${dir}/`);
    expect(o.text()).toContain('claims not evaluated');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(json.claims).toBeNull();
    expect(json.flows.length).toBe(28);
    expect(json.timeline.buckets).toBeGreaterThan(0);
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('id="claims-not-evaluated">Claims not evaluated.');
    expect(html).toContain('<svg id="timeline"');
    expect(fs.existsSync(path.join(dir, 'evidence.pcapng'))).toBe(false);
  });

  it('with one: the engine sees the store, its claims and coverage land in the report; --json prints the manifest', async () => {
    const dir = path.join(root, 'engine');
    const dbPath = path.join(root, 'audit.db');
    const o = capture();
    const code = runReport({ db: dbPath, out: dir, session: [1], json: true }, {
      evaluate: (db) => ({ claims: [claim('no-registry', flowIds(db, "activity = 'registry'"))], coverage: { gaps: [] } }),
      exposure: () => ({ live: true, listeners: [{ pid: 7, comm: 'ollama', role: 'server', address: '127.0.0.1', port: 11434, scope: 'loopback', api: true, host_netns: true }] }),
    }, o.out);
    expect(code).toBe(0);
    const printed = JSON.parse(o.text());
    expect(printed.manifest.claims_evaluated).toBe(true);
    expect(printed.files.map((f: string) => path.basename(f))).toContain('evidence.pcapng');
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toMatch(/<table id="claims">/);
    expect(html).toContain('<table id="exposure-listeners">');
    expect(html).toContain('<td data-label="Address">127.0.0.1:11434</td><td data-label="Reachable from">loopback</td><td data-label="API">yes</td>' +
      '<td data-label="Process">ollama (7), server</td>');
  });

  it('an unknown session or an --out that is a file is a one-line user error', () => {
    const dbPath = path.join(root, 'audit.db');
    expect(() => runReport({ db: dbPath, out: path.join(root, 'x'), session: [99] })).toThrow(UserError);
    expect(() => runReport({ db: dbPath, out: dbPath })).toThrow(/exists and is not a folder/);
  });
});
