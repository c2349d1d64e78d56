/**
 * Model names through the live daemon. In a namespace of its own (`oamdhost`, loopback only), the
 * fixture's Ollama-shaped API (fixtures/make/servers/api-models.mjs, run as `ollama serve`: a copy of
 * node named ollama) forwards a cloud model's request over TLS to a stand-in ollama.com at
 * 127.0.0.2:443. `ollama-audit daemon -i lo --evidence full` records three curl POSTs whose prompts
 * hold a marker: the store holds each request's model (as the bodies curl sent say), the claims
 * chain ties the cloud-model request to the server's flow to ollama.com by process, and no byte of
 * the database, its WAL or the evidence segments holds the marker.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import { REPO, finished, inHost, namesFor, daemonThrough, sh, teardownInternet } from './netns.js';
import { filesUnder } from '../../helpers/files-under.js';

const PREFIX = 'oamd';
const NET = namesFor(PREFIX);
const API = 'http://127.0.0.1:11434';
const TAG = `OAMD${randomBytes(6).toString('hex')}`;
/** What curl sends: path, body, and the model the body names (null: past the first 8 KiB). */
const REQUESTS = [
  { path: '/api/chat', body: { model: 'gpt-oss:120b-cloud', messages: [{ role: 'user', content: `${TAG} cloud` }] }, model: 'gpt-oss:120b-cloud', status: 'found' },
  { path: '/api/generate', body: { prompt: `${TAG} ${'c'.repeat(3000)}`, model: 'llama3.2:3b' }, model: 'llama3.2:3b', status: 'found' },
  { path: '/api/generate', body: { prompt: `${TAG} ${'p'.repeat(9 * 1024)}`, model: 'llama3.2:3b' }, model: null, status: 'past-limit' },
];

let dir: string;
let work: string;
let db: Database.Database;
let claimsText: string;

describeNeeding(['root', 'cap', 'dist', 'curl', 'openssl'], 'model names through the live daemon (namespace oamdhost)', () => {
  beforeAll(async () => {
    teardownInternet(PREFIX); // a namespace a killed earlier run left behind
    dir = mkdtempSync(join(tmpdir(), 'oamd-'));
    try {
      sh('ip', ['netns', 'add', NET.hostNs]);
      sh('ip', ['-n', NET.hostNs, 'link', 'set', 'lo', 'up']);
      const certs = join(dir, 'certs');
      sh('bash', ['-c', `source ${JSON.stringify(join(REPO, 'fixtures/make/lib.sh'))} && oafx_make_certs "$0"`, certs]);
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      copyFileSync(process.execPath, join(bin, 'ollama'));
      writeFileSync(join(bin, 'serve'), `import(${JSON.stringify(join(REPO, 'fixtures/make/servers/api-models.mjs'))});\n`);
      const server = inHost(NET, join(bin, 'ollama'), ['serve', '127.0.0.1', '11434', '127.0.0.2'], { OAFX_CERTS: certs }, bin);
      await server.waitFor(/api ready/);

      work = join(dir, 'work');
      mkdirSync(work);
      const dbPath = join(work, 'audit.db');
      await daemonThrough(NET, ['--db', dbPath, '-i', 'lo', '--evidence', 'full', '--evidence-dir', join(work, 'evidence')], async () => {
        for (const [i, r] of REQUESTS.entries()) {
          const file = join(dir, `body-${i}.json`); // outside `work`, whose every file is searched
          writeFileSync(file, JSON.stringify(r.body));
          const answer = await finished(inHost(NET, 'curl', ['-sS', '-H', 'content-type: application/json', '-H', 'Expect:', '--data-binary', `@${file}`, `${API}${r.path}`]));
          expect(JSON.parse(answer)).toMatchObject({ done: true });
        }
        // Two flushes (one a second), then copy the store as it is on disk while the daemon runs.
        await new Promise((r) => setTimeout(r, 2200));
        for (const suffix of ['', '-wal', '-shm']) if (existsSync(dbPath + suffix)) copyFileSync(dbPath + suffix, join(work, `live-copy.db${suffix}`));
      });
      claimsText = execFileSync(process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'claims', '--db', dbPath], { encoding: 'utf8' });
      db = new Database(dbPath, { readonly: true });
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

  it('stores the model each request named, and past-limit for the one after 8 KiB', () => {
    const rows = db.prepare("SELECT path, model, model_status FROM http WHERE path LIKE '/api/%' ORDER BY ts").all();
    expect(rows).toEqual(REQUESTS.map((r) => ({ path: r.path, model: r.model, model_status: r.status })));
  });

  it('the claims chain ties the cloud-model request to the Ollama server\'s flow to ollama.com, by process', () => {
    expect(claimsText).toMatch(/POST \/api\/chat from 127\.0\.0\.1 .*request for gpt-oss:120b-cloud \(a cloud model\) caused a flow to ollama\.com, by the Ollama tree:/);
    expect(claimsText).toMatch(/request for llama3\.2:3b caused no flow/);
  });

  it('no byte of the store, its live WAL copy or the evidence segments holds the prompts\' marker', () => {
    const files = filesUnder(work);
    expect(files.some((f) => f.endsWith('live-copy.db-wal'))).toBe(true);
    const segments = files.filter((f) => f.endsWith('.pcapng'));
    expect(segments.length).toBeGreaterThan(0);
    // The heads are there: the evidence is of these requests.
    expect(segments.some((f) => readFileSync(f).includes('POST /api/chat HTTP/1.1\r\n'))).toBe(true);
    expect(files.filter((f) => readFileSync(f).includes(TAG))).toEqual([]);
  });
});
