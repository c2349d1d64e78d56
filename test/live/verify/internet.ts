/**
 * The `verify` scenarios' little internet: the same layout and server scripts as the daemon's
 * e2e harness (../e2e/netns.ts), under names of our own so the two test files can run at once
 * (vitest runs files in parallel, and netns.ts's buildInternet deletes every `oae2e-*` namespace):
 *
 *   oavf-inet: lo holds DNS 203.0.113.53, registry.ollama.ai 203.0.113.10, its blob CDN
 *              203.0.113.20, example.org 203.0.113.80, proxy.test 203.0.113.128:3128;
 *              veth oavf-i0 198.51.100.1/24.
 *   oavf-host: veth oavf-h0 198.51.100.10/24, a route to 203.0.113.0/24 only, resolv.conf ->
 *              203.0.113.53; the fake `ollama` (a copy of node) on 127.0.0.1:11434, the clients,
 *              and `ollama-audit verify` under test.
 *
 * Only helpers that do not hard-code the namespace names are imported from netns.ts.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDR, CDN_HOST, REPO, cleanupNamespaces, killStarted, sh, startKid, type Kid } from '../e2e/netns.js';

export const PREFIX = 'oavf-';
export const HOST_NS = `${PREFIX}host`;
export const INET_NS = `${PREFIX}inet`;
export const HOST_VETH = `${PREFIX}h0`;
const INET_VETH = `${PREFIX}i0`;
const E2E = join(REPO, 'test/live/e2e');
const FIXTURE_SERVERS = join(REPO, 'fixtures/make/servers');

export interface Internet {
  dir: string;
  ca: string;
  ollamaExe: string;
  ollama: Kid;
  /** JSON lines the fake ollama writes per outbound socket (connect, close) and per lookup. */
  ollamaLog: string;
}

function makeCerts(dir: string, cdnHost: string): void {
  mkdirSync(dir, { recursive: true });
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=ollama-audit verify test CA', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')]);
  sh('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=registry.ollama.ai',
    '-keyout', join(dir, 'site.key'), '-out', join(dir, 'site.csr')]);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:registry.ollama.ai,DNS:${cdnHost},DNS:example.org,DNS:proxy.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  sh('openssl', ['x509', '-req', '-in', join(dir, 'site.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-CAcreateserial', '-days', '30', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'site.crt')]);
}

export function inHost(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Kid {
  return startKid('ip', ['netns', 'exec', HOST_NS, cmd, ...args], env, cwd);
}

/** Builds both namespaces (deleting our leftovers first), starts the servers and the fake ollama. */
export async function buildInternet(dir: string, o: { blobBytes: number; dnsDelayMs: number }): Promise<Internet> {
  cleanupNamespaces(PREFIX);
  const ipn = (...a: string[]) => sh('ip', a);
  ipn('netns', 'add', HOST_NS);
  ipn('netns', 'add', INET_NS);
  for (const ns of [HOST_NS, INET_NS]) {
    // No IPv6 router solicitations or DAD chatter while verify listens to an "idle" host.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.router_solicitations=0', 'net.ipv6.conf.all.router_solicitations=0']);
    ipn('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ipn('link', 'add', HOST_VETH, 'netns', HOST_NS, 'type', 'veth', 'peer', 'name', INET_VETH, 'netns', INET_NS);
  ipn('-n', HOST_NS, 'link', 'set', HOST_VETH, 'up');
  ipn('-n', INET_NS, 'link', 'set', INET_VETH, 'up');
  ipn('-n', HOST_NS, 'addr', 'add', `${ADDR.host}/24`, 'dev', HOST_VETH);
  ipn('-n', INET_NS, 'addr', 'add', `${ADDR.gw}/24`, 'dev', INET_VETH);
  for (const a of [ADDR.dns, ADDR.registry, ADDR.cdn, ADDR.web, ADDR.proxy]) ipn('-n', INET_NS, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  ipn('-n', HOST_NS, 'route', 'add', '203.0.113.0/24', 'via', ADDR.gw);
  for (const ns of [HOST_NS, INET_NS]) {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${ADDR.dns}\noptions timeout:1 attempts:2\n`);
  }

  const certs = join(dir, 'certs');
  makeCerts(certs, CDN_HOST);
  const env = { OAFX_CERTS: certs, OAE2E_BLOB_BYTES: String(o.blobBytes), OAE2E_DNS_DELAY_MS: String(o.dnsDelayMs) };
  const inInet = (script: string, ...addrs: string[]) => startKid('ip', ['netns', 'exec', INET_NS, process.execPath, script, ...addrs], env);
  const servers = [
    inInet(join(E2E, 'servers/dns.mjs'), ADDR.dns),
    inInet(join(E2E, 'servers/registry.mjs'), ADDR.registry),
    inInet(join(E2E, 'servers/cdn.mjs'), ADDR.cdn),
    inInet(join(E2E, 'servers/example-org.mjs'), ADDR.web),
    inInet(join(FIXTURE_SERVERS, 'proxy.mjs'), ADDR.proxy),
  ];
  await Promise.all(servers.map((s) => s.waitFor(/ready/)));
  sh('ip', ['netns', 'exec', HOST_NS, 'ping', '-c1', '-W2', ADDR.gw]);

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

/** Kills (by pid) what this file started, then deletes our namespaces. */
export function teardownInternet(): void {
  killStarted();
  cleanupNamespaces(PREFIX);
}
