import type { Command } from 'commander';
import { addDaemonOptions, examples, positiveInt } from './cli-options.js';

/** Registers `watch` (issue #11): the live terminal dashboard. Ink loads only when it draws. */
export function addWatchCommand(program: Command, setCode: (code: number) => void): void {
  addDaemonOptions(program.command('watch')
    .description('live terminal dashboard: is Ollama talking to anyone right now, to whom, why, and do the claims still hold. With --db it attaches read-only to a store (a running daemon\'s, or a finished session: no privileges); without, it captures in-process like `daemon` (root or CAP_NET_RAW)'))
    .option('--session <id>', 'with --db: browse this session (default: the newest, followed as a daemon starts new ones)', positiveInt)
    .option('--once', 'print one screen as text and exit')
    .option('--json', 'one JSON object per second (with --once: one) instead of drawing')
    .option('--out <dir>', 'where `e` (a flow\'s evidence pcapng) and `r` (a report folder) write (default: the working directory)')
    .addHelpText('after', `${examples('sudo ollama-audit watch', 'ollama-audit watch --db /var/lib/ollama-audit/audit.db', 'ollama-audit watch --db audit.db --session 3 --once')}

When stdout or stdin is not a terminal it prints one summary line per second (--json: one JSON object) instead of drawing.
Keys: q quit · ↑↓ j/k PgUp/PgDn g/G move · Enter/Esc detail · Tab or 1-6 views · / filter (host: proc: act: port:, ! negates) · s/S sort · Space pause · o freeze order · t rate/totals · n names/addresses · a all flows · h closed flows · e evidence pcapng · r report · ? all keys.
Exit 0; 2 without privileges and without --db (the line says how to get either), on a store error, or with capture options and --db (the store's daemon has its own) or --metrics (daemon serves them).`)
    .action(async (opts, cmd: Command) => {
      // The capture options given on the command line (with --db they would be ignored: refused).
      const own = ['db', 'session', 'once', 'json', 'out'];
      const given = cmd.options.filter((o) => !own.includes(o.attributeName()) && cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long!);
      setCode(await (await import('./watch-command.js')).runWatch(opts, given));
    });
}
