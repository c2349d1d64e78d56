/**
 * The macOS LaunchDaemon of the daemon: a pure function of the daemon's settings, with the same
 * command line as the systemd unit (settingsToArgs). launchd has no capability sets: a
 * LaunchDaemon runs as root, which BPF capture on macOS needs (/dev/bpf* is root's).
 */
import { dirname } from 'node:path';
import { settingsToArgs, type DaemonSettings } from '../settings.js';
import type { UnitProgram } from './systemd-unit.js';

export const LAUNCHD_LABEL = 'com.ollama-audit.daemon';
export const PLIST_FILE = `${LAUNCHD_LABEL}.plist`;

/** Where the daemon's stdout/stderr go: beside its store (launchd appends; newsyslog can rotate them). */
export function launchdLogPaths(settings: DaemonSettings): { out: string; err: string } {
  const dir = dirname(settings.db);
  return { out: `${dir}/ollama-audit.out.log`, err: `${dir}/ollama-audit.err.log` };
}

export function launchdPlist(settings: DaemonSettings, program: UnitProgram): string {
  const args = [program.node, program.script, 'daemon', ...settingsToArgs(settings)];
  const logs = launchdLogPaths(settings);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>\n  <string>${xml(LAUNCHD_LABEL)}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args.map((a) => `    <string>${xml(a)}</string>`),
    '  </array>',
    '  <key>RunAtLoad</key>\n  <true/>',
    // Restarted after a crash, not after a clean exit (the daemon exits 0 on SIGTERM): like Restart=on-failure.
    '  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>',
    '  <key>ThrottleInterval</key>\n  <integer>5</integer>',
    `  <key>StandardOutPath</key>\n  <string>${xml(logs.out)}</string>`,
    `  <key>StandardErrorPath</key>\n  <string>${xml(logs.err)}</string>`,
    '  <key>Umask</key>\n  <integer>63</integer>',
    '  <key>ProcessType</key>\n  <string>Background</string>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
