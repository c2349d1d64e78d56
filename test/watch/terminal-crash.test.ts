/**
 * The dashboard's last-resort handler (src/watch/terminal.ts): whatever escapes, the screen is left.
 * A user-facing error (a store that went away, bad input) is one line and exit 2 as everywhere else;
 * anything else is a bug, reported with its stack and exit 70.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';

const dist = join(import.meta.dirname, '..', '..', 'dist');

function crashWith(thrown: string) {
  const script = `import { enterAlternateScreen } from ${JSON.stringify(join(dist, 'watch/terminal.js'))};
import { UserError } from ${JSON.stringify(join(dist, 'errors.js'))};
enterAlternateScreen(process.stdout, () => {});
setTimeout(() => { throw ${thrown}; }, 10);`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

describeNeeding(['dist'], 'watch: an error that escapes the dashboard', () => {
  it('a user-facing one: the screen is left, one line, exit 2', () => {
    const r = crashWith("new UserError('the store /x/audit.db went away')");
    expect(r.status).toBe(2);
    expect(r.stdout.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    expect(r.stderr).toBe('ollama-audit: the store /x/audit.db went away\n');
  });

  it('a bug: the screen is left, its stack, exit 70', () => {
    const r = crashWith("new TypeError('x is undefined')");
    expect(r.status).toBe(70);
    expect(r.stdout.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    expect(r.stderr).toMatch(/^ollama-audit watch: internal error: TypeError: x is undefined\n\s+at /);
  });
});
