/**
 * The exposure audit's live half with the platform set to 'darwin' (the code a Mac runs), on
 * Linux: stand-in `lsof` and `launchctl` first on PATH (test/exposure/darwin-bin/, printing output a
 * test writes in their documented formats: lsof(8) "OUTPUT FOR OTHER PROGRAMS"; `launchctl getenv`
 * prints the value and a newline) and a HOME of the test's own holding Homebrew's service plist.
 * Expected values: the scenario each test sets up (who listens where, what launchd says).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auditExposure } from '../../src/exposure/audit.js';
import { tmpDir } from '../capture/helpers.js';

const BIN = path.resolve(import.meta.dirname, 'darwin-bin');
const dir = tmpDir('oa-darwin-exposure-');
const saved = { PATH: process.env.PATH, HOME: process.env.HOME };
const FAKE = ['FAKE_RECORD', 'FAKE_LSOF_OUT', 'FAKE_LAUNCHD_OLLAMA_HOST', 'FAKE_LAUNCHD_OLLAMA_ORIGINS'];
let n = 0;

beforeAll(() => {
  process.env.PATH = `${BIN}:${saved.PATH}`;
});
afterAll(() => {
  process.env.PATH = saved.PATH;
  process.env.HOME = saved.HOME;
  for (const k of FAKE) delete process.env[k];
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh record folder and HOME for each test. */
let record = '';
beforeEach(() => {
  for (const k of FAKE) delete process.env[k];
  record = path.join(dir, `t${n++}`);
  fs.mkdirSync(path.join(record, 'home', 'Library', 'LaunchAgents'), { recursive: true });
  process.env.FAKE_RECORD = record;
  process.env.HOME = path.join(record, 'home');
});

const lsof = (...lines: string[]) => `${lines.join('\n')}\n`;

function homebrewPlist(env: Record<string, string>): void {
  const vars = Object.entries(env).map(([k, v]) => `\t\t<key>${k}</key>\n\t\t<string>${v}</string>`).join('\n');
  fs.writeFileSync(path.join(record, 'home', 'Library', 'LaunchAgents', 'homebrew.mxcl.ollama.plist'), `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>EnvironmentVariables</key>
\t<dict>
${vars}
\t</dict>
\t<key>Label</key>
\t<string>homebrew.mxcl.ollama</string>
</dict>
</plist>
`);
}

describe('exposure on macOS: lsof listeners, launchd environment', () => {
  it('Ollama.app with "Expose" on (launchctl OLLAMA_HOST=0.0.0.0): the server on every interface is a high finding; the runner on loopback is not', () => {
    process.env.FAKE_LSOF_OUT = lsof('p512', 'cOllama', 'p700', 'collama', 'f5', 'n*:11434', 'p901', 'cllama-server', 'f3', 'n127.0.0.1:61000', 'p950', 'cnode', 'f20', 'n*:3000');
    process.env.FAKE_LAUNCHD_OLLAMA_HOST = '0.0.0.0';
    const r = auditExposure(null, { live: true, platform: 'darwin' });
    expect(fs.readFileSync(path.join(record, 'lsof.argv'), 'utf8').trim().split('\n')).toEqual(['-nP', '-iTCP', '-sTCP:LISTEN', '-F', 'pcn']);
    expect(fs.readFileSync(path.join(record, 'launchctl.calls'), 'utf8')).toBe('getenv OLLAMA_HOST\ngetenv OLLAMA_ORIGINS\n');
    expect(r.listeners.map((l) => [l.pid, l.comm, l.role, l.address, l.port, l.scope, l.api])).toEqual([
      [700, 'ollama', 'server', '*', 11434, 'all-interfaces', true],
      [901, 'llama-server', 'runner', '127.0.0.1', 61000, 'loopback', false],
    ]);
    const server = r.processes.find((p) => p.role === 'server')!;
    expect(server.env).toMatchObject({ readable: true, ollama_host: '0.0.0.0', ollama_origins: null });
    expect(server.ollama_host).toMatchObject({ host: '0.0.0.0', port: 11434, scope: 'all-interfaces' });
    expect(r.findings.filter((f) => f.severity !== 'info').map((f) => [f.severity, f.code, f.message])).toEqual([
      ['high', 'no-auth-on-network', 'ollama (pid 700) listens on *:11434 (every interface): no Host check and no authentication, anyone who can reach the API port can use it'],
    ]);
    expect(r.notes).toContain('OLLAMA_HOST/OLLAMA_ORIGINS from launchctl getenv (what Ollama.app gets); a server started from a shell has its own environment');
  });

  it('brew services: OLLAMA_HOST from Homebrew\'s plist names the API port; a loopback listener there is no finding', () => {
    homebrewPlist({ OLLAMA_HOST: '127.0.0.1:11500', OLLAMA_ORIGINS: '*', OLLAMA_FLASH_ATTENTION: '1' });
    process.env.FAKE_LSOF_OUT = lsof('p4242', 'collama', 'f7', 'n127.0.0.1:11500');
    const r = auditExposure(null, { live: true, platform: 'darwin' });
    expect(fs.existsSync(path.join(record, 'launchctl.calls'))).toBe(false); // the plist answered
    expect(r.listeners).toMatchObject([{ pid: 4242, address: '127.0.0.1', port: 11500, scope: 'loopback', api: true }]);
    expect(r.api_ports).toEqual([11434, 11500]);
    expect(r.findings.map((f) => f.code)).toEqual(['origins-wildcard']);
    expect(r.notes[0]).toBe(`OLLAMA_HOST/OLLAMA_ORIGINS from ${path.join(record, 'home', 'Library/LaunchAgents/homebrew.mxcl.ollama.plist')} (brew services); a server started otherwise has its own environment`);
  });

  it('no lsof: never "nothing listens", a not-visible finding says why', () => {
    process.env.PATH = path.join(record, 'home'); // neither lsof nor launchctl
    try {
      const r = auditExposure(null, { live: true, platform: 'darwin' });
      expect(r.listeners).toEqual([]);
      expect(r.findings.map((f) => [f.code, f.message])).toEqual([['not-visible', 'lsof could not run: what listens is unknown (macOS has it at /usr/sbin/lsof)']]);
    } finally {
      process.env.PATH = `${BIN}:${saved.PATH}`;
    }
  });

  it('a binary plist is said in a note, and launchctl answers instead', () => {
    fs.writeFileSync(path.join(record, 'home', 'Library', 'LaunchAgents', 'homebrew.mxcl.ollama.plist'), 'bplist00\u0000\u0001');
    process.env.FAKE_LSOF_OUT = lsof('p700', 'collama', 'f5', 'n[::1]:11434');
    const r = auditExposure(null, { live: true, platform: 'darwin' });
    expect(r.notes[0]).toMatch(/homebrew\.mxcl\.ollama\.plist: binary property list: convert it with `plutil -convert xml1 -o - FILE`$/);
    expect(r.listeners).toMatchObject([{ address: '::1', ip_version: 6, scope: 'loopback', api: true }]);
    expect(r.processes[0].env).toMatchObject({ readable: true, ollama_host: null });
  });
});
