import { Option, type Command } from 'commander';
import { dbOption, examples, positiveInt } from './cli-options.js';
import { parseSince } from './parse-units.js';
import { EXPORT_FORMATS } from '../settings.js';

/** Registers `export` (issue #12, events for log pipelines). */
export function addExportCommand(program: Command, setCode: (code: number) => void): void {
  program.command('export')
    .description('write the stored flows for a log pipeline: ECS NDJSON (with claim verdict changes), Zeek conn.log, or CSV; --follow streams new and updated flows as they are written')
    .addOption(dbOption())
    .addOption(new Option('--format <format>', 'ecs (Elastic Common Schema, one JSON document a line), zeek (conn.log TSV with its header), or csv (RFC 4180)')
      .choices(EXPORT_FORMATS).makeOptionMandatory())
    .option('--session <id>', 'only this session (default: every session, and with --follow every new one)', positiveInt)
    .option('--since <time>', 'only flows whose last packet is at or after this: RFC 3339 (2026-11-30T12:00:00Z) or a duration back from now (90m, 7d) (default: all)', (v) => parseSince(v))
    .option('--follow', 'keep running: write each flow again as it is added or grows (a live daemon, an import, a restarted daemon\'s new session) until SIGTERM/SIGINT, which flush and exit 0')
    .option('--cursor <file>', 'remember what was written in this file (replaced after each batch) and start after it next time: no row is written twice')
    .option('--out <file>', 'write into this new file (created 0600; an existing name or a link is refused) (default: standard output)')
    .addHelpText('after', `${examples('ollama-audit export --format zeek --session 3 --out conn.log',
      'ollama-audit export --format ecs --follow --cursor /var/lib/ollama-audit/export.cursor >> /var/log/ollama-audit/events.ndjson',
      'ollama-audit export --format csv --since 24h')}\n\nExit 0; 2 on a bad option value, an unknown session, or an output or cursor file it refuses. Fields and semantics: README, "Export for log pipelines".`)
    .action(async (opts) => { setCode(await (await import('./export-command.js')).runExportCommand(opts)); });
}
