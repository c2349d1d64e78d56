/**
 * What a flow was for, as a pure function of the flow and the knowledge base.
 * The activity strings are part of the CLI/JSON contract: registry, blob-download, ollama-com,
 * proxy-connect, dns, api or api:<route>, runner, other.
 */
import type { Flow } from '../flows/flow.js';
import { apiEndpoint, runnerPath } from '../knowledge/api-endpoints.js';
import { matchDestination, ollamaComPath, type Destination } from '../knowledge/destinations.js';
import { hostWithoutPort, normalizeHostname } from '../knowledge/hostname.js';
import { IPPROTO_TCP, IPPROTO_UDP, isDnsPort, OLLAMA_API_PORT } from '../knowledge/ports.js';
import { processRole, type Role } from '../knowledge/processes.js';
import { registryRequest } from '../knowledge/registry-paths.js';
import { pathOnly } from '../knowledge/route.js';
import { isLoopback } from '../decode/addr.js';
import { icmpMessageText, isIcmpProto } from '../flows/icmp-names.js';

import type { Activity } from '../knowledge/activity.js';

export { activityNames, PLAIN_ACTIVITIES, type Activity } from '../knowledge/activity.js';

export interface Classification {
  activity: Activity;
  /** True for every activity but `other`, and for `other` when the process (or, both ends local, the peer) is in the Ollama tree. */
  ollama: boolean;
  /** One short sentence for the report, citing the knowledge entry it relied on. */
  reason: string;
}

/** What the classifier needs beyond the flow itself. */
export interface ClassifyContext {
  /** Query names seen on this flow, when it is a DNS flow. */
  dnsQueries?: readonly string[];
  /** Hosts a plaintext registry 307 Location pointed at (the blob CDN of that registry), lower-case. */
  redirectHosts?: ReadonlySet<string> | readonly string[];
  /** API ports in addition to 11434 (a non-default OLLAMA_HOST). */
  apiPorts?: readonly number[];
  /** The flow's process command line, when attribution knows it: tells `ollama serve` from the CLI. */
  processCmdline?: string | readonly string[] | null;
}

type Found = Omit<Classification, 'ollama'>;

const TCP = IPPROTO_TCP;
const UDP = IPPROTO_UDP;
/** Longest unknown path quoted in a reason (activities never carry unknown paths: a scanner would explode their number). */
const MAX_UNKNOWN_ROUTE = 64;

export function classifyFlow(f: Flow, ctx: ClassifyContext = {}): Classification {
  const role = flowRole(f.process, ctx.processCmdline);
  // A local client of a local Ollama process (the API on a port not given as --api-port): the
  // flow is the client's, but it involves Ollama.
  const peerRole = flowRole(f.peerProcess, null);
  let found = classifyDns(f, ctx) ?? classifyConnect(f, ctx) ?? classifyApi(f, ctx);
  if (found === null) {
    const named = bestName(f);
    found = classifyByName(f, named, ctx) ?? classifyRunner(f, role) ?? classifyOther(f, named, role, peerRole);
  }
  // A CONNECT to a non-Ollama host is only Ollama's business when an Ollama process made it.
  const ollamaActivity = found.activity !== 'other' && found.activity !== 'proxy-connect';
  return { ...found, ollama: ollamaActivity || role !== null || (peerRole !== null && found.activity === 'other') };
}

function flowRole(p: Flow['process'], cmdline: ClassifyContext['processCmdline']): Role | null {
  if (!p) return null;
  return processRole(p.name, cmdline) ?? (p.exe ? processRole(p.exe, cmdline) : null);
}

function classifyDns(f: Flow, ctx: ClassifyContext): Found | null {
  if (f.proto !== UDP && f.proto !== TCP) return null;
  if (!isDnsPort(f.responderPort) && !isDnsPort(f.initiatorPort)) return null;
  const queries = ctx.dnsQueries ?? [];
  for (const q of queries) {
    const d = matchDestination(q);
    if (d) return { activity: 'dns', reason: `DNS query for ${normalizeHostname(q)}: ${describe(d)}` };
  }
  const asked = queries.length > 0 ? `for ${queries.slice(0, 3).join(', ')}` : 'with no query seen';
  return { activity: 'other', reason: `DNS ${asked}: no Ollama name` };
}

