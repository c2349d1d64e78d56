import { Option, type Command } from 'commander';
import { addDaemonOptions, examples } from './cli-options.js';
import { DEFAULTS, INIT_SYSTEMS, defaultInit } from '../settings.js';

/** Options every `service` subcommand shares: which init system, and where its service files are. */
function targetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--init <system>', 'init system to install for').choices(INIT_SYSTEMS).default(defaultInit(), `${defaultInit()} here`))
    .option('--unit-dir <dir>', `folder of the service file (default: ${DEFAULTS.unitDir.systemd} for systemd, ${DEFAULTS.unitDir.launchd} for launchd)`);
}

/** Registers `service install|status|uninstall`: the daemon as a systemd unit or a macOS LaunchDaemon. */
export function addServiceCommand(program: Command, setCode: (code: number) => void): void {
  const service = program.command('service')
    .description('run the daemon at boot as a system service (systemd on Linux, launchd on macOS), least privilege (README: "Service")')
    .addHelpText('after', examples('sudo ollama-audit service install', 'sudo ollama-audit service status', 'sudo ollama-audit service uninstall'));
  targetOptions(addDaemonOptions(service.command('install')
    .description('write the service file, enable and start it (root); the daemon\'s options are kept in the service\'s command line'), `systemd: ${DEFAULTS.serviceDb.systemd} (the store must be in that folder, the service's state folder); launchd: ${DEFAULTS.serviceDb.launchd}`))
    .option('--dry-run', 'print the service file it would write; touch nothing (no root needed)')
    .option('--force', 'replace an installed service file (the store is kept) and restart the service')
    .addHelpText('after', `
Attribution (systemd): without --attribution the unit is procfs-only and runs as the unprivileged
user ollama-audit with CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE (systemd-analyze security: 2.3 OK);
connections gone before /proc is read stay unnamed (coverage says so). --attribution ebpf adds kernel
socket events, which name even connections of a few ms; bpftrace 0.17 runs only as uid 0, so that unit
runs as root bounded to those three plus CAP_BPF CAP_PERFMON, with bpf(2) and perf_event_open(2)
allowed (2.9 OK). Install says which and why. README: "Service".`)
    .addHelpText('after', examples('sudo ollama-audit service install', 'sudo ollama-audit service install --force --attribution ebpf', 'sudo ollama-audit service install --metrics 9464 --retain 30d', 'ollama-audit service install --dry-run'))
    .action(async (opts, cmd: Command) => {
      setCode(await (await import('./service-command.js')).runServiceInstall(opts, cmd.getOptionValueSource('attribution') !== 'default'));
    });
  targetOptions(service.command('status')
    .description('running?, pid, since; the store\'s size and last write; the newest session\'s packets, kernel drops, loss, store gaps and findings. Exit 0 healthy, 1 a problem (not running, a store gap, no recent write), 2 not installed'))
    .addHelpText('after', examples('sudo ollama-audit service status'))
    .action(async (opts) => { setCode(await (await import('./service-command.js')).runServiceStatus(opts)); });
  targetOptions(service.command('uninstall')
    .description('stop the service and remove its service file (root); the store is kept unless --purge'))
    .option('--purge', 'also delete the store and its evidence folder')
    .addHelpText('after', examples('sudo ollama-audit service uninstall', 'sudo ollama-audit service uninstall --purge'))
    .action(async (opts) => { setCode(await (await import('./service-command.js')).runServiceUninstall(opts)); });
}
