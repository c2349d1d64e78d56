/**
 * Reads a user claims file (JSON or YAML, README "Claims files") into Claims. Every problem is one
 * line naming the file, the claim and the field, so a user can fix it without reading code.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Claim, ClaimMatch, ClaimWindow, Direction, Expectation } from '../knowledge/claims.js';
import { BUILTIN_CLAIMS } from '../knowledge/claims.js';
import { UserError } from '../errors.js';
import { parseCidr } from './cidr.js';
import { DEFAULTS } from '../settings.js';

const SCOPES = ['ollama', 'any', 'host'];
const DIRECTIONS: Direction[] = ['outbound', 'inbound', 'off-host', 'loopback', 'any'];
const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const HOST = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i;

/** Bounds on a claims file: see DEFAULTS.claimsFile. */
const CLAIMS_FILE_LIMITS = DEFAULTS.claimsFile;

type Obj = Record<string, unknown>;

class FieldError extends Error {}

/** Reads and validates a claims file; throws UserError with one line on any problem. */
export function readClaimsFile(path: string): Claim[] {
  const text = readBoundedText(path);
  let data: unknown;
  try {
    data = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: CLAIMS_FILE_LIMITS.aliases });
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new UserError(`${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML or JSON'}: ${msg}`);
  }
  return validateClaims(data, path);
}

/**
 * A regular file's text, at most CLAIMS_FILE_LIMITS.bytes. Opened non-blocking, so a FIFO given
 * by mistake (or by someone else) is refused instead of waiting forever for a writer.
 */
function readBoundedText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new UserError(`${path}: cannot read the claims file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${path}: the claims file is not a regular file: give the path of a YAML or JSON file`);
    const limit = CLAIMS_FILE_LIMITS.bytes;
    if (st.size > limit) throw new UserError(`${path}: the claims file is ${st.size} bytes, more than the ${limit} allowed: split it or remove claims`);
    const buf = Buffer.alloc(limit + 1);
    let got = 0;
    for (let n = 1; n > 0 && got <= limit; got += n) n = readSync(fd, buf, got, limit + 1 - got, null);
    if (got > limit) throw new UserError(`${path}: the claims file grew past ${limit} bytes while it was read`);
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}

/** Validates parsed data (`[claim...]` or `{claims: [claim...]}`) from `file`. */
export function validateClaims(data: unknown, file: string): Claim[] {
  const list = Array.isArray(data) ? data : isObj(data) && Array.isArray(data.claims) ? data.claims : null;
  if (list === null) throw new UserError(`${file}: expected a list of claims, or an object with a "claims" list`);
  if (list.length > CLAIMS_FILE_LIMITS.claims) {
    throw new UserError(`${file}: ${list.length} claims, more than the ${CLAIMS_FILE_LIMITS.claims} allowed in one file: split it`);
  }
  const seen = new Set(BUILTIN_CLAIMS.map((c) => c.id));
  const claims = list.map((raw, i) => {
    const label = isObj(raw) && typeof raw.id === 'string' ? `claim "${raw.id}"` : `claim #${i + 1}`;
    try {
      const claim = toClaim(raw);
      if (seen.has(claim.id)) throw new FieldError('field "id": already used by another claim (built-in or earlier in the file)');
      seen.add(claim.id);
      return claim;
    } catch (err) {
      if (err instanceof FieldError) throw new UserError(`${file}: ${label}: ${err.message}`);
      throw err;
    }
  });
  const patterns = claims.reduce((n, c) => n + patternCount(c.match) + patternCount(c.exercised_by), 0);
  if (patterns > CLAIMS_FILE_LIMITS.patterns) {
    throw new UserError(`${file}: ${patterns} match entries in all, more than the ${CLAIMS_FILE_LIMITS.patterns} allowed (each is tried against every flow): use CIDR ranges or *.suffix patterns`);
  }
  return claims;
}

/** How many names, addresses, ports and activities a match tries per flow, `not` included. */
function patternCount(m: ClaimMatch | undefined): number {
  if (m === undefined) return 0;
  return (m.activity?.length ?? 0) + (m.hostname?.length ?? 0) + (m.address?.length ?? 0) + (m.port?.length ?? 0) + patternCount(m.not);
}

function toClaim(raw: unknown): Claim {
  if (!isObj(raw)) throw new FieldError('expected an object');
  known(raw, ['id', 'title', 'source', 'supported', 'scope', 'match', 'expect', 'window', 'during', 'exercised_by', 'claimed', 'note'], '');
  const id = str(raw, 'id');
  if (!ID.test(id)) throw new FieldError('field "id": use lower-case kebab-case (letters, digits, single dashes)');
  const scope = str(raw, 'scope');
  if (!SCOPES.includes(scope)) throw new FieldError(`field "scope": expected one of ${SCOPES.join(', ')}`);
  const claim: Claim = {
    id,
    title: str(raw, 'title'),
    source: raw.source === undefined ? '[user] claims file' : str(raw, 'source'),
    supported: raw.supported === undefined ? true : bool(raw, 'supported', ''),
    scope: scope as Claim['scope'],
    match: raw.match === undefined ? {} : toMatch(raw.match, 'match', 0),
    expect: toExpect(raw.expect),
  };
  if (raw.window !== undefined) claim.window = toWindow(raw.window);
  if (raw.during !== undefined) claim.during = strList(raw.during, 'during');
  if (raw.exercised_by !== undefined) claim.exercised_by = toMatch(raw.exercised_by, 'exercised_by', 0);
  if (raw.claimed !== undefined) claim.claimed = str(raw, 'claimed');
  if (raw.note !== undefined) claim.note = str(raw, 'note');
  if (typeof claim.expect === 'object' && 'at_most' in claim.expect && claim.window?.seconds === undefined) {
    throw new FieldError('field "window.seconds": required with "expect: {at_most: N}"');
  }
  return claim;
}

