/** A tmux server of a test's own (-L socket), its panes read as text: what the terminal tests drive. */
import { execFileSync } from 'node:child_process';

export interface Tmux {
  run(...args: string[]): string;
  /** The pane's text; -J: a wrapped line as one. */
  pane(target: string): string;
  /** Polls the pane until `test` passes; throws with what it showed after `ms`. */
  waitFor(target: string, test: (text: string) => boolean, what: string, ms?: number): Promise<string>;
  /** A detached session of x×y running `command`, then printing EXIT=<code> and staying open. */
  start(name: string, command: string, x: number, y: number): void;
}

export function tmuxServer(socket: string): Tmux {
  const run = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const pane = (t: string) => run('capture-pane', '-p', '-J', '-t', t);
  return {
    run,
    pane,
    async waitFor(t, test, what, ms = 20_000) {
      const end = Date.now() + ms;
      let text = '';
      while (Date.now() < end) {
        text = pane(t);
        if (test(text)) return text;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`waited ${ms} ms for ${what}; the pane shows:\n${text}`);
    },
    start(name, command, x, y) {
      run('new-session', '-d', '-s', name, '-x', String(x), '-y', String(y), `${command}; echo "EXIT=$?"; sleep 600`);
    },
  };
}
