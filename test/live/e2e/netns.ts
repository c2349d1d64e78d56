/**
 * The e2e tests' little internet, in network namespaces named oae2e-* (deleted afterwards, and
 * before, if a previous run left any):
 *
 *   oae2e-inet: lo holds DNS 203.0.113.53, registry.ollama.ai 203.0.113.10, its blob CDN
 *               203.0.113.20, example.org 203.0.113.80 (plain HTTP), proxy.test 203.0.113.128:3128;
 *               veth oae2e-i0 198.51.100.1/24.
 *   oae2e-host: veth oae2e-h0 198.51.100.10/24, route to 203.0.113.0/24 only (nothing else is
 *               reachable), resolv.conf -> 203.0.113.53; the fake `ollama` (a copy of node) on
 *               127.0.0.1:11434, the clients, and the daemon under test.
 *
 * Servers are the fixture scripts (fixtures/make/servers/), some copied to ./servers/ with changes:
 * registry and CDN serve a multi-MB blob (the CDN paces it on request), DNS and example.org answer
 * after a few milliseconds like real servers some distance away (a veth answers in ~0.1 ms, and a
 * connection that is over before the first packet could be read is beyond any procfs observer),
 * and think.mjs is a TCP service for short connections.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const HOST_NS = 'oae2e-host';
export const INET_NS = 'oae2e-inet';
export const REPO = resolve(import.meta.dirname, '../../..');
const FIXTURE_SERVERS = join(REPO, 'fixtures/make/servers');
const E2E = import.meta.dirname;

export const ADDR = {
  host: '198.51.100.10', gw: '198.51.100.1', dns: '203.0.113.53', registry: '203.0.113.10',
  cdn: '203.0.113.20', web: '203.0.113.80', proxy: '203.0.113.128',
};
/** The short-connection service (servers/think.mjs) listens on ADDR.web at this port. */
export const THINK_PORT = 7000;
export const CDN_HOST = 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com';

/** True when these tests must run: as root, or in CI (where they fail if they cannot). */
export const isRoot = process.getuid?.() === 0;
export const mustRun = process.env.CI === 'true' || process.env.CI === '1';

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

export function inHost(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Kid {
  return startKid('ip', ['netns', 'exec', HOST_NS, cmd, ...args], env, cwd);
}

function killPid(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

/** Deletes every oae2e-* namespace (ending the processes left in it, which only a run of these tests started). */
export function cleanupNamespaces(prefix = 'oae2e-'): void {
  const list = sh('ip', ['netns', 'list'], { allowFail: true }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
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

export interface Internet {
  dir: string;
  ca: string;
  ollamaExe: string;
  ollama: Kid;
  ollamaLog: string;
}

function makeCerts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=ollama-audit e2e CA', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')]);
  sh('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=registry.ollama.ai',
    '-keyout', join(dir, 'site.key'), '-out', join(dir, 'site.csr')]);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:registry.ollama.ai,DNS:${CDN_HOST},DNS:example.org,DNS:proxy.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  sh('openssl', ['x509', '-req', '-in', join(dir, 'site.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-CAcreateserial', '-days', '30', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'site.crt')]);
}

/** Builds both namespaces, starts the servers and the fake ollama. `dir` is a fresh temp folder. */
export interface InternetOptions {
  /** Size of the model blob the registry serves (through the CDN). */
  blobBytes: number;
  /** The DNS server answers after this long (a resolver some ms away; a veth answers in ~0.1 ms). */
  dnsDelayMs: number;
  /** example.org answers after this long. */
  webThinkMs: number;
}

