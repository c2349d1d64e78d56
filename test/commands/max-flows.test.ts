import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';
import { itNeeding } from '../helpers/needs.js';
import { tsharkFields } from '../helpers/tshark.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oa-maxflows-'));
// fixtures/make/syn-flood.sh: one curl to example.org (SF), then 600 unanswered SYNs from 600 ports.
const FLOOD = fixture('syn-flood.pcap');

interface Coverage { expired_early: Record<string, number>; problems: string[] }
interface Judged { coverage: { sessions: Coverage[] }; claims: { id: string; verdict: string; reason: string }[] }

async function importInto(...extra: string[]) {
  const db = join(tmp(), 'a.db');
  const imp = await runCli('import', FLOOD, '--db', db, '--json', ...extra);
  expect(imp.code, imp.stderr).toBe(0);
  return { db, summary: JSON.parse(imp.stdout)[0] as { flows: number; expired_early: Record<string, number> } };
}

async function claims(db: string): Promise<Judged> {
  const r = await runCli('claims', '--db', db, '--json');
  return JSON.parse(r.stdout) as Judged;
}

describe('a SYN flood imported with --max-flows', () => {
  itNeeding(['tshark'], 'a table of 100 evicts the oldest unanswered flows, counts them, and still stores every flow', async () => {
    // tshark's count of TCP streams: one per connection attempt (every SYN from its own port).
    const streams = new Set(tsharkFields(FLOOD, ['tcp.stream']).map((r) => r['tcp.stream'][0])).size;
    expect(streams).toBe(601);
    const { db, summary } = await importInto('--max-flows', '100');
    // Every flow beyond the 100 open at a time evicted one unanswered (S0) flow; the finished
    // curl connection was in its close delay the whole time and stayed.
    expect(summary.expired_early).toEqual({ evicted_half_open: streams - 100 });
    expect(summary.flows).toBe(streams); // evicted flows are written, closed early
    const rows = new Database(db, { readonly: true });
    const sf = rows.prepare(`SELECT conn_state, packets_out + packets_in AS packets FROM flows WHERE responder_addr = '203.0.113.80'`).all();
    const s0 = rows.prepare(`SELECT count(*) AS n FROM flows WHERE responder_addr = '203.0.113.99' AND conn_state = 'S0'`).get() as { n: number };
    const stored = JSON.parse((rows.prepare('SELECT expired_early FROM sessions').get() as { expired_early: string }).expired_early);
    rows.close();
    expect(sf).toEqual([{ conn_state: 'SF', packets: tsharkFields(FLOOD, ['frame.number'], 'ip.addr == 203.0.113.80').length }]);
    expect(s0.n).toBe(600);
    expect(stored).toEqual({ evicted_half_open: streams - 100 });
  });

  it('a claim that holds on the whole capture is inconclusive when flows were evicted, saying why', async () => {
    const whole = await importInto(); // default 500000: nothing evicted
    expect(whole.summary.expired_early).toEqual({});
    const free = await claims(whole.db);
    expect(free.coverage.sessions[0].expired_early).toEqual({});
    // No DNS at all in the capture: nothing looked an Ollama name up.
    expect(free.claims.find((c) => c.id === 'airgap-no-ollama-dns')!.verdict).toBe('holds');

    const bounded = await importInto('--max-flows', '100');
    const judged = await claims(bounded.db);
    const cov = judged.coverage.sessions[0];
    expect(cov.expired_early).toEqual({ evicted_half_open: 501 });
    const problem = cov.problems.find((p) => p.includes('closed early'));
    expect(problem).toMatch(/^501 flows closed early \(evicted half open 501; .*--max-flows.*\): .*no claim can hold$/);
    const c = judged.claims.find((x) => x.id === 'airgap-no-ollama-dns')!;
    expect(c.verdict).toBe('inconclusive');
    expect(c.reason).toContain(problem);
    expect(judged.claims.some((x) => x.verdict === 'holds')).toBe(false);
  });

  it('the import summary says how many flows closed early', async () => {
    const db = join(tmp(), 'a.db');
    const imp = await runCli('import', FLOOD, '--db', db, '--max-flows', '100');
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain('  flows closed early: evicted half open 501\n');
  });

  it.each([['abc'], ['0'], ['-5'], ['1.5'], ['']])('--max-flows %j: exit 2, one line, nothing stored', async (bad) => {
    const db = join(tmp(), 'a.db');
    for (const cmd of ['import', 'daemon']) {
      const r = await runCli(cmd, ...(cmd === 'import' ? [FLOOD] : []), '--db', db, '--max-flows', bad);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^ollama-audit: .*--max-flows.*expected a whole number, 1 or more.*\n$/);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stdout).toBe('');
    }
    const imp = await runCli('sessions', '--db', db, '--json');
    expect(imp.code === 0 ? JSON.parse(imp.stdout) : []).toEqual([]);
  });
});
