/**
 * The live tests' little internet, in two network namespaces named after a prefix that each test
 * file chooses (the daemon's `oae2e-`, verify's `oavf-`), so that no two users share one (vitest's
 * timing group runs these files one at a time, but the bench and a developer's run may overlap). With prefix P:
 *
 *   P inet: lo holds DNS 203.0.113.53, registry.ollama.ai 203.0.113.10, its blob CDN 203.0.113.20,
 *           example.org 203.0.113.80 (plain HTTP), proxy.test 203.0.113.128:3128; veth Pi0
 *           198.51.100.1/24.
 *   P host: veth Ph0 198.51.100.10/24, route to 203.0.113.0/24 only (nothing else is reachable),
 *           resolv.conf (/etc/netns/Phost) -> 203.0.113.53; the fake `ollama` (a copy of node) on
 *           127.0.0.1:11434, the clients, and the program under test.
 *
 * buildInternet deletes these two namespaces first if a previous run left them; teardownInternet
 * deletes them. Other namespaces, even ones sharing the prefix (bench's oae2e-bench-*), are left alone.
 *
 * Servers and the fake ollama are the capture-fixture generator's (fixtures/make/servers/,
 * fixtures/make/host/fake-ollama.mjs), set up by environment variables: the registry and CDN serve a
 * multi-MB blob (the CDN paces it on request), DNS and example.org answer after a few milliseconds
 * like real servers some distance away (a veth answers in ~0.1 ms, and a connection that is over
 * before the first packet could be read is beyond any procfs observer), the fake ollama logs its
 * sockets and lookups and starts neither a runner nor the ollama.com call. ./servers/think.mjs, a
 * TCP service for short connections, is the tests' own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCli } from '../../helpers/run-cli.js';

export const REPO = resolve(import.meta.dirname, '../../..');
const FIXTURE_SERVERS = join(REPO, 'fixtures/make/servers');
const FAKE_OLLAMA = join(REPO, 'fixtures/make/host/fake-ollama.mjs');
const THINK = join(import.meta.dirname, 'servers/think.mjs');

/** The names of one internet: its namespaces and the two ends of the veth between them. */
export interface Names {
  prefix: string;
  hostNs: string;
  inetNs: string;
  hostVeth: string;
  inetVeth: string;
}

export function namesFor(prefix: string): Names {
  const names = { prefix, hostNs: `${prefix}host`, inetNs: `${prefix}inet`, hostVeth: `${prefix}h0`, inetVeth: `${prefix}i0` };
  if (!/^[a-z0-9-]+$/.test(prefix) || names.hostVeth.length > 15) throw new Error(`bad internet prefix ${JSON.stringify(prefix)}: [a-z0-9-], at most 13 characters`);
  return names;
}

export const ADDR = {
  host: '198.51.100.10', gw: '198.51.100.1', dns: '203.0.113.53', registry: '203.0.113.10',
  cdn: '203.0.113.20', web: '203.0.113.80', proxy: '203.0.113.128',
};
/** The short-connection service (servers/think.mjs) listens on ADDR.web at this port. */
export const THINK_PORT = 7000;
export const CDN_HOST = 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com';

/**
 * What buildInternet needs (for describeNeeding): root for namespaces, and the programs it runs
 * itself: ip, openssl (the test CA), ping (the route check). Files add what their tests run.
 */
