/**
 * What a session could see, and whether that is enough to say a claim holds.
 *
 * Thresholds (README "Coverage"):
 * - estimated TCP capture loss above 1 % of acknowledged bytes, or kernel drops above 1 % of
 *   packets: inconclusive (a dropped packet can be the one lookup or SYN that breaks a claim;
 *   any drop at all is named in the reason);
 * - off-host traffic unseen: every named interface is a loopback one, a BSD loopback link type,
 *   or (unnamed interfaces) no flow with a non-loopback end at all, so nothing shows the capture
 *   was on an interface that leaves the host: claims about off-host traffic are inconclusive;
 * - attribution: unavailable when the session recorded no process (a plain pcap, or comments
 *   missing), or a macOS session attributing by lsof lookups could not run lsof: claims about the
 *   Ollama tree are inconclusive. The share is bytes of flows with a process over all bytes. A
 *   session attributed by lsof lookups has lowered confidence (attribution_confidence);
 * - store gaps: a live capture whose store's disk was full could not write the rows of that window
 *   (sessions.gaps): what happened then is not in the store, so no claim holds over the session;
 * - flows closed before their time: evicted from a full flow table (--max-flows), or left unwritten
 *   by the daemon's 2 s stop deadline: any claim is inconclusive, since any flow, an Ollama one
 *   too, may be among them (an evicted flow is stored, but its later packets start a new flow
 *   without its handshake or names; an unwritten one is missing or stored as it was a second
 *   earlier). Half-open flows that timed out after 30 s are only reported: they had told all they would.
 */
import { ANY_DEVICE, interfaceText } from '../capture/link-types.js';
import { LINKTYPE } from '../capture/packet.js';
import { formatPercent } from '../text/format-values.js';
import { INVALID_TIME, isoMicros, isShowableUs } from '../store/format-time.js';
import type { SessionFacts } from './session-facts.js';
import type { StoreGap } from '../store/live-session.js';
import type { AttributionRecord } from '../attribution/os/linux/kernel-attribution.js';

export const THRESHOLDS = {
  /** % of acknowledged TCP bytes never captured. */
  max_loss_percent: 1,
  /** % of packets the kernel dropped. */
  max_drop_percent: 1,
  /** Seconds after a request ends during which flows it caused may still start. */
  request_grace_s: 0.5,
} as const;

export interface SessionCoverage {
  session_id: number;
  kind: string;
  source: string;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  packets: number;
  /** Interface names, or `#index: link-type name` ("#0: Linux cooked v2 (SLL2)") when the file does not name them. */
  interfaces: string[];
  drops: number | null;
  drop_percent: number | null;
  loss_estimate: number | null;
  attribution: 'available' | 'unavailable';
  /** Bytes of flows with a known process / all bytes (0..1); null when attribution is unavailable or there are no bytes. */
  attributed_share: number | null;
  /** Could the capture see traffic leaving the host? null: cannot tell. */
  off_host_visible: boolean | null;
  /** Could it see loopback (where API requests to 127.0.0.1 travel)? null: cannot tell. */
  loopback_visible: boolean | null;
  /**
   * A live session's attribution sources (sessions.attribution): kernel socket events with procfs,
   * or procfs alone and why; null for imports (their processes come from the file).
   */
  attribution_sources: AttributionRecord | null;
  /** Flows under SHORT_FLOW_S whose process is unknown, though a process of this host could own them. */
  short_unattributed: number;
  /**
   * 'lowered' when short flows stayed unattributed that began while procfs alone watched (no kernel
   * socket events, before they came up, in a gap), or while kernel events lost some: procfs misses a
   * connection gone before it looks, so any of them may be the Ollama tree's. It lowers the confidence of the
   * verdicts, never the verdicts themselves (those already treat unknown owners as they must).
   */
  attribution_confidence: 'normal' | 'lowered';
  /** Why confidence is lowered, in one sentence; null when it is not. */
  confidence_note: string | null;
  /** Windows whose rows the store could not write (disk full), from sessions.gaps. */
  store_gaps: StoreGap[];
  /**
   * Flows closed before their time, by kind: evicted_half_open, evicted_finished, evicted_active
   * (a full table), unwritten_at_stop (the stop deadline), half_open_timeout (30 s, not a problem),
   * rejected_closed_early (a REJ flow's 1 s close delay under pressure, live only: not a problem).
   */
  expired_early: Record<string, number>;
  /** One line per coverage problem; empty when there is none. */
  problems: string[];
}

