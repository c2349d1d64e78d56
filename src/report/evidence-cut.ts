/**
 * Decides, packet by packet, what of a capture goes into a report's evidence.pcapng: only
 * packets of finding flows (5-tuple within the flow's own time span, so a later flow on the
 * same ports is not taken), cut by src/store/evidence-policy.ts keepBytes exactly as the
 * evidence segments are, and with comments that name the process but never its arguments.
 *
 * Beyond the evidence policy, runner connections (`runner` activity: Ollama's server talking
 * to its llama runner on loopback) are cut like the API port: their bodies are the prompt and
 * the answer too. So are the configured API ports of a flow whose activity says API.
 */
import { isApiActivity } from '../knowledge/activity.js';
import type { Packet } from '../capture/packet.js';
import { IPPROTO, type Decoded } from '../decode/decoded.js';
import { processComment } from '../store/evidence-comment.js';
import { redactCmdField } from '../attribution/cmdline-redact.js';
import { keepBytes, newEvidenceFlowState, type EvidenceFlowState } from '../store/evidence-policy.js';
import type { EvidencePolicy } from '../settings.js';
import { addrBytes } from '../decode/addr-parse.js';
import type { FindingFlow } from '../store/read/report-rows.js';

/** head: whole packets for the first 16 KiB of payload each way, then headers only; API bodies never. */
export const REPORT_EVIDENCE_POLICY: EvidencePolicy = 'head';

export interface CutTarget {
  flow: FindingFlow;
  init: Buffer;
  resp: Buffer;
  icmp: boolean;
  /** Ports whose HTTP bodies are cut on this flow. */
  apiPorts: number[];
  st: EvidenceFlowState;
  /** Comment for packets that carry none of their own. */
  comment: string | null;
  written: number;
}

/** Where one kept packet goes: `keep` bytes of it from p.off, with `comment`. */
export type KeepPacket = (p: Packet, keep: number, comment: string | null) => void;

export interface EvidenceCutter {
  /** Offers one decoded packet, in capture order; writes it through `keep` when it belongs to a finding. */
  offer(p: Packet, d: Decoded): void;
  readonly targets: readonly CutTarget[];
}

export function createEvidenceCutter(flows: readonly FindingFlow[], apiPorts: readonly number[], keep: KeepPacket): EvidenceCutter {
  const targets = flows.map((f) => newTarget(f, apiPorts));
  const index = new Map<number, CutTarget[]>();
  for (const t of targets) {
    const k = t.icmp ? tupleKey(t.flow.proto, 0, 0) : tupleKey(t.flow.proto, t.flow.initiator_port, t.flow.responder_port);
    const list = index.get(k);
    if (list) list.push(t);
    else index.set(k, [t]);
  }
  return {
    targets,
    offer(p, d) {
      const icmp = d.proto === IPPROTO.ICMP || d.proto === IPPROTO.ICMPV6;
      const list = index.get(icmp ? tupleKey(d.proto, 0, 0) : tupleKey(d.proto, d.srcPort, d.dstPort));
      if (!list) return;
      for (const t of list) {
        const dir = direction(t, p, d);
        if (dir < 0) continue;
        const n = keepBytes(REPORT_EVIDENCE_POLICY, t.st, dir, p, d, t.apiPorts);
        if (n > 0) {
          keep(p, n, safeComment(p.comment) ?? t.comment);
          t.written++;
        }
        return;
      }
    },
  };
}

function newTarget(f: FindingFlow, apiPorts: readonly number[]): CutTarget {
  const icmp = f.proto === IPPROTO.ICMP || f.proto === IPPROTO.ICMPV6;
  const bodyCarrying = !icmp && (f.activity === 'runner' || isApiActivity(f.activity));
  return {
    flow: f,
    init: addrBytes(f.initiator_addr),
    resp: addrBytes(f.responder_addr),
    icmp,
    apiPorts: bodyCarrying ? [...new Set([...apiPorts, f.responder_port])] : [...apiPorts],
    st: newEvidenceFlowState(),
    comment: f.pid === null ? null : processComment({ pid: f.pid, name: f.comm ?? '', exe: f.exe }),
    written: 0,
  };
}

/** One number per (protocol, unordered port pair). */
function tupleKey(proto: number, a: number, b: number): number {
  return proto * 4294967296 + (a < b ? a * 65536 + b : b * 65536 + a);
}

/** 0 from the initiator, 1 from the responder, -1 not this flow's packet. */
function direction(t: CutTarget, p: Packet, d: Decoded): number {
  const f = t.flow;
  // The store rounds a flow's times to whole µs; a nanosecond capture's packet may sit just outside.
  if (p.ts < f.first_seen - 1 || p.ts > f.last_seen + 1 || d.addrLen !== t.init.length) return -1;
  if (t.icmp && d.srcPort !== f.initiator_port && d.srcPort !== f.responder_port) return -1;
  const fromInit = sameAddr(p.buf, d.srcOff, t.init) && sameAddr(p.buf, d.dstOff, t.resp);
  const fromResp = sameAddr(p.buf, d.srcOff, t.resp) && sameAddr(p.buf, d.dstOff, t.init);
  if (t.icmp) {
    // Both ends may be one address (ping 127.0.0.1): the request type tells the direction then.
    if (fromInit && (!fromResp || d.srcPort === f.initiator_port)) return 0;
    return fromResp ? 1 : -1;
  }
  if (fromInit && d.srcPort === f.initiator_port && d.dstPort === f.responder_port) return 0;
  if (fromResp && d.srcPort === f.responder_port && d.dstPort === f.initiator_port) return 1;
  return -1;
}

function sameAddr(buf: Buffer, off: number, addr: Buffer): boolean {
  for (let i = 0; i < addr.length; i++) if (buf[off + i] !== addr[i]) return false;
  return true;
}

/**
 * A packet's own comment reduced to its `PID:` and `Cmd:` lines. ptcpdump also writes `Args:`,
 * the whole command line, and `ollama run MODEL "prompt"` or `curl -d '{"prompt":...}'` puts a
 * prompt there. A `Cmd:` that holds a whole command line is redacted like one.
 */
export function safeComment(comment: string | null): string | null {
  if (comment === null) return null;
  const lines = comment.split(/\r?\n/).filter((l) => /^(PID|Cmd):/.test(l))
    .map((l) => (l.startsWith('Cmd:') ? `Cmd: ${redactCmdField(l.slice(4).trim())}` : l));
  return lines.length > 0 ? lines.join('\n') : null;
}
