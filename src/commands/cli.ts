import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createRequire } from 'node:module';
import { runImport } from './import-command.js';
import { runFlows } from './flows-command.js';
import { runDemo } from './demo-command.js';
import { EXIT_USAGE, isUserFacing } from './user-error.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Entry point used by bin/ollama-audit.js. Returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('ollama-audit')
    .description('Audit what Ollama (and everything else on this host) sends over the network.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const dbOption = () => new Option('--db <path>', 'SQLite store (default: $OLLAMA_AUDIT_DB or $XDG_DATA_HOME/ollama-audit/audit.db)');

  program.command('import')
    .description('read pcap/pcapng files into the store')
    .argument('<file...>', 'capture files (classic pcap or pcapng)')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of import summaries')
    .action(async (files: string[], opts) => { code = await runImport(files, opts); });

  program.command('flows')
    .description('show the flow table from the store')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of flows (stable field names, see README)')
    .option('--ollama', 'only flows that involve Ollama')
    .option('--activity <name>', 'only this activity (e.g. registry, blob-download, api; `api` also matches api:/api/pull)')
    .option('--session <id>', 'only flows of this import/capture session', positiveInt)
    .option('--limit <n>', 'at most n flows', positiveInt)
    .action((opts) => { code = runFlows(opts); });

  program.command('demo')
    .description('run the whole pipeline on the bundled capture of a real (simulated) model pull; needs no privileges')
    .addOption(dbOption().default(undefined, 'a temporary database'))
    .option('--json', 'print the demo flows as JSON')
    .action(async (opts) => { code = await runDemo(opts); });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isUserFacing(err)) {
      process.stderr.write(`ollama-audit: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  return code;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}