function classifyConnect(f: Flow, ctx: ClassifyContext): Found | null {
  if (f.connectHost === null) return null;
  const host = normalizeHostname(hostWithoutPort(f.connectHost));
  const target = f.connectPort === null ? host : `${host}:${f.connectPort}`;
  const proxy = `proxy port ${f.responderPort}`;
  const known = knownHost(host, ctx);
  if (known) return { activity: known.activity, reason: `CONNECT ${target} via proxy (${proxy}): ${known.text}` };
  return { activity: 'proxy-connect', reason: `CONNECT ${target} through a proxy (${proxy}): not an Ollama destination` };
}

function classifyApi(f: Flow, ctx: ClassifyContext): Found | null {
  if (f.proto !== TCP) return null;
  const port = f.responderPort;
  if (port !== OLLAMA_API_PORT && !(ctx.apiPorts ?? []).includes(port)) return null;
  const from = isLoopback(f.initiatorAddr) ? '' : ' from a non-loopback address';
  if (f.httpPath === null) {
    return { activity: 'api', reason: `connection to the Ollama API port ${port}${from}, no request seen` };
  }
  const method = f.httpMethod ?? 'HTTP';
  const ep = apiEndpoint(f.httpPath);
  if (!ep) {
    const path = pathOnly(f.httpPath).slice(0, MAX_UNKNOWN_ROUTE);
    return { activity: 'api', reason: `${method} ${path} on the Ollama API port ${port}${from}: not a known route` };
  }
  return {
    activity: `api:${ep.route}`,
    reason: `${method} ${ep.route} on the Ollama API port ${port}${from}: ${ep.what}, ${outboundText(ep.outbound, ep.outboundTo)} (${cite(ep.source)})`,
  };
}

function outboundText(outbound: string, to: string | null): string {
  switch (outbound) {
    case 'always': return `goes out to ${to}`;
    case 'cloud-model': return `goes out to ${to} only for a cloud model`;
    case 'maybe': return `may go out to ${to}`;
    default: return 'no outbound call known';
  }
}

function classifyRunner(f: Flow, role: Role | null): Found | null {
  if (f.proto !== TCP || !isLoopback(f.initiatorAddr) || !isLoopback(f.responderAddr)) return null;
  const rp = f.httpPath === null ? null : runnerPath(f.httpPath);
  if (rp) {
    return { activity: 'runner', reason: `[inferred] loopback ${f.httpMethod ?? 'HTTP'} ${rp.route} to port ${f.responderPort}: a runner endpoint (${rp.what})` };
  }
  if (role === 'server' || role === 'runner') {
    return { activity: 'runner', reason: `[inferred] loopback TCP by ${f.process?.name} (${role}) to port ${f.responderPort}: server-runner traffic` };
  }
  return null;
}

function classifyByName(f: Flow, named: BestName | null, ctx: ClassifyContext): Found | null {
  if (named) {
    const known = knownHost(named.host, ctx);
    if (known) return { activity: known.activity, reason: `${named.label} ${named.host}: ${detail(f, known, named.label)}` };
  }
  return privateRegistry(f, named?.host ?? null);
}

/** A plaintext registry path with no known host: a private registry (`myreg:5000/ns/m:tag --insecure`). */
function privateRegistry(f: Flow, host: string | null): Found | null {
  if (f.httpPath === null) return null;
  const req = registryRequest(f.httpPath);
  if (!req) return null;
  const where = host ? ` on ${host}` : '';
  return {
    activity: 'registry',
    reason: `[inferred] registry ${req.kind} request ${pathOnly(f.httpPath)}${where}: a private registry ([src] server/images.go makeRequest)`,
  };
}

interface KnownHost {
  activity: 'registry' | 'blob-download' | 'ollama-com';
  text: string;
  destination: Destination | null;
}

function knownHost(host: string, ctx: ClassifyContext): KnownHost | null {
  if (isRedirectHost(host, ctx.redirectHosts)) {
    return { activity: 'blob-download', text: 'blob host a registry 307 redirect pointed at ([src] server/download.go)', destination: null };
  }
  const d = matchDestination(host);
  return d ? { activity: d.activity, text: describe(d), destination: d } : null;
}

function isRedirectHost(host: string, hosts: ClassifyContext['redirectHosts']): boolean {
  if (!hosts) return false;
  if ('has' in hosts) return hosts.has(host);
  return hosts.some((h) => normalizeHostname(h) === host);
}