export const INTERNET_NEEDS = ['root', 'ip', 'openssl', 'ping'];

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.stderr}`);
  return r.stdout;
}

const started = new Set<ChildProcess>();

export interface Kid {
  proc: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) and the time it happened (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the first stdout/stderr line matching re (rejects after timeoutMs or at exit). */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<string>;
}

/** Starts a process we own (killed in teardown by its pid). `ip netns exec` execs in place: its pid is the program's. */
export function startKid(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Kid {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  started.add(proc);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = (out + '\n' + err).split('\n').find((l) => w.re.test(l));
      if (line !== undefined) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  };
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); check(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); check(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) => {
    proc.once('exit', (code, signal) => { started.delete(proc); res({ code, signal, at: performance.now() }); });
  });
  return {
    proc, pid: proc.pid!, stdout: () => out, stderr: () => err, exited,
    waitFor: (re, timeoutMs = 15_000) => new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`timed out waiting for ${re} from ${cmd} ${args.join(' ')}\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
      const w = { re, resolve: (l: string) => { clearTimeout(timer); res(l); } };
      waiters.push(w);
      check();
      void exited.then(() => setTimeout(() => {
        if (waiters.includes(w)) { clearTimeout(timer); rej(new Error(`${cmd} ${args.join(' ')} exited before ${re}\nstdout: ${out}\nstderr: ${err}`)); }
      }, 50));
    }),
  };
}

/** Its stdout once it exited 0; else throws with its exit and stderr. */
export async function finished(k: Kid): Promise<string> {
  const e = await k.exited;
  if (e.code !== 0) throw new Error(`exit ${e.code ?? e.signal}: ${k.stderr()}`);
  return k.stdout();
}

/** Starts a program in the internet's host namespace. */
export function inHost(net: Pick<Names, 'hostNs'>, cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Kid {
  return startKid('ip', ['netns', 'exec', net.hostNs, cmd, ...args], env, cwd);
}

function killPid(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

/** Deletes the internet's two namespaces if they exist (ending the processes left in them, which only a run of these tests started). */
function cleanupNamespaces(names: Names): void {
  const ours = [names.hostNs, names.inetNs];
  const list = sh('ip', ['netns', 'list'], { allowFail: true }).split('\n').map((l) => l.split(' ')[0]).filter((n) => ours.includes(n));
  for (const ns of list) {
    const pids = sh('ip', ['netns', 'pids', ns], { allowFail: true }).split('\n').filter(Boolean).map(Number);
    for (const pid of pids) killPid(pid, 'SIGKILL');
    sh('ip', ['netns', 'del', ns], { allowFail: true });
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}

/** Kills (SIGKILL, by pid) every process this module started that is still running. */
export function killStarted(): void {
  for (const p of started) if (p.pid && p.exitCode === null && p.signalCode === null) killPid(p.pid, 'SIGKILL');
}

export interface Internet extends Names {
  dir: string;
  ca: string;
  ollamaExe: string;
  ollama: Kid;
  /** Pids of the fixture servers in the inet namespace (node; kernel socket events can name them as the far end). */
  serverPids: { dns: number; registry: number; cdn: number; web: number; proxy: number };
  /** JSON lines the fake ollama writes per outbound socket (connect, close) and per lookup (readSocketLog). */
  ollamaLog: string;
}

function makeCerts(dir: string, prefix: string): void {
  mkdirSync(dir, { recursive: true });
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', `/CN=ollama-audit test CA (${prefix})`, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')]);
  sh('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=registry.ollama.ai',
    '-keyout', join(dir, 'site.key'), '-out', join(dir, 'site.csr')]);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:registry.ollama.ai,DNS:${CDN_HOST},DNS:example.org,DNS:proxy.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  sh('openssl', ['x509', '-req', '-in', join(dir, 'site.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-CAcreateserial', '-days', '30', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'site.crt')]);
}

export interface InternetOptions {
  /** Names the namespaces `<prefix>host` and `<prefix>inet`, the veth `<prefix>h0` / `<prefix>i0` (namesFor). */
  prefix: string;
  /** Size of the model blob the registry serves (through the CDN). */
  blobBytes: number;
  /** The DNS server answers after this long (a resolver some ms away; a veth answers in ~0.1 ms). */
  dnsDelayMs: number;
  /** example.org answers after this long (default 0). */
  webDelayMs?: number;
  /** Also start the short-connection service (servers/think.mjs) on ADDR.web:THINK_PORT. */
  think?: boolean;
}

