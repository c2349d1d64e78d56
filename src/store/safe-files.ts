/**
 * Every file and folder ollama-audit writes goes through here. The daemon runs as root on hosts
 * where other users are the adversary: a link or a file planted in a folder they can write must
 * never make root overwrite, create or chmod something elsewhere, and a store or evidence another
 * user made beforehand must not be used (they could read every hostname captured).
 *
 * Rules:
 * - a folder written into is a real folder (not a link), not writable by group or others, and owned
 *   by this user or by root; its parent likewise (whoever may rename the folder could swap it for a
 *   link). `--force-unsafe-dir` (allowUnsafeDirs) lifts the owner and mode rules, never the link rule.
 * - a new file is created with O_CREAT|O_EXCL|O_NOFOLLOW: an existing name (a planted file or a
 *   link, even a dangling one) is refused, never followed or truncated;
 * - an existing file reused (the SQLite store and its -wal/-shm) is a regular file of this user's,
 *   not a link, not writable by group or others.
 * Node has no openat(), so a folder cannot be held open and worked in relative to; the folder and
 * parent checks stand in for it (grep for `safe-files` to find every writer).
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { StoreError } from './store-error.js';

/** A path ollama-audit refuses to write; the CLI prints the message as one line and exits 2. */
export class UnsafePathError extends StoreError {
  constructor(path: string, why: string) {
    super(`${path} ${why}`);
    this.name = 'UnsafePathError';
  }
}

let unsafeDirsAllowed = false;

/** `--force-unsafe-dir`: write into folders of other users or writable by others (links still refused). */
export function allowUnsafeDirs(allowed: boolean): void {
  unsafeDirsAllowed = allowed;
}

const FORCE = 'choose a private folder of your own, or pass --force-unsafe-dir if you trust it';
const euid = (): number | null => process.geteuid?.() ?? null;
const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

function lstatOrNull(path: string): fs.Stats | null {
  try {
    return fs.lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Why this user must not trust a folder it writes into (or whose entries it relies on), or null. */
function folderProblem(st: fs.Stats, sticky: 'ok' | 'not-enough'): string | null {
  if (unsafeDirsAllowed) return null;
  const me = euid();
  if (me !== null && st.uid !== me && st.uid !== 0) return `belongs to uid ${st.uid}, not to this user: ${FORCE}`;
  const othersWrite = (st.mode & 0o022) !== 0;
  const isSticky = (st.mode & 0o1000) !== 0;
  if (othersWrite && !(isSticky && sticky === 'ok')) return `can be written by other users (mode ${octal(st.mode)}): ${FORCE}`;
  return null;
}

/**
 * Makes `dir` (0700, missing parents too) or checks an existing one, by the folder rules above.
 * A sticky, world-writable parent (/tmp) is fine: others cannot rename what is ours there.
 */
export function safeOutputDir(dir: string): void {
  const abs = resolve(dir);
  let st = lstatOrNull(abs);
  if (st === null) {
    makePrivateDir(abs);
    st = fs.lstatSync(abs);
  }
  if (st.isSymbolicLink()) throw new UnsafePathError(abs, 'is a symbolic link: give the real folder it points to');
  if (!st.isDirectory()) throw new UnsafePathError(abs, 'exists and is not a folder');
  const own = folderProblem(st, 'not-enough');
  if (own !== null) throw new UnsafePathError(abs, own);
  const parent = dirname(abs);
  if (parent !== abs) {
    const p = fs.statSync(parent);
    const why = folderProblem(p, 'ok');
    if (why !== null) throw new UnsafePathError(parent, `(the parent of ${abs}) ${why}`);
  }
}

/**
 * Creates `dir` and any missing parents with mode 0700 (captures, evidence and reports are private).
 * Each level is made by hand: Node's recursive mkdirSync spins forever where mkdir answers ENOENT
 * for a parent that exists (seen under /proc in a gVisor sandbox); here such an error is thrown.
 */
export function makePrivateDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); lstatOrNull(d) === null; d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    fs.mkdirSync(d, { mode: 0o700 });
    fs.chmodSync(d, 0o700); // mkdir's mode is filtered by the umask
  }
}

