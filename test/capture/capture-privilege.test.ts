/**
 * Whether a capture may be opened, asked before `watch` starts one: root, CAP_NET_RAW on Linux, the
 * BPF devices on macOS (the access_bpf group). The Linux probe is checked for real by running it as
 * uid 65534 with and without CAP_NET_RAW (setpriv's ambient capabilities); the macOS one through its
 * probe, since /dev/bpf* exists only there.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canCapture, type PrivilegeProbe } from '../../src/capture/os/capture-privilege.js';
import { itNeeding } from '../helpers/needs.js';

const ROOT = join(import.meta.dirname, '../..');

function probe(p: Partial<PrivilegeProbe>): PrivilegeProbe {
  return { uid: 1000, effectiveCaps: () => null, bpfAccessible: () => false, ...p };
}

describe('canCapture', () => {
  it('root may capture everywhere', () => {
    for (const os of ['linux', 'darwin', 'freebsd'] as const) expect(canCapture(os, probe({ uid: 0 }))).toBe(true);
  });

  it('Linux: CAP_NET_RAW (bit 13) in the effective set, and nothing else, lets a user capture', () => {
    expect(canCapture('linux', probe({ effectiveCaps: () => '0000000000002000' }))).toBe(true);
    // CAP_NET_ADMIN (bit 12) alone is not it; an empty set and no /proc are not either.
    expect(canCapture('linux', probe({ effectiveCaps: () => '0000000000001000' }))).toBe(false);
    expect(canCapture('linux', probe({ effectiveCaps: () => '0000000000000000' }))).toBe(false);
    expect(canCapture('linux', probe({}))).toBe(false);
  });

  it('macOS: a user who may open the BPF devices (the access_bpf group) may capture, without root', () => {
    expect(canCapture('darwin', probe({ bpfAccessible: () => true }))).toBe(true);
    expect(canCapture('darwin', probe({ bpfAccessible: () => false }))).toBe(false);
    // A CapEff line means nothing there.
    expect(canCapture('darwin', probe({ effectiveCaps: () => 'ffffffffffffffff' }))).toBe(false);
  });

  it('another OS: root only', () => {
    expect(canCapture('freebsd', probe({ effectiveCaps: () => '0000000000002000', bpfAccessible: () => true }))).toBe(false);
  });
});

function asNobody(extra: string[], args: string[]) {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...extra, 'env', 'HOME=/nonexistent', process.execPath, ...args], { encoding: 'utf8', cwd: '/' });
}

describe('this process, for real (uid 65534)', () => {
  const probeScript = `import(${JSON.stringify(join(ROOT, 'dist/capture/os/capture-privilege.js'))}).then((m) => console.log(m.canCapture()))`;

  itNeeding(['root', 'setpriv', 'dist'], 'without capabilities: no; with CAP_NET_RAW ambient: yes', () => {
    expect(asNobody([], ['-e', probeScript]).stdout.trim()).toBe('false');
    expect(asNobody(['--inh-caps=+net_raw', '--ambient-caps=+net_raw'], ['-e', probeScript]).stdout.trim()).toBe('true');
  });

  itNeeding(['root', 'setpriv', 'dist'], '`watch` without privileges and without --db: exit 2, one line saying how to get either', () => {
    const r = asNobody([], [join(ROOT, 'bin/ollama-audit.js'), 'watch']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/sudo ollama-audit watch/);
    expect(lines[0]).toMatch(/CAP_NET_RAW/);
    expect(lines[0]).toMatch(/access_bpf/);
    expect(lines[0]).toMatch(/--db /);
  });
});
