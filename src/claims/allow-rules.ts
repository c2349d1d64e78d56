/**
 * `verify --allow RULE`: traffic the user expects, left out of every claim. Grammar (README):
 *   api:loopback | api:lan | api:any   connections to the Ollama API from loopback / private ranges / anywhere
 *   host:CIDR                           far end in a range: host:10.0.0.0/8, host:2001:db8::/32, host:192.0.2.7
 *   host:NAME                           far end named so (exact or *.suffix), and DNS lookups of that name
 *   activity:NAME                       flows of an activity (api also covers api:/api/pull...) and DNS lookups of
 *                                       its names; activity:registry also covers the registry's blob CDN: a pull is both
 *   port:N | port:N-M [/tcp|/udp]       responder port (port:53, port:8000-8099/tcp)
 */
import { matchDestination } from '../knowledge/destinations.js';
import { UserError } from '../errors.js';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import { activityMatches, nameMatches } from './match.js';
import { isLoopbackText, type FlowFact } from './session-facts.js';

export type AllowRule =
  | { kind: 'api'; from: 'loopback' | 'lan' | 'any'; text: string }
  | { kind: 'cidr'; cidr: Cidr; text: string }
  | { kind: 'host'; pattern: string; text: string }
  | { kind: 'activity'; activity: string; text: string }
  | { kind: 'port'; from: number; to: number; proto: number | null; text: string };

const NAME = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i;
const LAN = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10']
  .map((c) => parseCidr(c)!);
const HINT = 'expected api:loopback|lan|any, host:CIDR, host:NAME, activity:NAME or port:N[-M][/tcp|/udp]';

export function parseAllowRule(text: string): AllowRule {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const value = colon < 0 ? '' : text.slice(colon + 1).trim();
  const bad = (why: string) => new UserError(`--allow ${text}: ${why}`);
  if (value === '') throw bad(HINT);
  switch (kind) {
    case 'api':
      if (value !== 'loopback' && value !== 'lan' && value !== 'any') throw bad('expected api:loopback, api:lan or api:any');
      return { kind: 'api', from: value, text };
    case 'host': {
      const c = parseCidr(value);
      if (c) return { kind: 'cidr', cidr: c, text };
      if (!NAME.test(value)) throw bad('expected an address, a CIDR range or a host name (*.suffix allowed)');
      return { kind: 'host', pattern: value, text };
    }
    case 'activity':
      if (!/^[a-z][a-z0-9:/_.-]*$/i.test(value)) throw bad('expected an activity name (registry, blob-download, ollama-com, dns, api, runner...)');
      return { kind: 'activity', activity: value, text };
    case 'port':
      return parsePort(value, text, bad);
    default:
      throw bad(HINT);
  }
}

function parsePort(value: string, text: string, bad: (why: string) => Error): AllowRule {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/i.exec(value);
  if (!m) throw bad('expected port:N, port:N-M, optionally /tcp or /udp');
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535 || to < from) throw bad('ports are 0-65535, low-high');
  const proto = m[3] === undefined ? null : m[3].toLowerCase() === 'tcp' ? 6 : 17;
  return { kind: 'port', from, to, proto, text };
}

export function parseAllowRules(texts: readonly string[] = []): AllowRule[] {
  return texts.map(parseAllowRule);
}

/** The first rule that allows the flow, or null. */
export function allowedBy(rules: readonly AllowRule[], f: FlowFact): AllowRule | null {
  return rules.find((r) => allows(r, f)) ?? null;
}

function allows(r: AllowRule, f: FlowFact): boolean {
  switch (r.kind) {
    case 'api':
      if (!f.isApi) return false;
      if (r.from === 'any') return true;
      if (isLoopbackText(f.initiatorAddr)) return true;
      return r.from === 'lan' && LAN.some((c) => cidrContains(c, f.initiatorAddr));
    case 'cidr':
      return cidrContains(r.cidr, f.farAddr);
    case 'host':
      return nameMatches(r.pattern, f.names);
    case 'activity':
      return activityAllows(r.activity, f);
    case 'port':
      return f.responderPort >= r.from && f.responderPort <= r.to && (r.proto === null || r.proto === f.proto);
  }
}

function activityAllows(wanted: string, f: FlowFact): boolean {
  const covers = (a: string) => activityMatches(wanted, a) || (wanted === 'registry' && a === 'blob-download');
  if (covers(f.activity)) return true;
  // A lookup of the allowed destination's names is part of reaching it.
  if (f.activity !== 'dns' || f.dnsQueries.length === 0) return false;
  const asked = f.dnsQueries.map(matchDestination).filter((d) => d !== null);
  return asked.length > 0 && asked.every((d) => covers(d.activity));
}
