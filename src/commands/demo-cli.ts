import { InvalidArgumentError, type Command } from 'commander';
import { dbOption, examples } from './cli-options.js';

/** --speed: a positive finite number (0.5 plays at half speed). */
function replaySpeed(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number (1: as captured, 10: ten times faster, 0.5: half speed)');
  return n;
}

/**
 * Registers `demo`. Each command added after the first ones registers itself from a small module like
 * this one (cli.ts only calls it), so cli.ts stays one short list.
 */
export function addDemoCommand(program: Command, setCode: (code: number) => void): void {
  program.command('demo')
    .description('run the whole pipeline on the bundled capture of a real (simulated) model pull: flows, claims verdicts, and a report with --report; needs no privileges')
    .addOption(dbOption('a temporary store deleted at exit'))
    .option('--report <dir>', 'also write a report folder (report.md/html/json, evidence.pcapng, manifest.json); not with --watch (press r there)')
    .option('--json', 'print the demo summary, flows and claim verdicts as JSON (with --watch: one JSON object per second)')
    .option('--watch', 'replay the bundled capture into the `watch` dashboard as a live capture, at its own pace (q quits; lines when not a terminal, ending with the replay)')
    .option('--speed <n>', 'with --watch: replay speed, a positive number (default 1: as captured; the capture lasts about 3 s)', replaySpeed)
    .addHelpText('after', examples('ollama-audit demo', 'ollama-audit demo --db demo.db --report ./demo-report', 'ollama-audit demo --watch', 'ollama-audit demo --watch --speed 0.25'))
    .action(async (opts) => { setCode(await (await import('./demo-command.js')).runDemo(opts)); });
}
