/**
 * No prompt reaches anything ollama-audit writes. In a network namespace of its own (`oapvhost`,
 * loopback only), a stand-in Ollama API (`ollama serve`, a copy of node) gets four clients, each
 * with its own marker:
 *
 *   curl -s -d '{"model":..,"prompt":"<m>"}' …/api/generate   marker in argv and in the body
 *   ollama run gemma3:1b "<m>"                                 argv and body (a copy of node named ollama)
 *   curl -s --data-binary @file …/api/generate                 body only
 *   a node socket writing "<m>" to the port                    bytes that are not HTTP (from the environment)
 *
 * `ollama-audit daemon -i lo --evidence full` records them; `report` writes its folder. Every byte of
 * the database (and a copy of it, -wal and -shm taken while the daemon ran), of the evidence segments
 * and of the report files is searched for the markers' common tag: zero hits. The same run with
 * `--keep-cmdline` stores the argv markers (so the search can see them) and still no body or raw bytes.
 *
 * What shows each marker was really there: the server's answers say how many body bytes arrived;
 * the http table holds the POSTs; `tshark -n` finds the raw bytes' packet in the evidence, cut to
 * its headers (frame.cap_len < frame.len); the redacted command lines have exactly the lengths of
 * the arguments this file passed.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import { tsharkColumns } from '../../helpers/tshark.js';
import { writeReport } from '../../../src/report/write-report.js';
import { claim, flowIds } from '../../report/helpers.js';
import { REPO, finished, inHost, namesFor, sh, startDaemon, teardownInternet } from './netns.js';
import { filesUnder } from '../../helpers/files-under.js';

const PREFIX = 'oapv';
const NET = namesFor(PREFIX);
const API = 'http://127.0.0.1:11434/api/generate';
const MODEL = 'gemma3:1b';
const TAG = `OAPV${randomBytes(6).toString('hex')}`;
const M = {
  curlArgv: `${TAG}-curl-argv`,
  runArgv: `${TAG}-run-argv why is the sky blue`,
  bodyOnly: `${TAG}-body-only`,
  raw: `${TAG}-raw-bytes not http\n`,
};
const CURL_JSON = JSON.stringify({ model: MODEL, prompt: M.curlArgv });

interface Run {
  work: string;
  evidenceDir: string;
  reportDir: string;
  /** Copies of the .db, -wal and -shm taken while the daemon was running (the WAL holds the last seconds). */
  liveCopies: string;
  answers: Record<string, string>;
  db: Database.Database;
}

let dir: string;
let ollamaExe: string;

/** One daemon session with the four clients, then a report. */
async function record(name: string, extra: string[]): Promise<Run> {
  const work = join(dir, name);
  mkdirSync(work);
  const evidenceDir = join(work, 'evidence');
  const dbPath = join(work, 'audit.db');
  const daemon = await startDaemon(NET, ['--db', dbPath, '-i', 'lo', '--evidence', 'full', '--evidence-dir', evidenceDir, ...extra]);
  const answers: Record<string, string> = {};
  try {
    answers.curl = await finished(inHost(NET, 'curl', ['-s', '-d', CURL_JSON, API]));
    answers.run = await finished(inHost(NET, ollamaExe, ['run', MODEL, M.runArgv], {}, join(dir, 'bin')));
    const bodyFile = join(dir, `${name}-body.json`); // outside `work`, whose every file is searched
    writeFileSync(bodyFile, JSON.stringify({ model: MODEL, prompt: M.bodyOnly }));
    answers.body = await finished(inHost(NET, 'curl', ['-s', '--data-binary', `@${bodyFile}`, API]));
    answers.raw = await finished(inHost(NET, process.execPath, [join(import.meta.dirname, 'host/raw-bytes.mjs')], { OAPV_RAW: M.raw }));
    // Two flushes (one a second), then copy the store as it is on disk while the daemon runs.
    await new Promise((r) => setTimeout(r, 2200));
    const liveCopies = join(work, 'live-copies');
    mkdirSync(liveCopies);
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(dbPath + suffix)) copyFileSync(dbPath + suffix, join(liveCopies, `audit.db${suffix}`));
    daemon.proc.kill('SIGINT');
    const e = await daemon.exited;
    if (e.code !== 0) throw new Error(`daemon exit ${e.code ?? e.signal}: ${daemon.stderr()}`);
    const reportDir = join(work, 'report');
    execFileSync(process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'report', '--db', dbPath, '--out', reportDir], { stdio: 'pipe' });
    const db = new Database(dbPath, { readonly: true });
    // API traffic on loopback breaks no built-in claim, so `report` cuts no evidence.pcapng: a report
    // whose finding is every flow to the API port does, through the same evidence cutter.
    writeReport(db, join(work, 'report-findings'), { claims: [claim('api', flowIds(db, 'responder_port = 11434'))], coverage: null });
    return { work, evidenceDir, reportDir, liveCopies, answers, db };
  } finally {
    if (daemon.proc.exitCode === null && daemon.proc.signalCode === null) daemon.proc.kill('SIGKILL');
  }
}

function cmdlines(db: Database.Database, comm: string): string[] {
  return (db.prepare('SELECT cmdline FROM processes WHERE comm = ? ORDER BY seq').all(comm) as { cmdline: string }[]).map((r) => r.cmdline);
}

/** Every file the run wrote (store, live copies of it, evidence, report), with the hits of `needle`. */
function hits(r: Run, needle: string): string[] {
  return filesUnder(r.work).filter((f) => readFileSync(f).includes(needle));
}