/** The reason text once a name matched: specific when the plaintext path shows what was asked. */
function detail(f: Flow, known: KnownHost, label: string): string {
  const d = known.destination;
  const path = f.httpPath;
  const viaProxy = path !== null && isAbsoluteHttpUrl(path) ? ' via proxy' : '';
  if (d && d.activity === 'ollama-com' && d.pattern === 'ollama.com') {
    const rp = path === null ? null : ollamaComPath(path);
    if (rp) return `${rp.what}, ${f.httpMethod ?? 'HTTP'} ${rp.route}${viaProxy} (${cite(rp.source)})`;
    const hidden = label === 'TLS SNI' ? 'TLS hides which' : 'the request path was not seen';
    return `one of ${d.implies}; ${hidden} (${cite(d.source)})`;
  }
  if (d && d.activity === 'registry' && path !== null) {
    const req = registryRequest(path);
    if (req) return `${d.what}, ${req.kind} request ${pathOnly(path)}${viaProxy} (${cite(d.source)})`;
  }
  return known.text;
}

interface BestName {
  host: string;
  label: string;
}

/** The first usable name in order of trust; later candidates are not even computed. */
function bestName(f: Flow): BestName | null {
  return nameIf(f.hostname, labelOf(f.hostnameSource)) ??
    nameIf(f.sni, 'TLS SNI') ??
    nameIf(f.httpHost === null ? null : hostWithoutPort(f.httpHost), 'HTTP Host') ??
    nameIf(f.dnsName, 'DNS name') ??
    (f.httpPath !== null && isAbsoluteHttpUrl(f.httpPath) ? nameIf(hostOfUrl(f.httpPath), 'proxy request for') : null);
}

function nameIf(name: string | null, label: string): BestName | null {
  if (!name) return null;
  const host = normalizeHostname(name);
  return host === '' ? null : { host, label };
}

/** An absolute-form request target (a request to a proxy: `GET http://host/path`). */
function isAbsoluteHttpUrl(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

function labelOf(source: Flow['hostnameSource']): string {
  switch (source) {
    case 'sni': return 'TLS SNI';
    case 'connect': return 'CONNECT';
    case 'http': return 'HTTP Host';
    case 'dns': return 'DNS name';
    default: return 'name';
  }
}

function hostOfUrl(url: string): string | null {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '') || null;
  } catch {
    return null;
  }
}

function classifyOther(f: Flow, name: BestName | null, role: Role | null, peerRole: Role | null): Found {
  if (isIcmpProto(f.proto)) return classifyIcmp(f, name, role);
  const dest = name ? name.host : hasPorts(f.proto) ? `port ${f.responderPort}` : `IP protocol ${f.proto}`;
  if (role && f.process) {
    return { activity: 'other', reason: `${f.process.name} (${role}) is in the Ollama tree; ${dest} is not a known Ollama destination` };
  }
  if (peerRole && f.peerProcess) {
    return { activity: 'other', reason: `${f.process?.name ?? 'an unknown local process'} to ${f.peerProcess.name} (${peerRole}, in the Ollama tree) on ${dest}: not a known API port` };
  }
  return { activity: 'other', reason: `${dest}: no Ollama destination, port or process recognised` };
}

const SCTP = 132;

function hasPorts(proto: number): boolean {
  return proto === TCP || proto === UDP || proto === SCTP;
}

/** ICMP has no ports: its "ports" are the message type and its reply type or code, so the reason names the message. */
function classifyIcmp(f: Flow, name: BestName | null, role: Role | null): Found {
  const message = `${icmpMessageText(f.proto, f.initiatorPort)}${name ? ` to ${name.host}` : ''}`;
  if (role && f.process) {
    return { activity: 'other', reason: `${message} by ${f.process.name} (${role}) in the Ollama tree: not an Ollama destination` };
  }
  return { activity: 'other', reason: `${message}: no Ollama destination or process recognised` };
}

function describe(d: Destination): string {
  const claim = d.supported ? '' : ', claimed in the wild but never contacted by the source';
  return `${d.what}${claim} (${cite(d.source)})`;
}

/** The first citation of a source list: "[src] a.go (x, y), b.go" -> "[src] a.go (x, y)". */
function cite(source: string): string {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && (c === ',' || c === ';')) return source.slice(0, i);
  }
  return source;
}
