/** Does a flow match a claim's `match`? Every given field must match; list fields match any element. */
import type { ClaimMatch } from '../knowledge/claims.js';
import { hostnameMatches, normalizeHostname } from '../knowledge/hostname.js';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import type { FlowFact } from './session-facts.js';

const cidrs = new Map<string, Cidr | null>();

function cidr(text: string): Cidr | null {
  if (!cidrs.has(text)) cidrs.set(text, parseCidr(text));
  return cidrs.get(text)!;
}

/** `api` also matches `api:/api/pull`: a route is a refinement of its activity. */
export function activityMatches(wanted: string, activity: string): boolean {
  return activity === wanted || activity.startsWith(`${wanted}:`);
}

export function nameMatches(pattern: string, names: readonly string[]): boolean {
  const p = normalizeHostname(pattern);
  return names.some((n) => hostnameMatches(p, n));
}

export function matchFlow(m: ClaimMatch, f: FlowFact): boolean {
  if (m.activity && !m.activity.some((a) => activityMatches(a, f.activity))) return false;
  if (m.hostname && !m.hostname.some((h) => nameMatches(h, f.names))) return false;
  if (m.address && !m.address.some((a) => { const c = cidr(a); return c !== null && cidrContains(c, f.farAddr); })) return false;
  if (m.port && !m.port.includes(f.responderPort)) return false;
  if (m.direction && !directionMatches(m.direction, f.direction)) return false;
  if (m.via_proxy !== undefined && f.viaProxy !== m.via_proxy) return false;
  if (m.answered !== undefined && f.answered !== m.answered) return false;
  if (m.min_duration_s !== undefined && (f.lastSeen - f.firstSeen) / 1e6 < m.min_duration_s) return false;
  if (m.not && matchFlow(m.not, f)) return false;
  return true;
}

function directionMatches(wanted: NonNullable<ClaimMatch['direction']>, d: FlowFact['direction']): boolean {
  switch (wanted) {
    case 'any': return true;
    case 'off-host': return d !== 'loopback';
    default: return wanted === d;
  }
}
