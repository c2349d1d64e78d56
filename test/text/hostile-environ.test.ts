/**
 * Another user's process environment is outside text too: an `ollama serve` started with
 * OLLAMA_HOST and OLLAMA_ORIGINS holding terminal escapes must not set root's window title when
 * root runs `exposure`. The server is the exposure tests' fake API (a node copy named `ollama`),
 * alone in a namespace of this test; /proc/<pid>/environ is read live.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { runExposure } from '../../src/commands/exposure-command.js';
import type { ExposureReport } from '../../src/exposure/audit.js';
import { openDb } from '../../src/store/open-db.js';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { ip, startFakeOllama, stopAll } from '../exposure/live-helpers.js';

const NS = `oaes-env${process.pid % 100000}`;
const PORT = 11519;
const HOSTILE_HOST = `127.0.0.1:${PORT}\x1b]0;PWN-ENV\x07`;
const HOSTILE_ORIGINS = 'http://evil.example\x1b[31m\u202e,https://x';

function capture(run: (out: NodeJS.WritableStream) => number): { code: number; text: string } {
  let text = '';
  const code = run({ write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WritableStream);
  return { code, text };
}

describeNeeding(['root', 'ip'], 'exposure shows a server environment with its controls visible', () => {
  let dir: string;
  let pid: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaes-env-'));
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    pid = (await startFakeOllama(dir, NS, '127.0.0.1', PORT, { OLLAMA_HOST: HOSTILE_HOST, OLLAMA_ORIGINS: HOSTILE_ORIGINS })).pid;
  });
  afterAll(async () => {
    await stopAll();
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  itNeeding(['root'], 'text: OLLAMA_HOST and OLLAMA_ORIGINS as \\x1b-style text; --json: exactly as set', () => {
    const db = join(dir, 'empty.db'); // a store with no session: what is judged is live
    openDb(db).close();
    const text = capture((out) => runExposure({ db }, out)).text;
    const line = text.split('\n').find((l) => l.includes(`pid ${pid}:`));
    expect(line, text).toBeDefined();
    expect(line).toContain(`OLLAMA_HOST=127.0.0.1:${PORT}\\x1b]0;PWN-ENV\\x07`);
    expect(line).toContain('OLLAMA_ORIGINS=http://evil.example\\x1b[31m\\u{202e},https://x');
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);

    const json = JSON.parse(capture((out) => runExposure({ db, json: true }, out)).text) as ExposureReport;
    const server = json.processes.find((p) => p.pid === pid);
    expect(server?.env.ollama_host).toBe(HOSTILE_HOST);
    expect(server?.env.ollama_origins).toBe(HOSTILE_ORIGINS);
  });
});
