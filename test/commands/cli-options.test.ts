/**
 * What every command promises in its --help and how it treats a bad value:
 * - every enumerated option refuses a value outside its set: exit 2, one stderr line listing the
 *   valid values, nothing run (the store named by --db is not even created);
 * - every command's --help carries an example, and each option the example uses is one the
 *   command has; the defaults it states are the ones it uses (demo and verify --pcap do not touch
 *   $OLLAMA_AUDIT_DB).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oa-cli-opts-'));
const COMMANDS = ['import', 'flows', 'daemon', 'claims', 'verify', 'report', 'exposure', 'demo'];

/** The commands the top-level help lists (so a command added later is checked too). */
async function listedCommands(): Promise<string[]> {
  const help = (await runCli('--help')).stdout;
  const section = help.split(/\nCommands:\n/)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
}

function expectOneLineRefusal(r: { code: number; stderr: string; stdout: string }, mustList: string[]): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  for (const v of mustList) expect(r.stderr).toContain(v);
}

describe('enumerated options validate their value', () => {
  it('flows --activity: every activity name, api:ROUTE for known routes; bogus refused', async () => {
    const db = join(tmp(), 'audit.db');
    const r = await runCli('flows', '--db', db, '--activity', 'bogus');
    expectOneLineRefusal(r, ["'bogus'", 'registry', 'blob-download', 'ollama-com', 'proxy-connect', 'dns', 'api', 'runner', 'other', 'api:/api/pull']);
    expect(existsSync(db)).toBe(false);
    expectOneLineRefusal(await runCli('flows', '--db', db, '--activity', 'api:/api/nonsense'), ['api:/api/chat']);
  });

  it('flows --activity with valid names still filters (registry, api:/api/pull)', async () => {
    const db = join(tmp(), 'audit.db');
    expect((await runCli('import', '--db', db, fixture('demo/ollama-pull.pcapng'))).code).toBe(0);
    for (const a of ['registry', 'api:/api/pull', 'api']) {
      const r = await runCli('flows', '--db', db, '--activity', a, '--json');
      expect(r.code, r.stderr).toBe(0);
      const flows = JSON.parse(r.stdout) as { activity: string }[];
      expect(flows.length).toBeGreaterThan(0);
      for (const f of flows) expect(f.activity === a || f.activity.startsWith(`${a}:`)).toBe(true);
    }
  });

  it('daemon --capture-buffer: a size from 1MiB to 1GiB; anything else refused before the store is made', async () => {
    const db = join(tmp(), 'audit.db');
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--capture-buffer', 'lots'), ['--capture-buffer', 'expected a size']);
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--capture-buffer', '64k'), ['--capture-buffer 64000', 'from 1MiB to 1GiB']);
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--capture-buffer', '4GiB'), ['from 1MiB to 1GiB']);
    expect(existsSync(db)).toBe(false);
  });

  it('daemon --snaplen: whole bytes from 256 to 65535; anything else refused in one line, exit 2, before the store is made', async () => {
    const db = join(tmp(), 'audit.db');
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--snaplen', 'big'), ['--snaplen', 'expected a size']);
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--snaplen', '100'), ['--snaplen 100', 'from 256 to 65535']);
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--snaplen', '64KiB'), ['--snaplen 65536', 'from 256 to 65535']);
    expect(existsSync(db)).toBe(false);
  });

  it('claims/verify --assume: only no-cloud and https-proxy', async () => {
    const db = join(tmp(), 'audit.db');
    expectOneLineRefusal(await runCli('claims', '--db', db, '--assume', 'foo'), ["'foo'", 'no-cloud', 'https-proxy']);
    expectOneLineRefusal(await runCli('verify', '--db', db, '--assume', 'no-cloud', '--assume', 'nocloud'), ["'nocloud'", 'no-cloud, https-proxy']);
    expect(existsSync(db)).toBe(false);
  });

  it('--api-port: 1..65535 for exposure, daemon and report', async () => {
    const db = join(tmp(), 'audit.db');
    for (const bad of ['99999', '0', '-1', '80.5', 'http']) {
      expectOneLineRefusal(await runCli('exposure', '--db', db, '--no-live', '--api-port', bad), [`'${bad}'`, '1 to 65535']);
    }
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--api-port', '70000'), ['1 to 65535']);
    expectOneLineRefusal(await runCli('report', '--db', db, '--out', join(tmp(), 'r'), '--api-port', '65536'), ['1 to 65535']);
    expect(existsSync(db)).toBe(false);
  });

  it('daemon --evidence: full, head, none', async () => {
    const db = join(tmp(), 'audit.db');
    expectOneLineRefusal(await runCli('daemon', '--db', db, '--evidence', 'some'), ["'some'", 'full', 'head', 'none']);
    expect(existsSync(db)).toBe(false);
  });

  it('an unknown option or command is one line too', async () => {
    expectOneLineRefusal(await runCli('verify', '--bogus'), ["'--bogus'", '--help']);
    expectOneLineRefusal(await runCli('nonsense'), ["'nonsense'"]);
  });
});