export async function buildInternet(dir: string, o: InternetOptions): Promise<Internet> {
  cleanupNamespaces();
  const ipn = (...a: string[]) => sh('ip', a);
  ipn('netns', 'add', HOST_NS);
  ipn('netns', 'add', INET_NS);
  for (const ns of [HOST_NS, INET_NS]) {
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.router_solicitations=0', 'net.ipv6.conf.all.router_solicitations=0']);
    ipn('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ipn('link', 'add', 'oae2e-h0', 'netns', HOST_NS, 'type', 'veth', 'peer', 'name', 'oae2e-i0', 'netns', INET_NS);
  ipn('-n', HOST_NS, 'link', 'set', 'oae2e-h0', 'up');
  ipn('-n', INET_NS, 'link', 'set', 'oae2e-i0', 'up');
  ipn('-n', HOST_NS, 'addr', 'add', `${ADDR.host}/24`, 'dev', 'oae2e-h0');
  ipn('-n', INET_NS, 'addr', 'add', `${ADDR.gw}/24`, 'dev', 'oae2e-i0');
  for (const a of [ADDR.dns, ADDR.registry, ADDR.cdn, ADDR.web, ADDR.proxy]) ipn('-n', INET_NS, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  ipn('-n', HOST_NS, 'route', 'add', '203.0.113.0/24', 'via', ADDR.gw);
  for (const ns of [HOST_NS, INET_NS]) {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${ADDR.dns}\noptions timeout:1 attempts:2\n`);
  }

  const certs = join(dir, 'certs');
  makeCerts(certs);
  const env = { OAFX_CERTS: certs, OAE2E_BLOB_BYTES: String(o.blobBytes), OAE2E_DNS_DELAY_MS: String(o.dnsDelayMs), OAE2E_WEB_THINK_MS: String(o.webThinkMs) };
  const inInet = (script: string, ...addrs: string[]) => startKid('ip', ['netns', 'exec', INET_NS, process.execPath, script, ...addrs], env);
  const servers = [
    inInet(join(E2E, 'servers/dns.mjs'), ADDR.dns),
    inInet(join(E2E, 'servers/registry.mjs'), ADDR.registry),
    inInet(join(E2E, 'servers/cdn.mjs'), ADDR.cdn),
    inInet(join(E2E, 'servers/example-org.mjs'), ADDR.web),
    inInet(join(FIXTURE_SERVERS, 'proxy.mjs'), ADDR.proxy),
    inInet(join(E2E, 'servers/think.mjs'), ADDR.web, String(THINK_PORT)),
  ];
  await Promise.all(servers.map((s) => s.waitFor(/ready/)));
  // Neighbour cache warm, and the route works.
  sh('ip', ['netns', 'exec', HOST_NS, 'ping', '-c1', '-W2', ADDR.gw]);

  // The fake ollama: a copy of this node binary named `ollama`, started as `ollama serve` like the
  // real server (`serve` is a one-line CommonJS file beside it that imports host/fake-ollama.mjs).
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const ollamaExe = join(bin, 'ollama');
  copyFileSync(process.execPath, ollamaExe);
  writeFileSync(join(bin, 'serve'), `import(${JSON.stringify(join(E2E, 'host/fake-ollama.mjs'))});\n`);
  const ollamaLog = join(dir, 'ollama-sockets.jsonl');
  const ollama = inHost(ollamaExe, ['serve'], { OAE2E_CA: join(certs, 'ca.crt'), OAE2E_LOG: ollamaLog }, bin);
  await ollama.waitFor(/ollama ready/);
  return { dir, ca: join(certs, 'ca.crt'), ollamaExe, ollama, ollamaLog };
}

export function teardownInternet(): void {
  killStarted();
  cleanupNamespaces();
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
export async function pullViaApi(body: object): Promise<{ curl: Kid; done: Promise<{ pid: number; localPort: number; output: string }> }> {
  const curl = inHost('curl', ['-sS', '-N', '-X', 'POST', '-d', JSON.stringify(body), '-w', '\nlocal_port=%{local_port}\n', 'http://127.0.0.1:11434/api/pull']);
  const done = curl.exited.then((e) => {
    if (e.code !== 0) throw new Error(`curl /api/pull: ${e.code ?? e.signal} ${curl.stderr()}`);
    const m = /local_port=(\d+)/.exec(curl.stdout());
    return { pid: curl.pid, localPort: Number(m?.[1]), output: curl.stdout() };
  });
  return { curl, done };
}

export const DAEMON_START = /capturing on/;

/** Starts `ollama-audit daemon` in the host namespace; resolves once its start line is out. */
export async function startDaemon(args: string[]): Promise<Kid> {
  const d = inHost(process.execPath, [join(REPO, 'bin/ollama-audit.js'), 'daemon', ...args]);
  await d.waitFor(DAEMON_START, 20_000);
  return d;
}