describeNeeding(['root', 'cap', 'dist', 'tshark', 'curl'], 'no prompt in the store, WAL, evidence or reports (daemon --evidence full, in namespace oapvhost)', () => {
  let plain: Run;
  let kept: Run;

  beforeAll(async () => {
    teardownInternet(PREFIX); // a namespace a killed earlier run left behind
    dir = mkdtempSync(join(tmpdir(), 'oapv-'));
    try {
      sh('ip', ['netns', 'add', NET.hostNs]);
      sh('ip', ['-n', NET.hostNs, 'link', 'set', 'lo', 'up']);
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      ollamaExe = join(bin, 'ollama');
      copyFileSync(process.execPath, ollamaExe);
      writeFileSync(join(bin, 'serve'), `import(${JSON.stringify(join(import.meta.dirname, 'servers/slow-api.mjs'))});\n`);
      writeFileSync(join(bin, 'run'), `import(${JSON.stringify(join(import.meta.dirname, 'host/ollama-run.mjs'))});\n`);
      const server = inHost(NET, ollamaExe, ['serve'], {}, bin);
      await server.waitFor(/api ready/);
      plain = await record('plain', []);
      kept = await record('kept', ['--keep-cmdline']);
    } catch (err) {
      teardownInternet(PREFIX);
      throw err;
    }
  }, 120_000);

  afterAll(() => {
    plain?.db.close();
    kept?.db.close();
    teardownInternet(PREFIX);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every marker crossed the wire: bodies received whole, the raw bytes sent and refused', () => {
    for (const r of [plain, kept]) {
      expect(JSON.parse(r.answers.curl).received).toBe(Buffer.byteLength(CURL_JSON));
      expect(JSON.parse(r.answers.run).received).toBe(Buffer.byteLength(JSON.stringify({ model: MODEL, prompt: M.runArgv, stream: false })));
      expect(JSON.parse(r.answers.body).received).toBe(Buffer.byteLength(JSON.stringify({ model: MODEL, prompt: M.bodyOnly })));
      expect(JSON.parse(r.answers.raw)).toEqual({ sent: Buffer.byteLength(M.raw), answer: 'HTTP/1.1 400 Bad Request' });
    }
  });

  it('the daemon saw them: three POSTs in the http table, the raw bytes\' packet in the evidence cut to its headers', () => {
    for (const r of [plain, kept]) {
      const posts = r.db.prepare("SELECT COUNT(*) AS n FROM http WHERE method = 'POST' AND path = '/api/generate'").get() as { n: number };
      expect(posts.n).toBe(3);
      const segments = filesUnder(r.evidenceDir).filter((f) => f.endsWith('.pcapng'));
      expect(segments.length).toBeGreaterThan(0);
      const raw = segments.flatMap((f) => tsharkColumns(f, ['frame.cap_len', 'frame.len'], `tcp.dstport == 11434 && tcp.len == ${Buffer.byteLength(M.raw)}`));
      expect(raw.length).toBeGreaterThan(0);
      for (const [capLen, len] of raw) expect(Number(capLen)).toBe(Number(len) - Buffer.byteLength(M.raw));
      // Heads are kept: the evidence still shows what was asked.
      expect(segments.some((f) => readFileSync(f).includes('POST /api/generate HTTP/1.1\r\n'))).toBe(true);
    }
  });

  it('without --keep-cmdline: no marker in any byte of the .db, its live -wal/-shm, the evidence or the report', () => {
    const files = filesUnder(plain.work).map((f) => f.slice(plain.work.length + 1));
    expect(files).toEqual(expect.arrayContaining(['live-copies/audit.db-wal', 'report/report.json', 'report/report.html', 'report-findings/evidence.pcapng']));
    // The findings' evidence holds the four flows' packets (heads, and the raw bytes' packet cut).
    const ev = join(plain.work, 'report-findings/evidence.pcapng');
    expect(tsharkColumns(ev, ['tcp.srcport'], 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length).toBe(4);
    expect(tsharkColumns(ev, ['frame.cap_len'], `tcp.dstport == 11434 && tcp.len == ${Buffer.byteLength(M.raw)}`).length).toBe(1);
    expect(hits(plain, TAG)).toEqual([]);
  });

  it('command lines are stored redacted: argv[0], option names, the ollama subcommand and model, lengths', () => {
    const runArgvLen = [...M.runArgv].length;
    // The server's row appears when a flow's client socket was gone before the lookup (the raw
    // bytes' client exits at once) and the server's end owned it: `serve` has nothing to redact.
    const ollamaRows = cmdlines(plain.db, 'ollama');
    expect(ollamaRows).toContain(`${ollamaExe} run ${MODEL} <${runArgvLen} chars>`);
    for (const row of ollamaRows) expect([`${ollamaExe} run ${MODEL} <${runArgvLen} chars>`, `${ollamaExe} serve`]).toContain(row);
    expect(cmdlines(plain.db, 'curl')).toEqual(expect.arrayContaining([
      `curl -s -d <${CURL_JSON.length} chars> <${API.length} chars>`,
      `curl -s --data-binary <${join(dir, 'plain-body.json').length + 1} chars> <${API.length} chars>`,
    ]));
  });

  it('with --keep-cmdline the argv is stored verbatim (the search sees it); bodies and raw bytes still are not', () => {
    expect(cmdlines(kept.db, 'ollama')).toContain(`${ollamaExe} run ${MODEL} ${M.runArgv}`);
    expect(cmdlines(kept.db, 'curl')).toContain(`curl -s -d ${CURL_JSON} ${API}`);
    expect(hits(kept, M.curlArgv).length).toBeGreaterThan(0);
    expect(hits(kept, M.bodyOnly)).toEqual([]);
    expect(hits(kept, M.raw.slice(0, -1))).toEqual([]);
  });
});
