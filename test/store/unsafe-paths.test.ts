/**
 * Files a root process must not be tricked into writing (issue #9 item 1). The attacker is uid
 * 65534: it owns folders and plants links and files there; ollama-audit runs as root. Every case
 * checks the outcome on disk (the link's target untouched, its mode unchanged, nothing created),
 * not only the exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';
import { createEvidenceWriter } from '../../src/store/evidence-writer.js';
import { allowUnsafeDirs } from '../../src/store/safe-files.js';
import { feeder, T0, tcpPacket } from '../evidence/helpers.js';
import { describeNeeding } from '../helpers/needs.js';

const ATTACKER = 65534;
let base: string;
let store: string;
let victim: string;

/** A folder owned by the attacker, as they would make it (0755, theirs). */
function attackerDir(name: string): string {
  const d = join(base, name);
  fs.mkdirSync(d, { mode: 0o755 });
  fs.chownSync(d, ATTACKER, ATTACKER);
  return d;
}

/** A link planted by the attacker (lchown: the link itself is theirs). */
function plantLink(target: string, at: string): void {
  fs.symlinkSync(target, at);
  fs.lchownSync(at, ATTACKER, ATTACKER);
}

const victimUntouched = () => {
  const st = fs.statSync(victim);
  expect(fs.readFileSync(victim, 'utf8')).toBe('root secret\n');
  expect(st.mode & 0o777).toBe(0o644);
  expect(st.uid).toBe(0);
};

function oneLine(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describeNeeding(['root'], 'files root must not be tricked into writing (attacker uid 65534)', () => {
  beforeAll(async () => {
    base = fs.mkdtempSync(join(tmpdir(), 'oa-unsafe-'));
    fs.chmodSync(base, 0o755); // the attacker must reach its folders inside
    const mine = join(base, 'root-only');
    fs.mkdirSync(mine, { mode: 0o700 });
    store = join(mine, 'audit.db');
    expect((await runCli('import', fixture('demo/ollama-pull.pcapng'), '--db', store)).code).toBe(0);
    victim = join(mine, 'victim.txt');
    fs.writeFileSync(victim, 'root secret\n', { mode: 0o644 });
    fs.chmodSync(victim, 0o644);
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('report --out into a folder of another user is refused; forced, a planted .partial link is removed, never followed', async () => {
    const out = attackerDir('report-out');
    plantLink(victim, join(out, 'evidence.pcapng.partial'));
    plantLink(victim, join(out, 'report.md'));
    oneLine(await runCli('report', '--db', store, '--out', out), new RegExp(`${out} belongs to uid ${ATTACKER}, not to this user: .*--force-unsafe-dir`));
    victimUntouched();
    const forced = await runCli('report', '--db', store, '--out', out, '--force-unsafe-dir');
    expect(forced.code, forced.stderr).not.toBe(2);
    victimUntouched();
    for (const name of ['report.md', 'report.html', 'report.json', 'manifest.json', 'evidence.pcapng']) {
      const st = fs.lstatSync(join(out, name));
      expect(st.isFile(), name).toBe(true);
      expect(st.mode & 0o777, name).toBe(0o600);
    }
    expect(fs.existsSync(join(out, 'evidence.pcapng.partial'))).toBe(false);
  });

  it('--db a dangling link: refused, even forced; its target is not created', async () => {
    const dir = attackerDir('db-link');
    const target = join(base, 'root-only', 'created-by-root.db');
    plantLink(target, join(dir, 'audit.db'));
    oneLine(await runCli('import', fixture('vlan-qinq.pcap'), '--db', join(dir, 'audit.db')), /belongs to uid 65534/);
    oneLine(await runCli('import', fixture('vlan-qinq.pcap'), '--db', join(dir, 'audit.db'), '--force-unsafe-dir'), /audit\.db is a symbolic link: refusing to write through it/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('a store another user made beforehand (0666, theirs) is refused, and stays as it was', async () => {
    const dir = join(base, 'root-only');
    const planted = join(dir, 'planted.db');
    fs.writeFileSync(planted, '');
    fs.chownSync(planted, ATTACKER, ATTACKER);
    fs.chmodSync(planted, 0o666);
    oneLine(await runCli('import', fixture('vlan-qinq.pcap'), '--db', planted), /planted\.db belongs to uid 65534, not to this user/);
    const st = fs.statSync(planted);
    expect([st.uid, st.mode & 0o777, st.size]).toEqual([ATTACKER, 0o666, 0]);
    // Ours but writable by others: refused too.
    const loose = join(dir, 'loose.db');
    fs.writeFileSync(loose, '');
    fs.chmodSync(loose, 0o666);
    oneLine(await runCli('import', fixture('vlan-qinq.pcap'), '--db', loose), /loose\.db can be written by other users \(mode 0666\)/);
  });

  it('a folder writable by others (even sticky, like a fresh tmpfs) is refused for the store', async () => {
    const dir = join(base, 'world');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o1777);
    oneLine(await runCli('import', fixture('vlan-qinq.pcap'), '--db', join(dir, 'a.db')), /can be written by other users \(mode 1777\)/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an evidence folder that is a link is refused, forced or not', () => {
    const real = join(base, 'root-only', 'real-evidence');
    fs.mkdirSync(real, { mode: 0o700 });
    const link = join(base, 'root-only', 'evidence-link');
    fs.symlinkSync(real, link);
    for (const forced of [false, true]) {
      allowUnsafeDirs(forced);
      try {
        expect(() => createEvidenceWriter({ dir: link, policy: 'full', session: 'x' })).toThrow(/evidence-link is a symbolic link/);
      } finally {
        allowUnsafeDirs(false);
      }
    }
    expect(fs.readdirSync(real)).toEqual([]);
  });

  it('a dangling link at the next segment name is passed over, never followed', () => {
    const dir = join(base, 'root-only', 'evidence');
    fs.mkdirSync(dir, { mode: 0o700 });
    const target = join(base, 'root-only', 'made-through-link');
    fs.symlinkSync(target, join(dir, 'evidence-s-000001.pcapng'));
    const w = createEvidenceWriter({ dir, policy: 'full', session: 's' });
    feeder(w).feed(tcpPacket({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 443 }, 'x', T0));
    w.close();
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.statSync(join(dir, 'evidence-s-000002.pcapng')).size).toBeGreaterThan(0);
  });
});
