/**
 * Packets cut by the snapshot length (--snaplen, native-notes/cap.md "The ring's frames"). In a
 * namespace of its own (`oarnhost`, loopback only: MTU 65536, so one TCP segment holds a whole
 * request), a node HTTP server stands in for the Ollama API on 127.0.0.1:11434 and
 * `ollama-audit daemon -i lo --snaplen 1024 --evidence full` records two curl POSTs to
 * /api/generate whose bodies are ~3 KB: one names its model first, the other after its prompt,
 * i.e. beyond the 1024 bytes kept of its segment. Checked independently:
 *  - the store has the first model, and for the second no model and model_status `unread`
 *    (never a wrong value);
 *  - tshark reads the evidence segments; the request segments have frame.len = their true length
 *    (the IP total length + 14) above frame.cap_len (at most 1024; the evidence policy keeps only
 *    an API request's head), so the cut is visible;
 *  - each flow's stored bytes are the sum of its packets' IP total lengths as tshark reads them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import { filesUnder } from '../../helpers/files-under.js';
import { tsharkFields, type FieldRow } from '../../helpers/tshark.js';
import { finished, inHost, namesFor, daemonThrough, sh, teardownInternet } from './netns.js';

const PREFIX = 'oarn';
const NET = namesFor(PREFIX);
const SNAPLEN = 1024;
const TAG = `OARN${randomBytes(6).toString('hex')}`;
const PROMPT = `${TAG} ${'p'.repeat(3000)}`;
const REQUESTS = [
  { body: { model: 'llama3.2:3b', prompt: PROMPT }, model: 'llama3.2:3b', status: 'found' },
  { body: { prompt: PROMPT, model: 'qwen3:8b' }, model: null, status: 'unread' },
];
/** Answers every request once its body is in, like the API's non-streamed replies. */
const SERVER = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{"done":true}')); })
  .listen(11434, '127.0.0.1', () => console.log('api ready'));`;

let dir: string;
let db: Database.Database;
let frames: FieldRow[];

describeNeeding(['root', 'cap', 'dist', 'curl', 'tshark'], 'packets cut by --snaplen (namespace oarnhost)', () => {
  beforeAll(async () => {
    teardownInternet(PREFIX);
    dir = mkdtempSync(join(tmpdir(), 'oarn-'));
    try {
      sh('ip', ['netns', 'add', NET.hostNs]);
      sh('ip', ['-n', NET.hostNs, 'link', 'set', 'lo', 'up']);
      const server = inHost(NET, process.execPath, ['-e', SERVER]);
      await server.waitFor(/api ready/);
      const dbPath = join(dir, 'audit.db');
      const evidence = join(dir, 'evidence');
      await daemonThrough(NET, ['--db', dbPath, '-i', 'lo', '--snaplen', String(SNAPLEN), '--evidence', 'full', '--evidence-dir', evidence], async () => {
        for (const [i, r] of REQUESTS.entries()) {
          const file = join(dir, `body-${i}.json`);
          writeFileSync(file, JSON.stringify(r.body));
          const answer = await finished(inHost(NET, 'curl', ['-sS', '-H', 'content-type: application/json', '-H', 'Expect:', '--data-binary', `@${file}`, 'http://127.0.0.1:11434/api/generate']));
          expect(JSON.parse(answer)).toEqual({ done: true });
        }
        await new Promise((r) => setTimeout(r, 1500));
      });
      db = new Database(dbPath, { readonly: true });
      const segments = filesUnder(evidence).filter((f) => f.endsWith('.pcapng'));
      expect(segments.length).toBeGreaterThan(0);
      frames = segments.flatMap((f) => tsharkFields(f, ['frame.len', 'frame.cap_len', 'ip.len', 'tcp.srcport', 'tcp.dstport', 'tcp.len'], 'tcp.port == 11434'));
    } catch (err) {
      teardownInternet(PREFIX);
      throw err;
    }
  }, 120_000);

  afterAll(() => {
    db?.close();
    teardownInternet(PREFIX);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the model named within the snaplen, and unread (no model) for the one beyond it', () => {
    const rows = db.prepare("SELECT path, model, model_status FROM http WHERE path = '/api/generate' ORDER BY ts").all();
    expect(rows).toEqual(REQUESTS.map((r) => ({ path: '/api/generate', model: r.model, model_status: r.status })));
  });

  it('evidence keeps each cut segment\'s true length: tshark reads frame.len = IP length + 14 > frame.cap_len', () => {
    const cut = frames.filter((f) => Number(f['frame.len'][0]) > Number(f['frame.cap_len'][0]));
    for (const f of cut) {
      expect(Number(f['frame.cap_len'][0])).toBeLessThanOrEqual(SNAPLEN);
      expect(Number(f['frame.len'][0])).toBe(Number(f['ip.len'][0]) + 14); // Ethernet header on lo
    }
    // The two request segments: head + ~3 KB body each, one segment on lo, its tcp.len from the IP header.
    const requests = cut.filter((f) => Number(f['tcp.dstport'][0]) === 11434);
    expect(requests).toHaveLength(REQUESTS.length);
    for (const f of requests) expect(Number(f['tcp.len'][0])).toBeGreaterThan(PROMPT.length);
  });

  it('each flow\'s bytes are its packets\' IP lengths, cut or not', () => {
    const flows = db.prepare('SELECT initiator_port AS port, bytes_out + bytes_in AS bytes FROM flows WHERE responder_port = 11434').all() as { port: number; bytes: number }[];
    expect(flows).toHaveLength(REQUESTS.length);
    for (const f of flows) {
      const ipBytes = frames.filter((r) => Number(r['tcp.srcport'][0]) === f.port || Number(r['tcp.dstport'][0]) === f.port)
        .reduce((sum, r) => sum + Number(r['ip.len'][0]), 0);
      expect(f.bytes).toBe(ipBytes);
    }
  });
});
