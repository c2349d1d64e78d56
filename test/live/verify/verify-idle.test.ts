/**
 * A live `verify` passes only when it watched something: Ollama ran during the window (or
 * --allow-idle accepts an idle check) and the capture could see traffic. In a network namespace
 * this file creates (`oacl-vf`: lo up, and a veth pair `oaclv0`/`oaclv1` whose peer is down, so
 * `oaclv0` has no carrier), with no Ollama in it:
 *   - --duration 2s -i any: exit 2, one stderr line saying Ollama was not running and what to do;
 *   - the same with --allow-idle: exit 0 (lo is up, 0 packets is silence there);
 *   - -i oaclv0 --allow-idle: exit 2, 0 packets on an interface that is down is not silence;
 *   - with an `ollama serve` (a copy of node under that name serving 127.0.0.1:11434) started in
 *     the namespace: exit 0 without --allow-idle, naming that process (its pid from the spawn).
 *
 * Needs root (namespaces, capture) and the built dist/ (bin/ollama-audit.js).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import { REPO, sh, startKid, killStarted, type Kid } from '../e2e/netns.js';

const NS = 'oacl-vf';
const DOWN = 'oaclv0';
const PEER = 'oaclv1';

interface Watched { ollama_ran: boolean; ollama_evidence: string | null; allow_idle: boolean; missing: string[] }
interface VerifyJson { result: string; exit_code: number; watched: Watched; coverage: { sessions: { packets: number; interfaces: string[] }[] } }

function deleteNamespace(): void {
  const pids = sh('ip', ['netns', 'pids', NS], { allowFail: true }).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  sh('ip', ['netns', 'del', NS], { allowFail: true });
}

async function verify(args: string[]): Promise<{ code: number | null; stderr: string; json: VerifyJson }> {
  const k = startKid('ip', ['netns', 'exec', NS, process.execPath, join(REPO, 'bin/ollama-audit.js'), 'verify', ...args, '--json']);
  const e = await k.exited;
  try {
    return { code: e.code, stderr: k.stderr(), json: JSON.parse(k.stdout()) as VerifyJson };
  } catch {
    throw new Error(`verify ${args.join(' ')}: exit ${e.code}, stdout not JSON:\n${k.stdout()}\nstderr:\n${k.stderr()}`);
  }
}

const cannotTellLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('ollama-audit: cannot tell:'));

describeNeeding(['root'], 'live verify needs something watched (namespace oacl-vf)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oacl-'));
    deleteNamespace();
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', NS, 'link', 'add', DOWN, 'type', 'veth', 'peer', 'name', PEER]);
    sh('ip', ['-n', NS, 'link', 'set', DOWN, 'up']); // its peer stays down: no carrier
  });
  afterAll(() => {
    killStarted();
    deleteNamespace();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('no Ollama, -i any for 2 s: exit 2 and one stderr line saying Ollama was not running', async () => {
    const r = await verify(['--duration', '2s', '-i', 'any']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.json).toMatchObject({ result: 'cannot-tell', exit_code: 2, watched: { ollama_ran: false, allow_idle: false } });
    const lines = cannotTellLines(r.stderr);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/Ollama was not running during the 2 s window .*: start it, or pass --allow-idle/);
  });

  it('the same with --allow-idle: exit 0 (lo was up, silence there is an answer)', async () => {
    const r = await verify(['--duration', '2s', '-i', 'any', '--allow-idle']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ result: 'silent', watched: { ollama_ran: false, allow_idle: true, missing: [] } });
    expect(cannotTellLines(r.stderr)).toEqual([]);
  });

  it('0 packets on an interface without carrier is not silence: exit 2 even with --allow-idle', async () => {
    expect(sh('ip', ['netns', 'exec', NS, 'cat', `/sys/class/net/${DOWN}/operstate`]).trim()).not.toBe('up');
    const r = await verify(['--duration', '1s', '-i', DOWN, '--allow-idle']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.json.coverage.sessions[0]).toMatchObject({ packets: 0, interfaces: [DOWN] });
    const lines = cannotTellLines(r.stderr);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`saw 0 packets on ${DOWN} (down)`);
  });

  it('an idle `ollama serve` in the namespace: exit 0 without --allow-idle, naming its pid', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(process.execPath, join(bin, 'ollama'));
    writeFileSync(join(bin, 'serve'), "require('node:http').createServer((q, r) => r.end('Ollama is running')).listen(11434, '127.0.0.1', () => console.log('ollama ready'));\n");
    const ollama: Kid = startKid('ip', ['netns', 'exec', NS, join(bin, 'ollama'), 'serve'], {}, bin);
    await ollama.waitFor(/ollama ready/);
    const r = await verify(['--duration', '2s', '-i', 'any']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.result).toBe('silent');
    expect(r.json.watched).toMatchObject({ ollama_ran: true, missing: [] });
    expect(r.json.watched.ollama_evidence).toBe(`ollama (pid ${ollama.pid}, server) was running`);
    ollama.proc.kill('SIGKILL');
    await ollama.exited;
  });
});
