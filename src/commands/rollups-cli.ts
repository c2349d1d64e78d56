import type { Command } from 'commander';
import { dbOption, examples } from './cli-options.js';

/** Registers `rollups`: per-day totals per destination that outlive --retain (src/store/read/rollups.ts). */
export function addRollupsCommand(program: Command, setCode: (code: number) => void): void {
  program.command('rollups')
    .description('per-day totals per destination, activity and process over everything the store ever held: flows --retain/--max-db deleted (kept as totals) and flows still stored')
    .addOption(dbOption())
    .option('--ollama', 'only Ollama\'s traffic')
    .option('--destination <name>', 'only this destination: a hostname (SNI, CONNECT, Host, DNS) or, for unnamed flows, an address')
    .option('--json', 'print one JSON array of rollups (fields in README)')
    .addHelpText('after', examples('ollama-audit rollups --ollama', 'ollama-audit rollups --ollama --destination registry.ollama.ai --json'))
    .action(async (opts) => { setCode(await (await import('./rollups-command.js')).runRollups(opts)); });
}
