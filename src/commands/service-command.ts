/**
 * `service install|status|uninstall`: the logic is in src/service/; this file turns options into
 * its inputs, prints its lines and picks the exit code.
 */
import { bpftraceProgram, DEFAULTS, serviceSettingsFromOptions, type DaemonOptionValues, type InitSystem } from '../settings.js';
import { EXIT_FINDING, EXIT_OK } from '../errors.js';
import { visible } from '../text/visible.js';
import { serviceFile, thisProgram } from '../service/service-files.js';
import { checkServiceStore, installService, requireRoot, uninstallService, type Target } from '../service/install.js';
import { serviceStatus } from '../service/status.js';
import { attributionNote, defaultServiceAttribution } from '../service/systemd-unit.js';

interface TargetOptions {
  init: InitSystem;
  unitDir?: string;
}

const say = (line: string) => process.stdout.write(`${visible(line)}\n`);

function targetOf(o: TargetOptions): Target {
  return { init: o.init, unitDir: o.unitDir ?? DEFAULTS.unitDir[o.init] };
}

/** attributionGiven: --attribution was on the command line (else the service's default, decided here). */
export async function runServiceInstall(o: DaemonOptionValues & TargetOptions & { dryRun?: boolean; force?: boolean }, attributionGiven: boolean): Promise<number> {
  const target = targetOf(o);
  const given = serviceSettingsFromOptions(o, target.init);
  // systemd: without --attribution, the unprivileged procfs unit; the line printed says how to have kernel events.
  const chosen = !attributionGiven && target.init === 'systemd' ? defaultServiceAttribution(bpftraceProgram()) : null;
  const settings = chosen ? { ...given, attribution: chosen.mode } : given;
  checkServiceStore(settings, target.init);
  const file = serviceFile(target.init, target.unitDir, settings, thisProgram());
  if (o.dryRun) {
    process.stdout.write(file.text);
    return EXIT_OK;
  }
  requireRoot('install');
  for (const line of installService(file, o.force === true)) say(`ollama-audit: ${line}`);
  if (target.init === 'systemd') say(`ollama-audit: attribution: ${attributionNote(settings.attribution)}`);
  if (chosen) say(`ollama-audit: ${chosen.why}`);
  return EXIT_OK;
}

export async function runServiceUninstall(o: TargetOptions & { purge?: boolean }): Promise<number> {
  requireRoot('uninstall');
  for (const line of uninstallService(targetOf(o), o.purge === true)) say(`ollama-audit: ${line}`);
  return EXIT_OK;
}

export async function runServiceStatus(o: TargetOptions): Promise<number> {
  const report = serviceStatus(targetOf(o));
  for (const line of report.lines) say(line);
  say(report.problems.length === 0 ? 'health: ok' : `health: ${report.problems.length} problem${report.problems.length > 1 ? 's' : ''}`);
  for (const p of report.problems) say(`  - ${p}`);
  return report.problems.length === 0 ? EXIT_OK : EXIT_FINDING;
}
