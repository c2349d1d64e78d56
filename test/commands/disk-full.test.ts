import { afterAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'oa-full-'));
let mounted = false;

afterAll(() => {
  if (mounted) execFileSync('umount', ['--lazy', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describeNeeding(['root', 'mount', 'umount'], 'disk full (a small tmpfs)', () => {
  it('an import that fills the disk exits 2 with one line and leaves earlier imports intact', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint]);
    mounted = true;
    const db = join(mountPoint, 'audit.db');
    const first = await runCli('import', fixture('vlan-qinq.pcap'), '--db', db);
    expect(first.code).toBe(0);
    // Leave ~24 KiB free: far less than the demo capture's flows, DNS and HTTP rows need.
    const fs = statfsSync(mountPoint);
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(Number(fs.bavail * fs.bsize) - 24 * 1024));
    const second = await runCli('import', fixture('demo/ollama-pull.pcapng'), '--db', db);
    expect(second.code).toBe(2);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(/disk full while writing .*audit\.db: free some space/);
    rmSync(join(mountPoint, 'filler'));
    const raw = new Database(db, { readonly: true });
    expect(raw.prepare('SELECT count(*) n FROM sessions').get()).toEqual({ n: 1 });
    expect(raw.prepare("SELECT source FROM sessions").get()).toEqual({ source: fixture('vlan-qinq.pcap') });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();
    // And the store still works once there is room again.
    expect((await runCli('import', fixture('demo/ollama-pull.pcapng'), '--db', db)).code).toBe(0);
  });
});