describe('--help of every command', () => {
  /** Long option names listed in a help text's Options section. */
  function optionsOf(help: string): Set<string> {
    const section = help.split(/\nOptions:\n/)[1]?.split(/\n\n/)[0] ?? '';
    return new Set([...section.matchAll(/(?:^|\s|,)(--?[a-z][a-z-]*)/gm)].map((m) => m[1]));
  }

  it('the top-level help lists every command, and has examples itself', async () => {
    const listed = await listedCommands();
    for (const c of COMMANDS) expect(listed).toContain(c);
    expect((await runCli('--help')).stdout).toMatch(/\nExamples?:\n\s+\$ ollama-audit /);
  });

  it('every listed command\'s --help has an example using only its own options', async () => {
    for (const cmd of await listedCommands()) await exampleUsesOwnOptions(cmd);
  });

  async function exampleUsesOwnOptions(cmd: string): Promise<void> {
    const r = await runCli(cmd, '--help');
    expect(r.code).toBe(0);
    const examples = r.stdout.split(/\nExamples?:\n/)[1];
    expect(examples, r.stdout).toBeDefined();
    const lines = examples.split('\n').map((l) => l.trim().replace(/^\$ /, '')).filter((l) => /^(sudo )?ollama-audit /.test(l));
    expect(lines.length, `${cmd}: ${examples}`).toBeGreaterThan(0);
    const own = optionsOf(r.stdout);
    expect(own.has('--help')).toBe(true);
    for (const line of lines) {
      const words = line.split(/\s+/).filter((w) => w !== 'sudo');
      expect(words.slice(0, 2), line).toEqual(['ollama-audit', cmd]);
      for (const w of words) if (/^--?[a-z]/.test(w)) expect(own.has(w), `${cmd}: example uses ${w}, not an option of ${cmd}`).toBe(true);
    }
  }

  it('a repeatable --session states its real default (every session), not "none"', async () => {
    for (const cmd of ['claims', 'verify', 'report', 'exposure']) {
      const help = (await runCli(cmd, '--help')).stdout.replace(/\s+/g, ' ');
      expect(help, cmd).toMatch(/--session <id> [^()]*\(default: all sessions\)/);
    }
  });

  it('every --db states its real default: demo a temporary store, verify a temporary one with --pcap/live', async () => {
    for (const cmd of COMMANDS) {
      const help = (await runCli(cmd, '--help')).stdout;
      const line = help.split('\n').find((l) => l.includes('--db <path>'));
      if (!line) continue;
      const text = help.slice(help.indexOf('--db <path>')).split(/\n  -/)[0];
      if (cmd === 'demo') {
        expect(text).toContain('temporary');
        expect(text).not.toContain('OLLAMA_AUDIT_DB');
      } else {
        expect(text).toContain('$OLLAMA_AUDIT_DB');
      }
      if (cmd === 'verify') expect(text).toMatch(/--pcap.*temporary/s);
    }
  });

  describe('the stated defaults are the used ones', () => {
    const saved = process.env.OLLAMA_AUDIT_DB;
    afterEach(() => {
      if (saved === undefined) delete process.env.OLLAMA_AUDIT_DB;
      else process.env.OLLAMA_AUDIT_DB = saved;
    });

    it('demo and verify --pcap leave $OLLAMA_AUDIT_DB alone; flows reads it', async () => {
      const env = join(tmp(), 'env.db');
      process.env.OLLAMA_AUDIT_DB = env;
      expect((await runCli('demo', '--json')).code).toBe(0);
      await runCli('verify', '--pcap', fixture('demo/ollama-pull.pcapng'));
      expect(existsSync(env)).toBe(false);
      const r = await runCli('flows');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(env);
    });
  });
});
