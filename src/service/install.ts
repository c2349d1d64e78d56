/**
 * `service install` / `uninstall`: write or remove the service file and tell the init system
 * (systemctl daemon-reload, enable --now / disable --now; launchctl bootstrap / bootout). The
 * programs are found on PATH, so a test puts a stand-in first that records its calls.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { DEFAULTS, evidenceDirFor, type DaemonSettings, type InitSystem } from '../settings.js';
import { safeOutputDir, writeNewFile } from '../store/safe-files.js';
import { SERVICE_NAME, SYSUSERS_LINE } from './systemd-unit.js';
import { argValue, installedArgs, serviceFilePath, serviceName, type ServiceFile } from './service-files.js';

export interface Target {
  init: InitSystem;
  /** Folder of the service file (default DEFAULTS.unitDir[init]). */
  unitDir: string;
}

/** Runs an init-system program; a failure becomes one line naming the program and what it said. */
export function runTool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; status?: number };
    if (e.code === 'ENOENT') throw new UserError(`${cmd} not found on PATH: is ${cmd === 'launchctl' ? 'launchd' : 'systemd'} this machine's init system?`);
    const said = (e.stderr ?? '').trim().split('\n')[0] || `exit ${e.status}`;
    throw new UserError(`${cmd} ${args.join(' ')} failed: ${said}`);
  }
}

/** Installing and removing a system service is root's (uid 0), also where a stand-in init system is used. */
export function requireRoot(what: string): void {
  if (process.geteuid?.() !== 0) throw new UserError(`service ${what} needs root (it changes the system's services): run it with sudo`);
}

/**
 * The store of a systemd service lives in its state folder, which systemd creates and gives to
 * the service's user at every start; any other folder would not be writable by that user.
 */
export function checkServiceStore(settings: DaemonSettings, init: InitSystem): void {
  if (init !== 'systemd') return;
  const state = `${dirname(DEFAULTS.serviceDb.systemd)}/`;
  for (const [flag, path] of [['--db', settings.db], ['--evidence-dir', settings.evidenceDir]] as const) {
    if (!resolve(path).startsWith(state)) {
      throw new UserError(`${flag} ${path}: the service's store must be inside ${state} (the folder systemd makes for its user ${SERVICE_NAME}); leave ${flag} out or choose a path there`);
    }
  }
}

/** Writes the service file, creates the service user (systemd), enables and starts the service. Returns what it did, one line each. */
export function installService(file: ServiceFile, force: boolean): string[] {
  safeOutputDir(dirname(file.path));
  const replacing = existsSync(file.path);
  if (replacing && !force) throw new UserError(`${file.path} already exists (the service is installed): pass --force to replace it (its store is kept), or \`service uninstall\` first`);
  // The user first: if that fails, an installed unit is still there as it was.
  if (file.init === 'systemd') runTool('systemd-sysusers', ['--inline', SYSUSERS_LINE]);
  if (replacing) unlinkSync(file.path);
  if (file.init === 'systemd') {
    writeNewFile(file.path, file.text, 0o644);
    runTool('systemctl', ['daemon-reload']);
    runTool('systemctl', ['enable', '--now', file.name]);
    // --force on a running service: enable --now does not restart it, so the new unit would wait for the next boot.
    if (force) runTool('systemctl', ['restart', file.name]);
    return [`wrote ${file.path}`, `enabled and started ${file.name} (see: ollama-audit service status; journalctl -u ${file.name})`];
  }
  writeNewFile(file.path, file.text, 0o644);
  if (force) runTool('launchctl', ['bootout', `system/${file.name}`]);
  runTool('launchctl', ['bootstrap', 'system', file.path]);
  return [`wrote ${file.path}`, `loaded and started ${file.name} (see: ollama-audit service status)`];
}

/** Stops and removes the service; with purge also its store (database, WAL, evidence folder). */
export function uninstallService(target: Target, purge: boolean): string[] {
  const name = serviceName(target.init);
  const path = serviceFilePath(target.init, target.unitDir);
  if (!existsSync(path)) throw new UserError(`no service installed at ${path}: nothing to uninstall`);
  const args = installedArgs(target.init, readFileSync(path, 'utf8'));
  const done: string[] = [];
  if (target.init === 'systemd') {
    runTool('systemctl', ['disable', '--now', name]);
    unlinkSync(path);
    runTool('systemctl', ['daemon-reload']);
  } else {
    runTool('launchctl', ['bootout', `system/${name}`]);
    unlinkSync(path);
  }
  done.push(`stopped ${name} and removed ${path}`);
  const db = argValue(args, '--db');
  if (db === undefined) return [...done, 'the unit named no store: nothing else removed'];
  if (!purge) return [...done, `kept the store ${db} (\`service uninstall --purge\` removes it)`];
  const evidence = argValue(args, '--evidence-dir') ?? evidenceDirFor(db);
  for (const p of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) rmSync(p, { force: true });
  rmSync(evidence, { recursive: true, force: true });
  return [...done, `removed the store ${db} and its evidence ${evidence}`];
}
