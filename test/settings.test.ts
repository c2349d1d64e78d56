/**
 * The settings module (src/settings.ts): every default once, resolution from options and the
 * environment, and the daemon's settings printed back as arguments that the daemon's own option
 * parser (commander, as `ollama-audit daemon` uses it) reads back to the same settings.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addDaemonOptions } from '../src/commands/cli-options.js';
import { ASSUME_FLAGS, DEFAULTS, resolveDbPath, settingsFromOptions, settingsToArgs, type DaemonOptionValues, type DaemonSettings, type SettingsEnv } from '../src/settings.js';
import { UserError } from '../src/errors.js';
import { BUILTIN_CLAIMS } from '../src/knowledge/claims.js';
import { mulberry32, randomInt } from './helpers/seeded-random.js';
import { runCli } from './helpers/run-cli.js';

/** What `ollama-audit daemon ARGS` would run with, in this environment. */
function parseDaemonArgs(args: string[], env: SettingsEnv): DaemonSettings {
  const cmd = addDaemonOptions(new Command('daemon')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return settingsFromOptions(cmd.opts<DaemonOptionValues>(), env);
}

const pick = <T>(rand: () => number, list: readonly T[]): T => list[randomInt(rand, list.length)];

/** Options a user could give: each present or not, lists of 0-3 values, odd characters included. */
function randomOptions(rand: () => number): DaemonOptionValues {
  const maybe = <T>(v: () => T): T | undefined => (rand() < 0.5 ? v() : undefined);
  const list = <T>(v: () => T): T[] => Array.from({ length: randomInt(rand, 4) }, v);
  return {
    db: maybe(() => pick(rand, ['/srv/a.db', 'rel/b.sqlite', '/tmp/with space/c.db', '/x/audit.DB'])),
    interface: list(() => pick(rand, ['eth0', 'lo', 'any', 'br-x', 'wlp2s0'])),
    filter: maybe(() => pick(rand, ['not port 22', 'tcp and host 10.0.0.1', "port 53 or (udp and 'x')"])),
    evidence: maybe(() => pick(rand, ['full', 'head', 'none'])),
    evidenceDir: maybe(() => pick(rand, ['/var/lib/ev', 'ev-rel', '/srv/a.evidence'])),
    maxEvidence: maybe(() => pick(rand, [1, 1000, 1024, 3 * 1024 ** 2, 2 * 1024 ** 3, 5e9, 1024 ** 4 + 1])),
    retain: maybe(() => pick(rand, [1, 0.5, 59, 60, 90, 3600, 86400, 7 * 86400, 30 * 86400, 100000])),
    maxDb: maybe(() => pick(rand, [1024 ** 2, 3 * 1024 ** 2, 2 * 1024 ** 3, 5e9, 1024 ** 4 + 1])),
    process: list(() => pick(rand, ['ollama', 'my server', 'llama-server'])),
    pid: list(() => 1 + randomInt(rand, 99999)),
    apiPort: list(() => pick(rand, [11434, 8000, 1, 65535, 11435])),
    keepCmdline: maybe(() => rand() < 0.5),
    duration: maybe(() => pick(rand, [0.25, 1, 30, 600, 3600, 86400 * 2])),
    attribution: maybe(() => pick(rand, ['auto', 'ebpf', 'procfs'])),
    captureBuffer: maybe(() => pick(rand, [1024 ** 2, 32 * 1024 ** 2, 128 * 1024 ** 2, 200_000_000, 1024 ** 3])),
    snaplen: maybe(() => pick(rand, [256, 1960, 4008, 8104, 65535])),
    metrics: maybe(() => pick(rand, [{ host: '127.0.0.1', port: 9464 }, { host: '0.0.0.0', port: 1 }, { host: '::1', port: 65535 }, { host: 'fe80::1', port: 9100 }])),
  };
}

describe('settings', () => {
  const home: SettingsEnv = { HOME: '/home/u' };

  it('fills every default from one place, the store under $XDG_DATA_HOME or ~/.local/share', () => {
    expect(settingsFromOptions({}, home)).toEqual({
      db: '/home/u/.local/share/ollama-audit/audit.db', interface: ['any'], filter: undefined, evidence: 'head',
      evidenceDir: '/home/u/.local/share/ollama-audit/audit.evidence', maxEvidence: undefined, retain: 30 * 86400, maxDb: undefined,
      process: [], pid: [], apiPort: [11434], keepCmdline: false, maxFlows: 500_000, attribution: 'auto', captureBuffer: 64 * 1024 ** 2, snaplen: undefined, duration: undefined,
    });
    expect(DEFAULTS.apiPort).toBe(11434);
    expect(DEFAULTS.evidence).toBe('head');
    expect(DEFAULTS.interfaces).toEqual(['any']);
  });

  it('reads the store from --db, else $OLLAMA_AUDIT_DB, else $XDG_DATA_HOME (absolute only), else HOME', () => {
    const env = { OLLAMA_AUDIT_DB: '/e/x.db', XDG_DATA_HOME: '/d', HOME: '/h' };
    expect(resolveDbPath('/given.db', env)).toBe('/given.db');
    expect(resolveDbPath(undefined, env)).toBe('/e/x.db');
    expect(resolveDbPath(undefined, { XDG_DATA_HOME: '/d', HOME: '/h' })).toBe('/d/ollama-audit/audit.db');
    expect(resolveDbPath(undefined, { XDG_DATA_HOME: 'relative', HOME: '/h' })).toBe('/h/.local/share/ollama-audit/audit.db');
    expect(resolveDbPath(undefined, { OLLAMA_AUDIT_DB: '', HOME: '/h' })).toBe('/h/.local/share/ollama-audit/audit.db');
    // The daemon's settings are absolute (a service runs elsewhere), the evidence folder named after the store.
    const s = settingsFromOptions({}, { OLLAMA_AUDIT_DB: 'rel/s.sqlite' });
    expect(s.db).toBe(resolve('rel/s.sqlite'));
    expect(s.evidenceDir).toBe(resolve('rel/s.sqlite.evidence'));
    expect(settingsFromOptions({ apiPort: [8000, 11434, 8000] }, home).apiPort).toEqual([11434, 8000]);
  });

  it('refuses an evidence policy or attribution source outside the set, naming the valid ones', () => {
    expect(() => settingsFromOptions({ evidence: 'most' }, home)).toThrow(UserError);
    expect(() => settingsFromOptions({ evidence: 'most' }, home)).toThrow(/full, head, none/);
    expect(() => settingsFromOptions({ attribution: 'kprobe' }, home)).toThrow(/auto, ebpf, procfs/);
  });

  it('--assume names exactly the conditions of the built-in claims (a flag no claim reads would be accepted and ignored)', () => {
    const conditions = new Set(BUILTIN_CLAIMS.flatMap((c) => (c.condition ? [c.condition.flag] : [])));
    expect([...ASSUME_FLAGS].sort()).toEqual([...conditions].sort());
  });

  it('refuses a retention of 0 and a store bound too small to hold the schema', () => {
    expect(() => settingsFromOptions({ retain: 0 }, home)).toThrow(/--retain 0: expected a duration longer than 0/);
    expect(() => settingsFromOptions({ maxDb: 1000 }, home)).toThrow(/--max-db 1000: expected a size of at least 1MiB/);
    expect(settingsFromOptions({ maxDb: 1024 ** 2 }, home).maxDb).toBe(1024 ** 2);
  });

  it('refuses a capture ring outside 1MiB..1GiB (libpcap asks the kernel for an int of bytes, twice that on `any`)', () => {
    expect(() => settingsFromOptions({ captureBuffer: 1000 }, home)).toThrow(/--capture-buffer 1000: expected a size from 1MiB to 1GiB/);
    expect(() => settingsFromOptions({ captureBuffer: 2 * 1024 ** 3 }, home)).toThrow(UserError);
    expect(settingsFromOptions({ captureBuffer: 1024 ** 3 }, home).captureBuffer).toBe(1024 ** 3);
  });

  it('refuses a snaplen outside 256..65535 bytes or not whole (cap and libpcap take an int; fewer bytes cannot hold the headers)', () => {
    expect(() => settingsFromOptions({ snaplen: 255 }, home)).toThrow(/--snaplen 255: expected a whole number of bytes from 256 to 65535, such as 4008/);
    expect(() => settingsFromOptions({ snaplen: 65536 }, home)).toThrow(UserError);
    expect(() => settingsFromOptions({ snaplen: 4000.5 }, home)).toThrow(UserError);
    expect(settingsFromOptions({ snaplen: 65535 }, home).snaplen).toBe(65535);
    expect(settingsFromOptions({}, home).snaplen).toBeUndefined(); // by device: DEFAULTS.snaplen
  });

  it('prints itself as arguments the daemon reads back to the same settings, in another environment (400 seeded cases)', () => {
    const rand = mulberry32(20261130);
    const elsewhere: SettingsEnv = { OLLAMA_AUDIT_DB: '/other/place.db', XDG_DATA_HOME: '/nowhere', HOME: '/root' };
    const seen = new Set<string>();
    for (let n = 0; n < 400; n++) {
      const s = settingsFromOptions(randomOptions(rand), { HOME: '/home/u', XDG_DATA_HOME: pick(rand, [undefined, '/xdg']) });
      const args = settingsToArgs(s);
      expect(parseDaemonArgs(args, elsewhere), args.join(' ')).toEqual(s);
      for (let i = 0; i < args.length; i++) if (args[i].startsWith('--')) seen.add(args[i]);
    }
    // Every option of the daemon took part at least once (so none is silently dropped by the round trip).
    expect([...seen].sort()).toEqual(['--api-port', '--attribution', '--capture-buffer', '--db', '--duration', '--evidence', '--evidence-dir', '--filter', '--interface',
      '--keep-cmdline', '--max-db', '--max-evidence', '--metrics', '--pid', '--process', '--retain', '--snaplen']);
  });

  it('prints the defaults as the store alone, and sizes and durations in units a reader knows', () => {
    expect(settingsToArgs(settingsFromOptions({}, home))).toEqual(['--db', '/home/u/.local/share/ollama-audit/audit.db']);
    const s = settingsFromOptions({ db: '/a.db', maxEvidence: 2 * 1024 ** 3, retain: 7 * 86400, duration: 90, interface: ['eth0', 'lo'] }, home);
    expect(settingsToArgs(s)).toEqual(['--db', '/a.db', '--interface', 'eth0', '--interface', 'lo', '--max-evidence', '2GiB', '--retain', '1w', '--duration', '90s']);
  });

  it('daemon --help states the defaults the settings hold', async () => {
    const help = (await runCli('daemon', '--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`(default: ${DEFAULTS.interfaces.join(', ')})`);
    expect(help).toContain(`default: "${DEFAULTS.evidence}")`);
    expect(help).toContain(`(${DEFAULTS.apiPort} always counts)`);
    expect(help).toContain('$OLLAMA_AUDIT_DB, else $XDG_DATA_HOME/ollama-audit/audit.db');
    expect(help).toContain('audit.db -> audit.evidence/');
    expect(help).toContain(`(default: ${DEFAULTS.captureBufferBytes / 1024 ** 2}MiB)`);
    expect(help).toContain(`(default: ${DEFAULTS.snaplen.device}; on lo and any ${DEFAULTS.snaplen.loopback},`);
  });
});

/**
 * The defaults live in src/settings.ts (and the facts they come from in src/knowledge/): a
 * second copy elsewhere would drift. Each remaining occurrence is listed here with why it is
 * not a default.
 */
describe('no default is written twice', () => {
  const SRC = resolve(import.meta.dirname, '../src');
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
  /** Code without comments (line comments not after ':' so URLs in strings stay). */
  const code = (p: string) => readFileSync(p, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
  const OWNERS = ['settings.ts', 'knowledge/'];
  const ALLOWED: Record<string, Record<string, string>> = {
    '11434': { 'flows/service-ports.ts': 'a catalogue of well-known service ports for guessing initiators (flows may not import knowledge/)' },
    "'head'": {
      'store/evidence-policy.ts': 'what each evidence policy keeps',
      'report/evidence-cut.ts': 'the report\'s own fixed cut, not the daemon\'s default',
    },
    "'any'": {
      'capture/link-types.ts': 'ANY_DEVICE, libpcap\'s device name',
      'claims/allow-rules.ts': 'the allow rule api:any',
      'claims/claim-schema.ts': 'claim scope and direction "any"',
      'claims/match.ts': 'claim direction "any"',
    },
    OLLAMA_AUDIT_DB: {},
    XDG_DATA_HOME: {},
  };

  for (const [literal, allowed] of Object.entries(ALLOWED)) {
    it(`${literal} appears only in the settings, the knowledge base and where it means something else`, () => {
      const where = files(SRC).map((p) => relative(SRC, p))
        .filter((rel) => !OWNERS.some((o) => rel.startsWith(o)) && !(rel in allowed))
        .filter((rel) => code(join(SRC, rel)).includes(literal));
      expect(where).toEqual([]);
    });
  }
});
