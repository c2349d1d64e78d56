/**
 * The one place that decides whether a test that needs a privilege or a tool runs or skips.
 *
 * - `CI=true` (exactly; `.ci/run` exports it): a missing need fails the test file loudly.
 * - otherwise: the test skips, and its title carries a one-line reason.
 *
 * Needs: 'root' (uid 0: namespaces, live capture, tmpfs), 'cap' (the optional `cap` addon loads),
 * 'packet-stats' (our kernel-drop addon is built), 'dist' (the compiled CLI that bin/ollama-audit.js
 * loads, for tests that spawn it), 'v8-11' (Node 20's V8, for a test that reads V8's own compile
 * trace: other V8 versions compile in more tiers and decide differently), or any program name looked up on PATH
 * ('tshark', 'tcpdump', 'dig', 'ping', 'nginx', 'chromium', 'tmux', 'lsof', 'setpriv', ...).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export const CI = process.env.CI === 'true';

const requireHere = createRequire(import.meta.url);
const cache = new Map<string, boolean>();

function loads(mod: string): boolean {
  try {
    requireHere(mod);
    return true;
  } catch {
    return false;
  }
}

function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function met(need: string): boolean {
  let v = cache.get(need);
  if (v !== undefined) return v;
  if (need === 'root') v = process.getuid?.() === 0;
  else if (need === 'cap') v = loads('cap');
  else if (need === 'packet-stats') {
    v = existsSync(fileURLToPath(new URL('../../native/packet-stats/build/Release/packet_stats.node', import.meta.url)));
  } else if (need === 'dist') {
    v = existsSync(fileURLToPath(new URL('../../dist/commands/cli.js', import.meta.url)));
  } else if (need === 'v8-11') v = process.versions.v8.startsWith('11.');
  else v = onPath(need);
  cache.set(need, v);
  return v;
}

function describeNeed(need: string): string {
  if (need === 'root') return 'not root';
  if (need === 'cap') return 'the cap addon is not built (apt-get install libpcap-dev, then npm rebuild cap)';
  if (need === 'packet-stats') return 'the packet-stats addon is not built (npm run build:native)';
  if (need === 'dist') return 'dist/ is not built (npx tsc -p tsconfig.build.json)';
  if (need === 'v8-11') return `V8 ${process.versions.v8} is not Node 20's V8 11, whose compile trace the test reads`;
  return `${need} is not installed`;
}

/**
 * Why a test with these needs cannot run here (one line), or null when it can.
 * Under CI=true an unmet need throws instead: the file fails, it never skips.
 */
export function unmet(...needs: string[]): string | null {
  const missing = needs.filter((n) => !met(n));
  if (missing.length === 0) return null;
  const why = missing.map(describeNeed).join('; ');
  if (CI) throw new Error(`CI=true requires this test to run, but: ${why}`);
  return why;
}

/** `describe` that runs when every need is met, else skips with the reason in its title. */
export function describeNeeding(needs: string[], title: string, fn: () => void): void {
  const why = unmet(...needs);
  describe.skipIf(why !== null)(why === null ? title : `${title} (skipped: ${why})`, fn);
}

/** `it` likewise, for a single test in a file whose other tests need nothing. */
export function itNeeding(needs: string[], title: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const why = unmet(...needs);
  it.skipIf(why !== null)(why === null ? title : `${title} (skipped: ${why})`, fn, timeout);
}
