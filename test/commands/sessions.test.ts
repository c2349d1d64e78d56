/**
 * `sessions`, `sessions delete N`, the unknown-session rule of every command taking --session,
 * and the SESSION column of `flows`. Expected values come from the import's own printed counts,
 * separate SQL over the store, and tshark -n on the files, never from `sessions` itself.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkFields } from '../helpers/tshark.js';
import { fixture } from '../differential/fixture-files.js';
import { openDb } from '../../src/store/open-db.js';
import { beginLiveSession } from '../../src/store/live-session.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oass-sessions-'));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const FILES = [fixture('pull-any-sll2.pcap'), fixture('demo/ollama-pull.pcapng')];

interface Summary { session_id: number; file: string; packets: number; flows: number; ollama_flows: number }

async function importAll(db: string, files: string[]): Promise<Summary[]> {
  const r = await runCli('import', ...files, '--db', db, '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Summary[];
}

/** Rows of `sessionId` in every table that has a session_id column (and the sessions row), by separate SQL. */
function rowsOf(dbPath: string, sessionId: number): Record<string, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const tables = (db.prepare(`SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
      WHERE m.type = 'table' AND c.name = 'session_id' ORDER BY m.name`).all() as { name: string }[]).map((r) => r.name);
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = (db.prepare(`SELECT count(*) n FROM "${t}" WHERE session_id = ?`).get(sessionId) as { n: number }).n;
    out.sessions = (db.prepare('SELECT count(*) n FROM sessions WHERE id = ?').get(sessionId) as { n: number }).n;
    return out;
  } finally {
    db.close();
  }
}

