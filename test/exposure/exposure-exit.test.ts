/**
 * `exposure` exit codes and what it says when procfs hides things:
 * - exit 1 when a finding of severity medium or high exists, 0 when clean, 2 (one stderr line)
 *   when it cannot tell;
 * - run as nobody (uid 65534) while root's `ollama serve` listens on 0.0.0.0:11434 in a namespace
 *   this file creates (`oacl-x`): its sockets cannot be read, so the listener list is never
 *   "(none)": a `not-visible` finding names the process, the socket seen in /proc/net/tcp with its
 *   uid, and how to see more (root, or the capabilities). Facts come from the spawn (pid) and the
 *   bind address the test chose. Runs the built CLI (dist/) as nobody, like the demo test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';
import { ip, NODE, startFakeOllama, stop, stopAll } from './live-helpers.js';
import type { ExposureReport } from '../../src/exposure/audit.js';

const REPO = join(import.meta.dirname, '..', '..');
const NS = 'oacl-x';
const tmp = () => mkdtempSync(join(tmpdir(), 'oacl-exp-'));

describe('exposure exit codes from the store (no root)', () => {
  const saved = process.env.OLLAMA_AUDIT_DB;
  afterEach(() => {
    if (saved === undefined) delete process.env.OLLAMA_AUDIT_DB;
    else process.env.OLLAMA_AUDIT_DB = saved;
  });

  it('clean (the demo pull: API clients on loopback only): exit 0, nothing on stderr', async () => {
    const db = join(tmp(), 'a.db');
    expect((await runCli('import', '--db', db, fixture('demo/ollama-pull.pcapng'))).code).toBe(0);
    const r = await runCli('exposure', '--no-live', '--db', db, '--json');
    const rep = JSON.parse(r.stdout) as ExposureReport;
    expect(rep.clients.map((g) => g.class)).toEqual(['loopback']);
    expect(rep.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('nothing examined (--no-live, no store): exit 2 with one stderr line', async () => {
    process.env.OLLAMA_AUDIT_DB = join(tmp(), 'none.db');
    const r = await runCli('exposure', '--no-live');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toEqual([expect.stringMatching(/^ollama-audit: cannot tell: nothing was examined: .*none\.db; drop --no-live, or pass --db PATH$/), '']);
    expect(existsSync(process.env.OLLAMA_AUDIT_DB)).toBe(false);
  });
});

describeNeeding(['root', 'setpriv'], 'exposure run unprivileged while root\'s Ollama listens (namespace oacl-x)', () => {
  let dir: string;

  function exposureAs(uid: number | null, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
    const cli = [NODE, join(REPO, 'bin', 'ollama-audit.js'), 'exposure', ...args];
    const cmd = uid === null ? cli : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'env', 'HOME=/nonexistent', ...cli];
    const r = spawnSync('ip', ['netns', 'exec', NS, ...cmd], { encoding: 'utf8', cwd: '/', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist', 'commands', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p tsconfig.build.json`');
    dir = tmp();
    spawnSync('ip', ['netns', 'del', NS]);
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
  });
  afterAll(async () => {
    await stopAll();
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('on 0.0.0.0:11434: as nobody a medium not-visible finding (never "(none)"), exit 1; as root the listener itself', async () => {
    const { pid, child } = await startFakeOllama(dir, NS, '0.0.0.0', 11434);
    try {
      const text = exposureAs(65534);
      expect(text.stdout).not.toMatch(/Listening \(Ollama tree, now\):\n\s+\(none\)/);
      expect(text.stdout).toMatch(/Listening \(Ollama tree, now\):\n\s+0\.0\.0\.0:11434 {2}all-interfaces {2}API port {2}owner not visible \(uid 0\)/);
      expect(text.code, text.stderr).toBe(1);

      const r = exposureAs(65534, '--json');
      expect(r.code).toBe(1);
      const rep = JSON.parse(r.stdout) as ExposureReport;
      expect(rep.listeners.filter((l) => l.pid === pid)).toEqual([]);
      expect(rep.visibility!.unreadable).toContainEqual({ pid, comm: 'ollama', uid: 0 });
      expect(rep.visibility!.unowned).toEqual([{ address: '0.0.0.0', port: 11434, ip_version: 4, scope: 'all-interfaces', uid: 0 }]);
      const f = rep.findings.find((x) => x.code === 'not-visible')!;
      expect(f.severity).toBe('medium');
      expect(f.message).toContain('(uid 65534)');
      expect(f.message).toContain(`the sockets of ollama (pid ${pid}, uid 0) cannot be read`);
      expect(f.message).toContain('0.0.0.0:11434 (every interface) listens on an API port for uid 0');
      expect(f.message).toContain('run as root (sudo ollama-audit exposure) or give node cap_dac_read_search and cap_sys_ptrace');

      const root = exposureAs(null, '--json');
      expect(root.code).toBe(1);
      const full = JSON.parse(root.stdout) as ExposureReport;
      expect(full.listeners.filter((l) => l.pid === pid)).toEqual([expect.objectContaining({ address: '0.0.0.0', port: 11434, scope: 'all-interfaces', api: true })]);
      expect(full.findings.find((x) => x.code === 'no-auth-on-network' && x.message.includes(`pid ${pid}`))?.severity).toBe('high');
      expect(full.visibility!.unowned).toEqual([]);
    } finally {
      await stop(child);
    }
  });

  it('on 127.0.0.1:11434: as nobody it cannot tell: exit 2, one stderr line saying what was hidden', async () => {
    const { pid, child } = await startFakeOllama(dir, NS, '127.0.0.1', 11434);
    try {
      const r = exposureAs(65534, '--json');
      const rep = JSON.parse(r.stdout) as ExposureReport;
      expect(rep.visibility!.unowned).toEqual([{ address: '127.0.0.1', port: 11434, ip_version: 4, scope: 'loopback', uid: 0 }]);
      expect(rep.findings.find((x) => x.code === 'not-visible')?.severity).toBe('info');
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^ollama-audit: cannot tell: procfs hides .*pid ${pid}.*127\\.0\\.0\\.1:11434 \\(loopback\\).*run as root`));
    } finally {
      await stop(child);
    }
  });
});
