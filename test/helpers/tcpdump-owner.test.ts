/**
 * As root, `tcpdump -w FILE` hands FILE to the `tcpdump` user after opening it; with `-w /dev/null`
 * that was /dev/null itself (issue #9 item 2). Every tcpdump that writes a file in the tests,
 * benchmarks and fixture scripts keeps root with `-Z root`. This scans their sources for a tcpdump
 * argument list with `-w` and no `-Z`.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name === 'node_modules' || e.name === 'out' ? [] : e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|mjs|js|sh)$/.test(e.name) ? [join(dir, e.name)] : []);
}

/**
 * Lines that start tcpdump writing a file: in code, the program name and '-w' as quoted
 * arguments of one call; in shell scripts, `tcpdump ... -w` as a command.
 */
export function tcpdumpWritersWithoutZ(text: string, shell: boolean): string[] {
  const writes = shell ? /(^|[\s;&|])tcpdump\s.*\s-w\s/ : /['"]tcpdump['"].*['"]-w['"]/;
  const keepsRoot = shell ? /\s-Z\s+root\b/ : /['"]-Z['"],\s*['"]root['"]/;
  return text.split('\n').filter((l) => writes.test(l) && !keepsRoot.test(l) && !/^\s*(\/\/|#|\*)/.test(l));
}

describe('tcpdump -w always runs with -Z root', () => {
  it('in tests, benchmarks and fixture scripts', () => {
    const offenders = ['test', 'bench', 'fixtures/make'].flatMap((d) => files(join(REPO, d)))
      .filter((f) => f !== import.meta.filename)
      .flatMap((f) => tcpdumpWritersWithoutZ(readFileSync(f, 'utf8'), f.endsWith('.sh')).map((l) => `${relative(REPO, f)}: ${l.trim()}`));
    expect(offenders).toEqual([]);
  });

  it('the scan catches a tcpdump -w without -Z', () => {
    expect(tcpdumpWritersWithoutZ("spawn('tcpdump', ['-i', 'lo', '-w', file])", false)).toHaveLength(1);
    expect(tcpdumpWritersWithoutZ("spawn('tcpdump', ['-Z', 'root', '-i', 'lo', '-w', file])", false)).toHaveLength(0);
    expect(tcpdumpWritersWithoutZ('ip netns exec $C tcpdump -i x -U -w "$W/a.pcap" &', true)).toHaveLength(1);
    expect(tcpdumpWritersWithoutZ('ip netns exec $C tcpdump -i x -Z root -U -w "$W/a.pcap" &', true)).toHaveLength(0);
  });
});
