/**
 * How vitest.config.ts groups the test files (as `vitest list` reports them, so the globs are
 * checked, not restated): timing-sensitive files in `timing`, files that share lo or namespaces in
 * `host`, each file in exactly one group, and the groups run one after the other with one file
 * at a time in `host` and `timing`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import config from '../../vitest.config.js';

const REPO = join(import.meta.dirname, '../..');

interface Project { test: { name: string; pool?: string; poolOptions?: { forks?: { singleFork?: boolean } }; sequence?: { groupOrder?: number } } }

it('timing-sensitive files run alone after everything else; host-state files one at a time, in between', () => {
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules/vitest/vitest.mjs'), 'list', '--filesOnly'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const groups = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\[(\w+)\] (\S+)$/.exec(line.trim());
    if (m) groups.set(m[2], [...(groups.get(m[2]) ?? []), m[1]]);
  }
  expect([...groups].filter(([, g]) => g.length !== 1)).toEqual([]);
  const group = (f: string) => groups.get(f)?.[0];
  for (const f of ['test/live/timestamps.test.ts', 'test/live/kernel-drops.test.ts', 'test/live/loopback.test.ts', 'test/live/two-interfaces.test.ts',
    'test/attribution/procfs-short-lived.test.ts', 'test/live/e2e/daemon.test.ts', 'test/live/verify/verify.test.ts', 'test/flows/no-alloc.test.ts']) {
    expect(group(f), f).toBe('timing');
  }
  for (const f of ['test/flows/loopback-capture.test.ts', 'test/exposure/exposure-netns.test.ts', 'test/exposure/exposure-nginx.test.ts',
    'test/attribution/procfs-netns.test.ts', 'test/report/api-body.test.ts', 'test/capture/tshark.test.ts']) {
    expect(group(f), f).toBe('host');
  }

  const projects = Object.fromEntries((config.test?.projects as Project[]).map((p) => [p.test.name, p.test]));
  for (const one of [projects.host, projects.timing]) {
    expect(one.pool).toBe('forks');
    expect(one.poolOptions?.forks?.singleFork).toBe(true);
  }
  const order = (n: string) => projects[n].sequence?.groupOrder ?? 0;
  expect(order('unit')).toBeLessThan(order('host'));
  expect(order('host')).toBeLessThan(order('timing'));
}, 120_000);