/** Early expiries that can hide or split a flow (all but half_open_timeout and rejected_closed_early). */
const HIDING_EXPIRIES = ['evicted_half_open', 'evicted_finished', 'evicted_active', 'unwritten_at_stop'];

interface Iface { index: number; name: string | null; linktype: number }

const LOOPBACK_NAME = /^(lo\d*|loopback.*|npcap loopback.*)$/i;

export function sessionCoverage(s: SessionFacts): SessionCoverage {
  const row = s.rows.session;
  const ifaces = parseIfaces(row.interfaces);
  const dropPercent = row.drops === null ? null : (row.drops / Math.max(1, row.packets + row.drops)) * 100;
  let totalBytes = 0;
  let ownedBytes = 0;
  const sources = parseAttribution(row.attribution);
  let shortUnattributed = 0;
  // Of those, the flows that began while kernel socket events were not on (none, not yet, a gap).
  let shortUnwatched = 0;
  s.flows.scan((f) => {
    totalBytes += f.bytes;
    if (f.owner !== null) ownedBytes += f.bytes;
    else if (f.attributable && f.lastSeen - f.firstSeen < SHORT_FLOW_S * 1e6) {
      shortUnattributed++;
      if (!kernelWatched(sources, f.firstSeen)) shortUnwatched++;
    }
  });
  const cov: SessionCoverage = {
    session_id: row.id,
    kind: row.kind,
    source: row.source,
    started_at: row.started_at === null ? null : isoMicros(row.started_at),
    ended_at: row.ended_at === null ? null : isoMicros(row.ended_at),
    duration_s: windowSeconds(row.started_at, row.ended_at),
    packets: row.packets,
    interfaces: ifaces.map((i) => i.name ?? interfaceText(i)),
    drops: row.drops,
    drop_percent: dropPercent,
    loss_estimate: row.loss_estimate,
    attribution: s.attribution && sources?.lsof?.unavailable == null ? 'available' : 'unavailable',
    attributed_share: s.attribution && sources?.lsof?.unavailable == null && totalBytes > 0 ? ownedBytes / totalBytes : null,
    off_host_visible: offHostVisible(ifaces, s),
    loopback_visible: loopbackVisible(ifaces, s),
    attribution_sources: sources,
    short_unattributed: shortUnattributed,
    ...confidence(row.kind, sources, s.attribution ? shortUnattributed : 0, s.attribution ? shortUnwatched : 0),
    store_gaps: parseGaps(row.gaps),
    expired_early: parseCounts(row.expired_early),
    problems: [],
  };
  cov.problems = problems(cov);
  return cov;
}

/** Seconds between the session's first and last packet; null without packets or when a stored time cannot be shown. */
function windowSeconds(start: number | null, end: number | null): number | null {
  if (start === null || end === null || !isShowableUs(start) || !isShowableUs(end)) return null;
  return (end - start) / 1e6;
}

