/**
 * `demo --watch` (issue #11): the bundled capture replayed into the dashboard as a live session,
 * no privileges. Not a terminal: one line (or JSON object) per second, ending with the replay.
 * What the session must end with comes from tshark reading the same file (its TCP/UDP
 * conversations, packets and bytes each way; its frame count) and from the scenario's facts
 * (fixtures/README.md: the ping flows, who made which flow, the claims the pull breaks or keeps).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/store/read/flows.js';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkColumns, tsharkConversations } from '../helpers/tshark.js';
import { fromTshark, sorted, undirected } from '../differential/scenario.js';

const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'bin', 'ollama-audit.js');
const DEMO = join(root, 'fixtures', 'demo', 'ollama-pull.pcapng');
const dir = mkdtempSync(join(tmpdir(), 'oarp-demo-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  session: number; live: boolean; ollama_flows: number; session_flows: number;
  banner: { kind: string; topHost?: string };
  claims: { id: string; verdict: string }[];
  coverage: { packets: number } | null;
}

/** The built CLI with stdout a pipe (as `| cat`), in `cwd`, its temporary files under `tmp`. */
function demoWatch(args: string[], cwd: string, tmp: string) {
  return spawnSync(process.execPath, [BIN, 'demo', '--watch', ...args], {
    cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: tmp, HOME: join(cwd, 'home'), XDG_DATA_HOME: '', OLLAMA_AUDIT_DB: '' },
  });
}

describeNeeding(['tshark', 'dist'], 'demo --watch --speed 50 into a pipe', () => {
  it('--json: a live session whose objects count up to the capture\'s flows, then end; the store holds what tshark sees', async () => {
    const cwd = join(dir, 'json');
    mkdirSync(cwd);
    const db = join(cwd, 'demo.db');
    const r = demoWatch(['--speed', '50', '--json', '--db', db], cwd, cwd);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const last = lines[lines.length - 1];
    // Live while replaying, ended at the end: LIVE then ENDED, never back. At --speed 50 the replay
    // lasts ~62 ms, which a loaded machine can spend before the first line: then that one line is
    // the final state (CI saw it; test/watch/lines-end.test.ts). LIVE lines whose counts grow are
    // demo-replay-e2e.test.ts's (timing group, --speed 1).
    const firstEnded = lines.findIndex((l) => !l.live);
    expect(firstEnded).toBeGreaterThanOrEqual(0);
    expect(lines.slice(firstEnded).every((l) => !l.live)).toBe(true);
    expect(last.live).toBe(false);
    for (let i = 1; i < lines.length; i++) expect(lines[i].session_flows).toBeGreaterThanOrEqual(lines[i - 1].session_flows);

    // The session as stored: every TCP/UDP conversation tshark finds, with its packets and bytes each way.
    const flows = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout) as FlowRecord[];
    const tcpUdp = flows.filter((f) => f.proto === 'tcp' || f.proto === 'udp');
    expect(sorted(tcpUdp.map((f) => undirected(f.proto, f.initiator_addr, f.initiator_port, f.responder_addr, f.responder_port, f.packets_out, f.bytes_out, f.packets_in, f.bytes_in))))
      .toEqual(sorted(tsharkConversations(DEMO).map(fromTshark)));
    // The scenario's pings (fixtures/README.md): `ping` and `ping -6` example.org.
    expect(flows.filter((f) => f.proto.startsWith('icmp') && ['203.0.113.80', '2001:db8:2::80'].includes(f.responder_addr)).length).toBe(2);
    // The last line counts every stored flow, and every packet of the file.
    expect(last.session_flows).toBe(flows.length);
    expect(last.ollama_flows).toBe(flows.filter((f) => f.ollama).length);
    expect(last.coverage?.packets).toBe(tsharkColumns(DEMO, ['frame.number']).length);
    // Owners from the packets' ptcpdump comments (no procfs ran): ollama fetched the blob, curl called the API.
    const blob = flows.find((f) => f.activity === 'blob-download')!;
    expect(blob.process?.name).toBe('ollama');
    const comments = new Set(tsharkColumns(DEMO, ['frame.comment'], `ip.dst == ${blob.responder_addr} && tcp.dstport == ${blob.responder_port}`).map(([c]) => c));
    expect([...comments].map((c) => /^PID: (\d+)/.exec(c)?.[1])).toEqual([String(blob.process?.pid)]);
    expect(flows.find((f) => f.activity === 'api:/api/pull')?.process?.name).toBe('curl');
    const claims = JSON.parse((await runCli('claims', '--db', db, '--json')).stdout) as { coverage: { sessions: { attribution_sources: { method: string } | null }[] } };
    expect(claims.coverage.sessions[0].attribution_sources?.method).toBe('replay');
    // The scenario's claims (as demo.test.ts): the pull breaks the air-gap claims, the API stayed on loopback.
    const verdict = (id: string) => last.claims.find((c) => c.id === id)?.verdict;
    expect(verdict('airgap-no-ollama-destination')).toBe('violated');
    expect(verdict('airgap-no-ollama-dns')).toBe('violated');
    expect(verdict('server-offline-unless-pull-push')).toBe('violated');
    expect(verdict('api-loopback-only')).toBe('holds');
    // A live session (the replay), ended: the session list says so.
    const sessions = await runCli('sessions', '--db', db);
    expect(sessions.stdout).toMatch(/^1\s+live\s+replay of .*ollama-pull\.pcapng at 50x/m);
  });

  it('lines: LIVE then ENDED with the flows an import of the same file finds; nothing written outside the temporary store', async () => {
    const cwd = join(dir, 'lines');
    const tmp = join(dir, 'lines-tmp');
    mkdirSync(cwd);
    mkdirSync(tmp);
    const r = demoWatch(['--speed', '50'], cwd, tmp);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // LIVE lines, then ENDED: none when the ~62 ms replay ended before the first line (a full suite saw it).
    const states = lines.map((l) => / session 1 (LIVE|ENDED) · /.exec(l)?.[1]);
    expect(states.join(' ')).toMatch(/^(LIVE )*ENDED( ENDED)*$/);
    // The import path (checked against tshark by test/differential/) counts the same flows as the live replay.
    const imported = (JSON.parse((await runCli('demo', '--json')).stdout) as { summary: { flows: number; ollama_flows: number } }).summary;
    expect(lines[lines.length - 1]).toMatch(new RegExp(` session 1 ENDED · TRAFFIC: .* · ${imported.flows} flows in the session · ${imported.ollama_flows} Ollama flows · claims: .*violated`));
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('demo --watch options', () => {
  it('a --speed that is not a positive number: one line, exit 2', async () => {
    for (const bad of ['0', '-2', 'fast', 'Infinity', '']) {
      const r = await runCli('demo', '--watch', '--speed', bad);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toMatch(/^ollama-audit: .*--speed.*expected a positive number.*\n$/);
      expect(r.stderr.trim().split('\n'), bad).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });

  it('--report with --watch: one line, exit 2 (the dashboard writes reports with r)', async () => {
    const r = await runCli('demo', '--watch', '--report', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: --report is for the printed demo; in `demo --watch` press r/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('--speed without --watch: one line, exit 2, nothing run', async () => {
    const r = await runCli('demo', '--speed', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: --speed paces the replay of `demo --watch`/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});