describe('sessions', () => {
  let db: string;
  let imported: Summary[];
  beforeAll(async () => {
    db = join(tmp(), 'audit.db');
    imported = await importAll(db, FILES);
  });

  it('--json: one element per session with the import\'s own counts, the file\'s hash, and the claims\' coverage', async () => {
    const r = await runCli('sessions', '--db', db, '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.map((s: { id: number }) => s.id)).toEqual(imported.map((s) => s.session_id));
    const claims = JSON.parse((await runCli('claims', '--db', db, '--json')).stdout);
    for (const [i, s] of list.entries()) {
      expect(Object.keys(s).sort()).toEqual(['coverage', 'duration_s', 'ended_at', 'flows', 'format', 'id', 'kind', 'ollama_flows',
        'packets', 'recorded_at', 'source', 'source_sha256', 'started_at'].sort());
      expect(s).toMatchObject({
        kind: 'import', source: FILES[i], packets: imported[i].packets, flows: imported[i].flows,
        ollama_flows: imported[i].ollama_flows, source_sha256: sha256(FILES[i]),
      });
      expect(s.coverage).toEqual(claims.coverage.sessions[i]);
    }
    expect(list[1].format).toBe('pcapng');
  });

  it('text: a header and one line per session, counts and coverage as the import and SQL say', async () => {
    const r = await runCli('sessions', '--db', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+SOURCE\s+WINDOW \(UTC\)\s+PACKETS\s+FLOWS\s+OLLAMA\s+COVERAGE$/);
    expect(lines).toHaveLength(1 + FILES.length);
    const raw = new Database(db, { readonly: true });
    const loss = raw.prepare('SELECT id, loss_estimate FROM sessions ORDER BY id').all() as { id: number; loss_estimate: number | null }[];
    raw.close();
    for (const [i, s] of imported.entries()) {
      const cells = lines[i + 1].split(/\s{2,}/);
      expect(cells.slice(0, 3)).toEqual([String(s.session_id), 'import', FILES[i]]);
      expect(cells.slice(4, 7)).toEqual([String(s.packets), String(s.flows), String(s.ollama_flows)]);
      expect(cells[7]).toContain(`loss ${loss[i].loss_estimate!.toFixed(2)}%`);
    }
    // A plain pcap has no process information; the pcapng carries ptcpdump comments.
    expect(lines[1]).toContain('no process information');
    expect(lines[2]).toMatch(/attributed \d+%/);
  });

  describeNeeding(['tshark'], 'window against tshark', () => {
    it('started_at/ended_at are the earliest and latest packet times tshark -n reads in each file', async () => {
      const list = JSON.parse((await runCli('sessions', '--db', db, '--json')).stdout);
      for (const [i, file] of FILES.entries()) {
        const times = tsharkFields(file, ['frame.time_epoch'], undefined, ['-n']).map((row) => Number(row['frame.time_epoch'][0]));
        const iso = (s: number) => new Date(Math.floor(s * 1000)).toISOString().slice(0, 23);
        expect(list[i].started_at.slice(0, 23)).toBe(iso(Math.min(...times)));
        expect(list[i].ended_at.slice(0, 23)).toBe(iso(Math.max(...times)));
        expect(list[i].packets).toBe(times.length);
      }
    });
  });
});

describe('sessions delete', () => {
  it('removes every row of the session from every table, leaves the others intact, store consistent', async () => {
    const db = join(tmp(), 'del.db');
    const [a, b] = await importAll(db, FILES);
    const keep = rowsOf(db, a.session_id);
    const gone = rowsOf(db, b.session_id);
    // The pcapng session has rows in flows, dns, http and processes: deleting it is a real test.
    for (const t of ['flows', 'dns', 'http', 'processes', 'sessions']) expect(gone[t], t).toBeGreaterThan(0);

    const r = await runCli('sessions', 'delete', String(b.session_id), '--db', db);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^deleted session ${b.session_id}: .*flows ${gone.flows}.*; evidence files removed 0\\n$`));
    expect(Object.values(rowsOf(db, b.session_id)).every((n) => n === 0)).toBe(true);
    expect(rowsOf(db, a.session_id)).toEqual(keep);
    const raw = new Database(db, { readonly: true });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(raw.pragma('foreign_key_check')).toEqual([]);
    raw.close();
    const flows = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout);
    expect(flows).toHaveLength(a.flows);
    // Its bytes are no longer in the store: the same file imports again without --again.
    expect((await runCli('import', FILES[1], '--db', db)).code).toBe(0);
  });

  it('refuses a live session that never ended unless --force', async () => {
    const db = join(tmp(), 'live.db');
    await importAll(db, [FILES[0]]);
    // What a daemon leaves behind while it runs (or after kill -9): a live session row with ended_at NULL.
    const w = openDb(db);
    const live = beginLiveSession(w, { kind: 'live', source: 'lo', format: 'live' });
    w.close();
    const r = await runCli('sessions', 'delete', String(live.sessionId), '--db', db);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: session 2 is a live capture that has not ended: .*pass --force\n$/);
    expect(rowsOf(db, live.sessionId).sessions).toBe(1);
    const forced = await runCli('sessions', 'delete', String(live.sessionId), '--db', db, '--force');
    expect(forced.code).toBe(0);
    expect(rowsOf(db, live.sessionId).sessions).toBe(0);
  });
});

describe('an unknown --session is exit 2 everywhere, with one line saying how to see the valid ones', () => {
  let db: string;
  beforeAll(async () => {
    db = join(tmp(), 'u.db');
    await importAll(db, [FILES[0]]);
  });
  const commands: [string, string[]][] = [
    ['flows', ['flows', '--session', '999']],
    ['flows --json', ['flows', '--json', '--session', '999']],
    ['claims', ['claims', '--session', '999']],
    ['verify --db', ['verify', '--session', '999']],
    ['exposure', ['exposure', '--no-live', '--session', '999']],
    ['sessions delete', ['sessions', 'delete', '999']],
  ];
  for (const [name, args] of commands) {
    it(name, async () => {
      const r = await runCli(...args, '--db', db);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`ollama-audit: no session 999 in the store: \`ollama-audit sessions --db ${db}\` lists the valid ones\n`);
    });
  }
  it('report', async () => {
    const out = join(tmp(), 'report');
    const r = await runCli('report', '--out', out, '--session', '1', '--session', '999', '--db', db);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ollama-audit: no session 999 in the store: \`ollama-audit sessions --db ${db}\` lists the valid ones\n`);
  });
  it('a known session still answers', async () => {
    expect((await runCli('flows', '--session', '1', '--db', db)).code).toBe(0);
    expect((await runCli('exposure', '--no-live', '--session', '1', '--db', db)).code).toBe(0);
  });
});

describe('flows table', () => {
  it('shows a SESSION column only when the flows listed come from more than one session', async () => {
    const db = join(tmp(), 'f.db');
    const [a] = await importAll(db, [fixture('vlan-qinq.pcap'), fixture('dns-fragments.pcap')]);
    const both = await runCli('flows', '--db', db);
    const header = both.stdout.split('\n')[0];
    expect(header).toMatch(/^ID\s+SESSION\s+FIRST SEEN/);
    const json = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout) as { id: number; session_id: number }[];
    const rows = both.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/));
    expect(rows.map((r) => [Number(r[0]), Number(r[1])])).toEqual(json.map((f) => [f.id, f.session_id]));
    expect(new Set(json.map((f) => f.session_id)).size).toBe(2);

    const one = await runCli('flows', '--db', db, '--session', String(a.session_id));
    expect(one.stdout.split('\n')[0]).toMatch(/^ID\s+FIRST SEEN/);
    expect(one.stdout).not.toContain('SESSION');
  });
});
