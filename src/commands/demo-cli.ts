import type { Command } from 'commander';
import { dbOption, examples } from './cli-options.js';

/**
 * Registers `demo`. Each command added after the first ones registers itself from a small module like
 * this one (cli.ts only calls it), so cli.ts stays one short list.
 */
export function addDemoCommand(program: Command, setCode: (code: number) => void): void {
  program.command('demo')
    .description('run the whole pipeline on the bundled capture of a real (simulated) model pull: flows, claims verdicts, and a report with --report; needs no privileges')
    .addOption(dbOption('a temporary store deleted at exit'))
    .option('--report <dir>', 'also write a report folder (report.md/html/json, evidence.pcapng, manifest.json)')
    .option('--json', 'print the demo summary, flows and claim verdicts as JSON')
    .option('--watch', 'show the imported capture in the `watch` dashboard (q quits; lines when not a terminal)')
    .addHelpText('after', examples('ollama-audit demo', 'ollama-audit demo --db demo.db --report ./demo-report', 'ollama-audit demo --watch'))
    .action(async (opts) => { setCode(await (await import('./demo-command.js')).runDemo(opts)); });
}