/** Builds both namespaces, starts the servers and the fake ollama. `dir` is a fresh temp folder. */
export async function buildInternet(dir: string, o: InternetOptions): Promise<Internet> {
  const names = namesFor(o.prefix);
  const { hostNs, inetNs, hostVeth, inetVeth } = names;
  cleanupNamespaces(names);
  const ipn = (...a: string[]) => sh('ip', a);
  ipn('netns', 'add', hostNs);
  ipn('netns', 'add', inetNs);
  for (const ns of [hostNs, inetNs]) {
    // No IPv6 router solicitations while a test listens to an "idle" host.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.router_solicitations=0', 'net.ipv6.conf.all.router_solicitations=0']);
    ipn('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ipn('link', 'add', hostVeth, 'netns', hostNs, 'type', 'veth', 'peer', 'name', inetVeth, 'netns', inetNs);
  ipn('-n', hostNs, 'link', 'set', hostVeth, 'up');
  ipn('-n', inetNs, 'link', 'set', inetVeth, 'up');
  ipn('-n', hostNs, 'addr', 'add', `${ADDR.host}/24`, 'dev', hostVeth);
  ipn('-n', inetNs, 'addr', 'add', `${ADDR.gw}/24`, 'dev', inetVeth);
  for (const a of [ADDR.dns, ADDR.registry, ADDR.cdn, ADDR.web, ADDR.proxy]) ipn('-n', inetNs, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  ipn('-n', hostNs, 'route', 'add', '203.0.113.0/24', 'via', ADDR.gw);
  for (const ns of [hostNs, inetNs]) {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${ADDR.dns}\noptions timeout:1 attempts:2\n`);
  }

  const certs = join(dir, 'certs');
  makeCerts(certs, o.prefix);
  // The fixture servers' settings (see each script's header); unset ones keep the fixtures' defaults.
  const env = {
    OAFX_CERTS: certs, OAFX_BLOB_BYTES: String(o.blobBytes), OAFX_DNS_DELAY_MS: String(o.dnsDelayMs), OAFX_WEB_DELAY_MS: String(o.webDelayMs ?? 0),
  };
  const inInet = (script: string, ...args: string[]) => startKid('ip', ['netns', 'exec', inetNs, process.execPath, script, ...args], env);
  const servers = [
    inInet(join(FIXTURE_SERVERS, 'dns.mjs'), ADDR.dns),
    inInet(join(FIXTURE_SERVERS, 'registry.mjs'), ADDR.registry),
    inInet(join(FIXTURE_SERVERS, 'cdn.mjs'), ADDR.cdn),
    inInet(join(FIXTURE_SERVERS, 'example-org.mjs'), ADDR.web),
    inInet(join(FIXTURE_SERVERS, 'proxy.mjs'), ADDR.proxy),
    ...(o.think ? [inInet(THINK, ADDR.web, String(THINK_PORT))] : []),
  ];
  await Promise.all(servers.map((s) => s.waitFor(/ready/)));
  // Neighbour cache warm, and the route works.
  sh('ip', ['netns', 'exec', hostNs, 'ping', '-c1', '-W2', ADDR.gw]);

  // The fake ollama: a copy of this node binary named `ollama`, started as `ollama serve` like the
  // real server (`serve` is a one-line CommonJS file beside it that imports the fixtures' fake-ollama.mjs).
  // No runner (OAFX_RUNNER_BIN unset) and no ollama.com call at start: the internet has no ollama.com.
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const ollamaExe = join(bin, 'ollama');
  copyFileSync(process.execPath, ollamaExe);
  writeFileSync(join(bin, 'serve'), `import(${JSON.stringify(FAKE_OLLAMA)});\n`);
  const ollamaLog = join(dir, 'ollama-sockets.jsonl');
  const ca = join(certs, 'ca.crt');
  const ollama = inHost(names, ollamaExe, ['serve'], { OAFX_CA: ca, OAFX_SOCKET_LOG: ollamaLog, OAFX_RECOMMENDATIONS: '0' }, bin);
  await ollama.waitFor(/ollama ready/);
  const [dns, registry, cdn, web, proxy] = servers.map((k) => k.pid);
  return { ...names, dir, ca, ollamaExe, ollama, ollamaLog, serverPids: { dns, registry, cdn, web, proxy } };
}

/** Kills (SIGKILL, by pid) what this module started, then deletes the internet of `prefix` (safe after a failed build). */
export function teardownInternet(prefix: string): void {
  killStarted();
  cleanupNamespaces(namesFor(prefix));
}

export interface SocketLogEntry {
  pid: number; t: number; event: string; purpose?: string;
  localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number;
  hostname?: string; size?: number; received?: number;
}

export function readSocketLog(file: string): SocketLogEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SocketLogEntry);
}

/** Asks the fake ollama for a pull (from curl in the host namespace); resolves with curl's pid and local port. */
export async function pullViaApi(net: Names, body: object): Promise<{ curl: Kid; done: Promise<{ pid: number; localPort: number; output: string }> }> {
  const curl = inHost(net, 'curl', ['-sS', '-N', '-X', 'POST', '-d', JSON.stringify(body), '-w', '\nlocal_port=%{local_port}\n', 'http://127.0.0.1:11434/api/pull']);
  const done = curl.exited.then((e) => {
    if (e.code !== 0) throw new Error(`curl /api/pull: ${e.code ?? e.signal} ${curl.stderr()}`);
    const m = /local_port=(\d+)/.exec(curl.stdout());
    return { pid: curl.pid, localPort: Number(m?.[1]), output: curl.stdout() };
  });
  return { curl, done };
}

export const DAEMON_START = /capturing on/;

/**
 * Runs `during` with `ollama-audit daemon` capturing in the host namespace, then stops it with
 * SIGINT and requires exit 0; a daemon still running after a failure on the way is killed.
 */
export async function daemonThrough(net: Names, args: string[], during: () => Promise<void>): Promise<void> {
  const daemon = await startDaemon(net, args);
  try {
    await during();
    daemon.proc.kill('SIGINT');
    const e = await daemon.exited;
    if (e.code !== 0) throw new Error(`daemon exit ${e.code ?? e.signal}: ${daemon.stderr()}`);
  } finally {
    if (daemon.proc.exitCode === null && daemon.proc.signalCode === null) daemon.proc.kill('SIGKILL');
  }
}

/** Starts `ollama-audit daemon` in the host namespace; resolves once its start line is out. */
export async function startDaemon(net: Names, args: string[]): Promise<Kid> {
  const d = inHost(net, process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'daemon', ...args]);
  await d.waitFor(DAEMON_START, 20_000);
  return d;
}

/** A live session's attribution sources as `sessions --json` reports them (null before its first write). */
export type AttributionSources = { method: string; mode: string; why_not: string | null; kernel_event_gaps: { start_us: number; end_us: number | null }[] } | null;

async function sourcesOf(db: string): Promise<AttributionSources> {
  const r = await runCli('sessions', '--db', db, '--json');
  if (r.code !== 0) return null;
  const list = JSON.parse(r.stdout) as { coverage: { attribution_sources: AttributionSources } }[];
  return list.at(-1)?.coverage.attribution_sources ?? null;
}

/** Polls the store until the last session's attribution sources say `method` (written once a second), or the timeout. */
export async function waitForMethod(db: string, method: string, timeoutMs = 30_000): Promise<AttributionSources> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await sourcesOf(db);
    if (s?.method === method || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Waits until every outbound socket the fake ollama opened has closed (its socket log has a close
 * for each connect): its HTTPS agent keeps connections alive for the servers' keepAliveTimeout (2 s),
 * and a pull started before then reuses them, with no handshake (no SNI) for a new capture to see.
 */
export async function ollamaSocketsClosed(net: Pick<Internet, 'ollamaLog'>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const log = readSocketLog(net.ollamaLog);
    if (log.filter((e) => e.event === 'connect').length === log.filter((e) => e.event === 'close').length) return;
    if (Date.now() > until) throw new Error(`the fake ollama's sockets were still open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
