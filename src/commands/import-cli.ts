import type { Command } from 'commander';
import { dbOption, examples, maxFlowsOption } from './cli-options.js';

/** Registers `import` (its code loads when it runs, as every command's). */
export function addImportCommand(program: Command, setCode: (code: number) => void): void {
  program.command('import')
    .description('read pcap/pcapng files into the store')
    .argument('<file...>', 'capture files (classic pcap or pcapng; processes are read from ptcpdump comments and from macOS tcpdump -k process blocks)')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of import summaries')
    .option('--again', 'import a file even if the store already holds one with the same bytes (SHA-256); without it such a file is refused, exit 2')
    .addOption(maxFlowsOption())
    .addHelpText('after', examples('ollama-audit import capture.pcapng', 'ollama-audit import --db audit.db a.pcap b.pcapng --json'))
    .action(async (files: string[], opts) => { setCode(await (await import('./import-command.js')).runImport(files, opts)); });
}