function parseCounts(json: string | undefined): Record<string, number> {
  try {
    const v = JSON.parse(json ?? '{}') as Record<string, number>;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export function hidingExpiries(c: SessionCoverage): number {
  return HIDING_EXPIRIES.reduce((n, k) => n + (c.expired_early[k] ?? 0), 0);
}

/** A flow shorter than this may be gone before procfs reads its socket (a /proc scan takes ms to tens of ms). */
const SHORT_FLOW_S = 1;

/** Were kernel socket events on at time `us` (after they began, outside their gaps)? */
function kernelWatched(sources: AttributionRecord | null, us: number): boolean {
  if (sources === null || sources.kernel_events_since_us === null || us < sources.kernel_events_since_us) return false;
  return !(sources.kernel_event_gaps ?? []).some((g) => us >= g.start_us && (g.end_us === null || us <= g.end_us));
}

/**
 * Lowered when short unattributed flows began while only procfs watched (no kernel events, before
 * they came up, in a gap), or while kernel events were on but lost some; always for lsof lookups
 * (macOS without pktap), which miss connections that close before a run and, without root, other
 * users' processes.
 */
function confidence(kind: string, sources: AttributionRecord | null, shortUnattributed: number, shortUnwatched: number): Pick<SessionCoverage, 'attribution_confidence' | 'confidence_note'> {
  if (kind === 'live' && sources?.method === 'lsof') return { attribution_confidence: 'lowered', confidence_note: lsofNote(sources, shortUnattributed) };
  const lost = sources?.kernel_events_lost ?? 0;
  const doubtful = shortUnwatched > 0 ? shortUnwatched : lost > 0 ? shortUnattributed : 0;
  if (kind !== 'live' || doubtful === 0) return { attribution_confidence: 'normal', confidence_note: null };
  const why = sources === null || sources.kernel_events_since_us === null
    ? 'attribution came from procfs alone'
    : shortUnwatched > 0 ? 'kernel socket events were off for part of the session' : `kernel socket events lost ${lost} events`;
  return {
    attribution_confidence: 'lowered',
    confidence_note: `${why}, and ${doubtful} flow${doubtful === 1 ? '' : 's'} shorter than ${SHORT_FLOW_S} s stayed unattributed: procfs misses connections gone before it looks, so they could be the Ollama tree's (\`--attribution ebpf\` names them)`,
  };
}

function lsofNote(sources: AttributionRecord, shortUnattributed: number): string {
  const why = sources.why_not === null ? '' : `, because ${sources.why_not}`;
  const l = sources.lsof;
  const missed = l === undefined ? '' : `; ${l.not_found} flow${l.not_found === 1 ? '' : 's'} had no socket left when lsof looked, ${l.not_looked_up} ${l.not_looked_up === 1 ? 'was' : 'were'} never looked up`;
  return `lower-confidence attribution (lsof lookups${why}): a connection that closes before a lookup is missed, and without root other users' processes are not visible${missed}; ${shortUnattributed} flow${shortUnattributed === 1 ? '' : 's'} shorter than ${SHORT_FLOW_S} s stayed unattributed (root, with Apple's tcpdump, names every packet's process)`;
}

function parseAttribution(json: string | null | undefined): AttributionRecord | null {
  if (json === null || json === undefined) return null;
  try {
    const v = JSON.parse(json) as AttributionRecord;
    return v !== null && typeof v === 'object' && typeof v.method === 'string' ? v : null;
  } catch {
    return null;
  }
}

function parseIfaces(json: string): Iface[] {
  try {
    const v = JSON.parse(json) as Iface[];
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function parseGaps(json: string | null): StoreGap[] {
  if (json === null) return [];
  try {
    const v = JSON.parse(json) as StoreGap[];
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function gapProblem(g: StoreGap): string {
  const lost = g.flows_not_stored + g.flows_incomplete;
  return `the store's disk was full from ${isoMicros(g.start_us)} to ${isoMicros(g.end_us)}: ${lost} flows and ${g.records_not_stored} DNS/HTTP records of that window were not stored`;
}

const isAnyDevice = (i: Iface) => i.name === ANY_DEVICE || i.linktype === LINKTYPE.LINUX_SLL || i.linktype === LINKTYPE.LINUX_SLL2;
const isBsdLoopback = (i: Iface) => i.linktype === LINKTYPE.NULL || i.linktype === LINKTYPE.LOOP;
const isLoopbackIface = (i: Iface) => (i.name !== null && LOOPBACK_NAME.test(i.name)) || isBsdLoopback(i);

function offHostVisible(ifaces: Iface[], s: SessionFacts): boolean | null {
  if (ifaces.some(isAnyDevice)) return true;
  if (ifaces.some((i) => i.name !== null && !isLoopbackIface(i))) return true;
  if (ifaces.length > 0 && ifaces.every(isLoopbackIface)) return false;
  // Unnamed interfaces (or none recorded yet): only the traffic itself can tell.
  return s.flows.some((f) => f.direction !== 'loopback') ? true : null;
}

function loopbackVisible(ifaces: Iface[], s: SessionFacts): boolean | null {
  if (ifaces.some((i) => isAnyDevice(i) || isLoopbackIface(i))) return true;
  if (s.flows.some((f) => f.direction === 'loopback')) return true;
  if (ifaces.length > 0 && ifaces.every((i) => i.name !== null)) return false;
  return null;
}

function problems(c: SessionCoverage): string[] {
  const out: string[] = [];
  if (c.loss_estimate !== null && c.loss_estimate > THRESHOLDS.max_loss_percent) {
    out.push(`estimated capture loss ${formatPercent(c.loss_estimate)} of acknowledged TCP bytes, above ${THRESHOLDS.max_loss_percent}%`);
  }
  if (c.drop_percent !== null && c.drop_percent > THRESHOLDS.max_drop_percent) {
    out.push(`the kernel dropped ${c.drops} packets (${formatPercent(c.drop_percent)}), above ${THRESHOLDS.max_drop_percent}%`);
  }
  if (c.off_host_visible === false) out.push('the capture saw only loopback interfaces: traffic leaving the host was not watched');
  if (c.off_host_visible === null) out.push('nothing shows the capture was on an interface that leaves the host (unnamed interface, no off-host traffic)');
  if (c.attribution === 'unavailable') {
    const lsof = c.attribution_sources?.lsof?.unavailable;
    out.push(`no process information${lsof ? ` (${lsof})` : ''}: flows cannot be tied to the Ollama tree`);
  }
  if (c.started_at === INVALID_TIME || c.ended_at === INVALID_TIME) {
    out.push(`the stored capture window is ${INVALID_TIME} (a time before 1990 or past year 9999, from a capture with a broken clock): \`sessions delete ${c.session_id}\` removes it`);
  }
  out.push(...c.store_gaps.map(gapProblem));
  if (hidingExpiries(c) > 0) out.push(expiryProblem(c));
  return out;
}

function expiryProblem(c: SessionCoverage): string {
  const kinds = HIDING_EXPIRIES.filter((k) => (c.expired_early[k] ?? 0) > 0).map((k) => `${k.replace(/_/g, ' ')} ${c.expired_early[k]}`).join(', ');
  return `${hidingExpiries(c)} flows closed early (${kinds}; a full flow table, see --max-flows, or the stop deadline): ` +
    'any flow, an Ollama one too, may be among them, split or missing its names, so no claim can hold';
}

/** Coverage problems that stop a verdict of `holds` for a claim with these needs. */
export function blockers(c: SessionCoverage, needs: { offHost: boolean; attribution: boolean; minCaptureS?: number }): string[] {
  const out: string[] = [];
  if (c.loss_estimate !== null && c.loss_estimate > THRESHOLDS.max_loss_percent) out.push(c.problems.find((p) => p.startsWith('estimated'))!);
  if (c.drop_percent !== null && c.drop_percent > THRESHOLDS.max_drop_percent) out.push(c.problems.find((p) => p.startsWith('the kernel'))!);
  if (needs.offHost && c.off_host_visible !== true) out.push(c.problems.find((p) => /loopback interfaces|leaves the host/.test(p))!);
  if (needs.attribution && c.attribution === 'unavailable') out.push(c.problems.find((p) => p.startsWith('no process'))!);
  // Whatever the claim, traffic in a window the store lost could break it.
  out.push(...c.problems.filter((p) => p.startsWith("the store's disk was full")));
  if (hidingExpiries(c) > 0) out.push(expiryProblem(c));
  if (needs.minCaptureS !== undefined && (c.duration_s ?? 0) < needs.minCaptureS) {
    out.push(`the capture lasts ${(c.duration_s ?? 0).toFixed(1)} s, shorter than the ${needs.minCaptureS} s this claim needs`);
  }
  return out;
}