/** Creates a new file for writing and returns its descriptor; an existing name is refused, never followed. */
export function createExclusive(path: string, mode = 0o600): number {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UnsafePathError(path, `already exists (${describeEntry(path)}): refusing to overwrite or follow it; remove it or choose another folder`);
    throw err;
  }
  fs.fchmodSync(fd, mode); // the umask filters open's mode
  return fd;
}

/** Writes a whole new file (createExclusive's rules). */
export function writeNewFile(path: string, data: string | Uint8Array, mode = 0o600): void {
  const fd = createExclusive(path, mode);
  try {
    fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces a small file of ours whole (export's cursor): the new text goes into a new file beside
 * it (createExclusive's rules), which is then renamed over it, so a crash leaves the old or the new
 * text, never half of one. The old file, when there is one, must pass checkOwnFile; rename replaces
 * a name, never writing through a link.
 */
export function replaceFile(path: string, data: string): void {
  checkOwnFile(path);
  const tmp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeNewFile(tmp, data);
  try {
    fs.renameSync(tmp, path);
  } catch (err) {
    removeIfPresent(tmp);
    throw err;
  }
}

/**
 * A new private folder beside `target` (`.NAME.partial-PID-RANDOM`, same file system), for output
 * that must appear whole or not at all: written there, then moved into place by rename. The
 * parent is made like safeOutputDir's missing parents and checked by the parent rule.
 */
export function makeStagingDir(target: string): string {
  const abs = resolve(target);
  const parent = dirname(abs);
  if (lstatOrNull(parent) === null) makePrivateDir(parent);
  const why = folderProblem(fs.statSync(parent), 'ok');
  if (why !== null) throw new UnsafePathError(parent, `(the parent of ${abs}) ${why}`);
  removeDeadStaging(parent, `.${basename(abs)}.partial-`);
  const dir = join(parent, `.${basename(abs)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { mode: 0o700 }); // fails on an existing name: never a planted folder or link
  fs.chmodSync(dir, 0o700);
  return dir;
}

/**
 * A process killed mid-write (out of memory, SIGKILL) cannot remove its staging folder: the next
 * run removes those of processes that no longer exist (our own folders only, never a link).
 */
function removeDeadStaging(parent: string, prefix: string): void {
  for (const name of fs.readdirSync(parent)) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : NaN;
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    const st = fs.lstatSync(join(parent, name));
    if (st.isDirectory() && st.uid === (euid() ?? st.uid)) removeStagingDir(join(parent, name));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes a staging folder of ours and everything in it (after a failure, or once emptied). */
export function removeStagingDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes a file of ours if present (a link is removed itself, never its target). */
export function removeIfPresent(path: string): void {
  fs.rmSync(path, { force: true });
}

/**
 * Checks a file that a library will open for writing by name (SQLite and its -wal/-shm): absent,
 * or a regular file of this user's, not a link, not writable by others. Returns whether it exists.
 */
export function checkOwnFile(path: string): boolean {
  const st = lstatOrNull(path);
  if (st === null) return false;
  if (st.isSymbolicLink()) throw new UnsafePathError(path, 'is a symbolic link: refusing to write through it; remove it or pass another path');
  if (!st.isFile()) throw new UnsafePathError(path, 'is not a regular file: pass the path of a file');
  const me = euid();
  if (me !== null && st.uid !== me) throw new UnsafePathError(path, `belongs to uid ${st.uid}, not to this user: another user made it, and could read or change what is stored; move it aside or pass another path`);
  if ((st.mode & 0o022) !== 0) throw new UnsafePathError(path, `can be written by other users (mode ${octal(st.mode)}): chmod 600 it, or pass another path`);
  return true;
}

function describeEntry(path: string): string {
  const st = lstatOrNull(path);
  if (st === null) return 'it vanished';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return `a ${st.isFile() ? 'file' : 'non-file'} of uid ${st.uid}`;
}
