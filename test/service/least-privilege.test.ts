/**
 * The procfs unit's capabilities (`service install --attribution procfs`, or without bpftrace) are
 * enough, and each is needed (the kernel-events unit: kernel-events-rights.test.ts): three daemons capture the same traffic
 * at once in the test internet's host namespace (test/live/e2e/netns.ts, namespaces oasvp-*):
 * one as root, one started by `setpriv` as an unprivileged user with exactly the unit's
 * capabilities (inheritable + ambient + bounding set, no_new_privs, like systemd's
 * AmbientCapabilities=/CapabilityBoundingSet=/NoNewPrivileges=), and one with CAP_NET_RAW only.
 * The traffic: real curl, run as a third user, fetching from the namespace's web server, and the
 * fake `ollama` (root) pulling a model. Expected: the unit's daemon stores exactly root's flows
 * with exactly root's processes, and names curl's pid (from the harness) on curl's connections;
 * with CAP_NET_RAW alone it still captures every flow but cannot name the other user's curl
 * (its /proc/<pid>/fd is closed to it), which is why the unit has the two other capabilities.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { unitRights } from '../../src/service/systemd-unit.js';
import {
  ADDR, DAEMON_START, INTERNET_NEEDS, REPO, buildInternet, inHost, pullViaApi, teardownInternet, type Internet, type Kid,
} from '../live/e2e/netns.js';

const PREFIX = 'oasvp-';
const DAEMON_UID = 61100;
const CURL_UID = 61101;
const CURLS = 5;
const NEEDS = [...INTERNET_NEEDS, 'cap', 'dist', 'curl', 'setpriv'];

interface FlowRow { proto: number; a: string; ap: number; b: string; bp: number; pid: number | null; exe: string | null }

let dir: string;
let net: Internet;
const daemons: Record<'root' | 'unit' | 'rawOnly', { kid: Kid; db: string }> = {} as never;
const curls: { pid: number; localPort: number }[] = [];

/** setpriv's capability list: "-all,+net_raw,..." from CAP_NET_RAW... */
const capList = (caps: readonly string[]) => ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');

function startAs(uid: number | null, caps: readonly string[], db: string, options: string[] = []): Kid {
  const daemon = [process.execPath, join(REPO, 'bin/ollama-audit.js'), 'daemon', '--db', db, '--evidence', 'none', ...options];
  if (uid === null) return inHost(net, daemon[0], daemon.slice(1));
  const list = capList(caps);
  return inHost(net, 'setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs',
    '--inh-caps', list, '--ambient-caps', list, '--bounding-set', list, ...daemon]);
}

/** A private store folder owned by `uid` (the daemon refuses folders others can write). */
function storeFolder(name: string, uid: number): string {
  const d = join(dir, name);
  mkdirSync(d, { mode: 0o700 });
  chownSync(d, uid, uid);
  return join(d, 'audit.db');
}

/**
 * The TCP and UDP flows a daemon stored: the traffic the test makes. The kernel's own ICMPv6
 * (multicast listener reports when an address comes up) falls before or after a daemon's start by
 * chance, and the daemons start one after the other.
 */
function flows(db: string): FlowRow[] {
  const h = new Database(db, { readonly: true });
  try {
    return h.prepare(`SELECT f.proto, f.initiator_addr a, f.initiator_port ap, f.responder_addr b, f.responder_port bp, p.pid, p.exe
      FROM flows f LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq WHERE f.proto IN (6, 17)
      ORDER BY f.first_seen, f.initiator_port`).all() as FlowRow[];
  } finally {
    h.close();
  }
}