function toMatch(v: unknown, at: string, depth: number): ClaimMatch {
  if (!isObj(v)) throw new FieldError(`field "${at}": expected an object`);
  if (depth > CLAIMS_FILE_LIMITS.notDepth) throw new FieldError(`field "${at}": "not" nested more than ${CLAIMS_FILE_LIMITS.notDepth} deep`);
  known(v, ['activity', 'hostname', 'address', 'port', 'direction', 'via_proxy', 'answered', 'min_duration_s', 'not'], `${at}.`);
  const m: ClaimMatch = {};
  if (v.activity !== undefined) m.activity = strList(v.activity, `${at}.activity`);
  if (v.hostname !== undefined) {
    m.hostname = strList(v.hostname, `${at}.hostname`);
    const bad = m.hostname.find((h) => !HOST.test(h));
    if (bad !== undefined) throw new FieldError(`field "${at}.hostname": "${bad}" is not a name or *.suffix pattern`);
  }
  if (v.address !== undefined) {
    m.address = strList(v.address, `${at}.address`);
    const bad = m.address.find((a) => parseCidr(a) === null);
    if (bad !== undefined) throw new FieldError(`field "${at}.address": "${bad}" is not an address or CIDR range`);
  }
  if (v.port !== undefined) m.port = portList(v.port, `${at}.port`);
  if (v.direction !== undefined) {
    if (typeof v.direction !== 'string' || !DIRECTIONS.includes(v.direction as Direction)) {
      throw new FieldError(`field "${at}.direction": expected one of ${DIRECTIONS.join(', ')}`);
    }
    m.direction = v.direction as Direction;
  }
  if (v.via_proxy !== undefined) m.via_proxy = bool(v, 'via_proxy', `${at}.`);
  if (v.answered !== undefined) m.answered = bool(v, 'answered', `${at}.`);
  if (v.min_duration_s !== undefined) m.min_duration_s = nonNegative(v.min_duration_s, `${at}.min_duration_s`);
  if (v.not !== undefined) m.not = toMatch(v.not, `${at}.not`, depth + 1);
  return m;
}

function toExpect(v: unknown): Expectation {
  if (v === 'never') return 'never';
  if (isObj(v) && v.only_during !== undefined && Object.keys(v).length === 1) {
    return { only_during: strList(v.only_during, 'expect.only_during') };
  }
  if (isObj(v) && v.at_most !== undefined && Object.keys(v).length === 1) {
    const n = v.at_most;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new FieldError('field "expect.at_most": expected a whole number >= 0');
    return { at_most: n };
  }
  throw new FieldError('field "expect": expected "never", {only_during: [activity...]} or {at_most: N}');
}

function toWindow(v: unknown): ClaimWindow {
  if (!isObj(v)) throw new FieldError('field "window": expected an object');
  known(v, ['seconds', 'min_capture_s'], 'window.');
  const w: ClaimWindow = {};
  if (v.seconds !== undefined) {
    w.seconds = nonNegative(v.seconds, 'window.seconds');
    if (w.seconds === 0) throw new FieldError('field "window.seconds": must be more than 0');
  }
  if (v.min_capture_s !== undefined) w.min_capture_s = nonNegative(v.min_capture_s, 'window.min_capture_s');
  return w;
}

function known(o: Obj, fields: string[], prefix: string): void {
  const extra = Object.keys(o).find((k) => !fields.includes(k));
  if (extra !== undefined) throw new FieldError(`field "${prefix}${extra}": unknown (expected ${fields.join(', ')})`);
}

function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.trim() === '') throw new FieldError(`field "${key}": expected a non-empty string`);
  return v;
}

function bool(o: Obj, key: string, prefix: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new FieldError(`field "${prefix}${key}": expected true or false`);
  return v;
}

function strList(v: unknown, at: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.trim() !== '')) {
    throw new FieldError(`field "${at}": expected a string or a non-empty list of strings`);
  }
  return boundedList(list as string[], at);
}

function portList(v: unknown, at: string): number[] {
  const list = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535)) {
    throw new FieldError(`field "${at}": expected a port number 0-65535 or a list of them`);
  }
  return boundedList(list as number[], at);
}

function boundedList<T>(list: T[], at: string): T[] {
  const max = CLAIMS_FILE_LIMITS.listItems;
  if (list.length > max) throw new FieldError(`field "${at}": ${list.length} entries, more than the ${max} allowed`);
  return list;
}

function nonNegative(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new FieldError(`field "${at}": expected a number >= 0`);
  return v;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
