import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveCaptureError, openLiveCapture } from '../../src/capture/live-capture.js';
import { describeNeeding } from '../helpers/needs.js';
import { LIVE_NEEDS } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function captureError(f: () => unknown): LiveCaptureError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LiveCaptureError);
    return e as LiveCaptureError;
  }
  throw new Error('expected a LiveCaptureError, nothing was thrown');
}

describeNeeding(LIVE_NEEDS, 'live capture errors (root)', () => {
  it('a bad filter quotes libpcap', () => {
    const e = captureError(() => openLiveCapture({ interfaces: ['lo'], filter: 'udp and (' }));
    expect(e.message).toBe(`bad capture filter "udp and (": can't parse filter expression: syntax error`);
  });

  it('no such device lists the devices there are', () => {
    const e = captureError(() => openLiveCapture({ interfaces: ['lo', 'oalv-nosuch0'] }));
    expect(e.message).toMatch(/^no such capture device "oalv-nosuch0"; available: .*\blo\b/);
    expect(e.message).toContain('any');
    expect(e.message).not.toContain('\n');
  });
});

/**
 * The compiled live-capture modules in a temp directory anyone can read, for child processes
 * (an unprivileged user, a tree without `cap`). `withCap` links our node_modules/cap beside them.
 */
function compileTo(dir: string, withCap: boolean): void {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, join(root, 'src/capture/live-capture.ts'), '--outDir', dir, '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', '--strict',
    '--rootDir', join(root, 'src')], { cwd: root });
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'try-open.mjs'), [
    "import { openLiveCapture } from './capture/live-capture.js';",
    "try { const c = openLiveCapture({ interfaces: ['lo'] }); c.stop(); console.log(JSON.stringify({ ok: true })); }",
    'catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }',
    'process.exit(0);',
  ].join('\n'));
  writeFileSync(join(dir, 'try-stats.mjs'), [
    "import { openLiveCapture } from './capture/live-capture.js';",
    "const c = openLiveCapture({ interfaces: ['lo'] }); await c.stop(); console.log(JSON.stringify(c.stats().interfaces[0]));",
    'process.exit(0);',
  ].join('\n'));
  if (withCap) {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(root, 'node_modules/cap'), join(dir, 'node_modules/cap'));
  }
}

describe('live capture errors (child processes)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oalv-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'with-cap'));
    mkdirSync(join(dir, 'without-cap'));
    compileTo(join(dir, 'with-cap'), true);
    compileTo(join(dir, 'without-cap'), false);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(sub: string, unprivileged: boolean, script = 'try-open.mjs'): Record<string, unknown> {
    const cmd = unprivileged ? 'setpriv' : process.execPath;
    const args = unprivileged
      ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script]
      : [script];
    const r = spawnSync(cmd, args, { cwd: join(dir, sub), encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  }

  it('without cap: says to install libpcap-dev and rebuild cap', () => {
    const out = run('without-cap', false);
    expect(out.name).toBe('LiveCaptureError');
    expect(out.message as string).toMatch(/^live capture needs libpcap: apt-get install -y libpcap-dev, then npm rebuild cap \(or reinstall\) \(cannot load cap: /);
  });

  describeNeeding(LIVE_NEEDS, 'root, addon absent', () => {
    it('without the packet-stats addon: captures, drops unknown and says why', () => {
      const out = run('with-cap', false, 'try-stats.mjs');
      expect(out).toMatchObject({ name: 'lo', kernelPackets: null, kernelDrops: null });
      expect(out.note).toBe('kernel drops unknown: the packet-stats addon is not built (npm run build:native)');
    });
  });

  describeNeeding([...LIVE_NEEDS, 'setpriv'], 'unprivileged (root switches to nobody)', () => {
    it('without CAP_NET_RAW: says to run as root or setcap the node binary', () => {
      const out = run('with-cap', true);
      expect(out.name).toBe('LiveCaptureError');
      expect(out.message).toContain('cannot capture on lo: no permission (libpcap: socket: Operation not permitted)');
      expect(out.message).toContain('run as root, or: sudo setcap cap_net_raw+eip "$(readlink -f "$(which node)")"');
      expect(out.message).not.toContain('cap_net_admin');
      expect(out.message).not.toContain('\n');
    });
  });
});
