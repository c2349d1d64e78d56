/**
 * Which init system, where its service file goes, and the file itself: the systemd unit on Linux,
 * the LaunchDaemon plist on macOS. Pure apart from thisProgram() (where node and our script are).
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { DaemonSettings, InitSystem } from '../settings.js';
import { UNIT_FILE, systemdUnit, type UnitProgram } from './systemd-unit.js';
import { LAUNCHD_LABEL, PLIST_FILE, launchdPlist } from './launchd-plist.js';

/** The running node and this package's bin/ollama-audit.js (two levels up from src/service or dist/service). */
export function thisProgram(): UnitProgram {
  return { node: process.execPath, script: fileURLToPath(new URL('../../bin/ollama-audit.js', import.meta.url)) };
}

export interface ServiceFile {
  init: InitSystem;
  path: string;
  text: string;
  /** What the init system calls the service (systemctl unit name, launchctl label). */
  name: string;
}

export function serviceFile(init: InitSystem, unitDir: string, settings: DaemonSettings, program: UnitProgram): ServiceFile {
  return init === 'systemd'
    ? { init, path: serviceFilePath(init, unitDir), text: systemdUnit(settings, program), name: serviceName(init) }
    : { init, path: serviceFilePath(init, unitDir), text: launchdPlist(settings, program), name: serviceName(init) };
}

/** What the init system calls the service: the unit's name, or the LaunchDaemon's label. */
export function serviceName(init: InitSystem): string {
  return init === 'systemd' ? UNIT_FILE : LAUNCHD_LABEL;
}

export function serviceFilePath(init: InitSystem, unitDir: string): string {
  return join(unitDir, init === 'systemd' ? UNIT_FILE : PLIST_FILE);
}


/**
 * The daemon's arguments read back from a service file we wrote: ExecStart= of the unit
 * (systemd's quoting undone), or the plist's ProgramArguments.
 */
export function installedArgs(init: InitSystem, text: string): string[] {
  if (init === 'launchd') {
    const array = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(text)?.[1] ?? '';
    return [...array.matchAll(/<string>([\s\S]*?)<\/string>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  }
  const line = /^ExecStart=(.*)$/m.exec(text)?.[1] ?? '';
  return systemdWords(line);
}

/** Splits an ExecStart= value as systemd does for the quoting systemdQuote writes. */
function systemdWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1') : m[2];
    words.push(raw.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

/** The value after `flag` in an argument list, if any. */
export function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