const key = (f: FlowRow) => `${f.proto} ${f.a}:${f.ap} > ${f.b}:${f.bp}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeNeeding(NEEDS, 'the daemon with only the unit\'s capabilities, as an unprivileged user', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), PREFIX));
    chmodSync(dir, 0o755); // the unprivileged daemons must reach their folders inside
    // Connections and lookups that live a few hundred ms, like ones that cross the internet: every
    // daemon reads /proc on its own, so sockets briefer than a procfs pass could be missed by one only.
    net = await buildInternet(dir, { prefix: PREFIX, blobBytes: 1024 * 1024, dnsDelayMs: 150, webDelayMs: 300 });
    daemons.root = { db: join(dir, 'root.db'), kid: null as never };
    daemons.unit = { db: storeFolder('unit', DAEMON_UID), kid: null as never };
    daemons.rawOnly = { db: storeFolder('raw-only', DAEMON_UID), kid: null as never };
    daemons.root.kid = startAs(null, [], daemons.root.db);
    daemons.unit.kid = startAs(DAEMON_UID, unitRights('procfs').capabilities, daemons.unit.db, ['--attribution', 'procfs']);
    daemons.rawOnly.kid = startAs(DAEMON_UID, ['CAP_NET_RAW'], daemons.rawOnly.db);
    await Promise.all(Object.values(daemons).map((d) => d.kid.waitFor(DAEMON_START, 20_000)));
    // The kernel's view of the unit's daemon: the unprivileged user, exactly three effective capabilities.
    const status = readFileSync(`/proc/${daemons.unit.kid.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(DAEMON_UID));
    expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).toBe(((1n << 13n) | (1n << 2n) | (1n << 19n)).toString(16).padStart(16, '0')); // NET_RAW 13, DAC_READ_SEARCH 2, SYS_PTRACE 19
    expect(/^NoNewPrivs:\s+(\d)/m.exec(status)?.[1]).toBe('1');

    for (let i = 0; i < CURLS; i++) {
      const curl = inHost(net, 'setpriv', ['--reuid', String(CURL_UID), '--regid', String(CURL_UID), '--clear-groups',
        'curl', '-sS', '-o', '/dev/null', '-w', 'local_port=%{local_port}\n', `http://${ADDR.web}/`]);
      const exit = await curl.exited;
      expect(exit.code, curl.stderr()).toBe(0);
      curls.push({ pid: curl.pid, localPort: Number(/local_port=(\d+)/.exec(curl.stdout())?.[1]) });
    }
    const pull = await pullViaApi(net, { model: 'tinyllama' });
    expect((await pull.done).output).toMatch(/"status":"success"/);
    await sleep(2500); // a second's write and then some
    for (const d of Object.values(daemons)) d.kid.proc.kill('SIGINT');
    const exits = await Promise.all(Object.values(daemons).map((d) => d.kid.exited));
    expect(exits.map((e) => e.code), Object.values(daemons).map((d) => d.kid.stderr()).join('\n')).toEqual([0, 0, 0]);
  }, 180_000);
  afterAll(() => {
    teardownInternet(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the unit\'s capabilities: the same flows with the same processes as root', () => {
    const root = flows(daemons.root.db);
    const unit = flows(daemons.unit.db);
    expect(root.length).toBeGreaterThanOrEqual(CURLS + 3);
    expect(unit.map(key).sort()).toEqual(root.map(key).sort());
    const owner = (rows: FlowRow[]) => Object.fromEntries(rows.map((f) => [key(f), `${f.pid} ${f.exe}`]));
    expect(owner(unit)).toEqual(owner(root));
    // Which process each curl connection belongs to, from curl itself (pid and local port), not from a daemon.
    for (const c of curls) {
      const f = unit.find((r) => r.proto === 6 && r.a === ADDR.host && r.ap === c.localPort && r.b === ADDR.web && r.bp === 80);
      expect(f, `curl pid ${c.pid} port ${c.localPort}`).toBeDefined();
      expect(f!.pid).toBe(c.pid);
      expect(f!.exe).toMatch(/\/curl$/);
    }
    // The root-owned fake ollama's flows too.
    expect(unit.filter((f) => f.b === ADDR.registry || f.b === ADDR.cdn).every((f) => f.pid === net.ollama.pid)).toBe(true);
  });

  it('CAP_NET_RAW alone captures every flow but cannot name another user\'s process', () => {
    const root = flows(daemons.root.db);
    const rawOnly = flows(daemons.rawOnly.db);
    expect(rawOnly.map(key).sort()).toEqual(root.map(key).sort());
    for (const c of curls) {
      const f = rawOnly.find((r) => r.proto === 6 && r.ap === c.localPort && r.b === ADDR.web);
      expect(f!.pid, `curl pid ${c.pid}`).toBeNull();
    }
  });
});
