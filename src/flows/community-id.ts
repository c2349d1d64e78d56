import { IPPROTO } from '../decode/decoded.js';
import { icmpCounterpart } from './icmp-counterpart.js';
import { sha1Short } from './sha1-block.js';
import type { Flow } from './flow.js';

const IPPROTO_SCTP = 132;

/** What a Community ID is computed from (a Flow, or the import writer thread's view of one) and kept in. */
export type CommunityIdSource = Pick<Flow, 'communityId' | 'initiatorAddr' | 'responderAddr' | 'proto' | 'initiatorPort' | 'responderPort'>;

/** A flow's Community ID, computed at the first call and kept on the flow. */
export function communityIdOf(f: CommunityIdSource): string {
  return f.communityId ?? (f.communityId = communityIdV1(f.initiatorAddr, f.responderAddr, f.proto, f.initiatorPort, f.responderPort));
}

/** Hash input: seed(2) saddr(4|16) daddr(4|16) proto(1) pad(1) sport(2) dport(2), at most 40 bytes. */
const scratch = Buffer.alloc(40);
const digest = Buffer.alloc(20);

/**
 * Community ID v1 (github.com/corelight/community-id-spec): "1:" + base64(SHA-1(...)).
 * For ICMP/ICMPv6 pass the type as srcPort and the code as dstPort: the type/counterpart
 * mapping and the one-way rule are applied here. Protocols other than TCP, UDP, SCTP, ICMP
 * and ICMPv6 hash without ports. Called once per flow.
 */
export function communityIdV1(
  srcAddr: Uint8Array, dstAddr: Uint8Array, proto: number, srcPort: number, dstPort: number, seed = 0,
): string {
  if (srcAddr.length !== dstAddr.length || (srcAddr.length !== 4 && srcAddr.length !== 16)) {
    throw new RangeError('community id: addresses must both be 4 or both 16 bytes');
  }
  let oneWay = false;
  if (proto === IPPROTO.ICMP || proto === IPPROTO.ICMPV6) {
    const counter = icmpCounterpart(proto, srcPort);
    if (counter < 0) oneWay = true;
    else dstPort = counter;
  }
  let a = srcAddr;
  let b = dstAddr;
  let pa = srcPort;
  let pb = dstPort;
  if (!oneWay && !endpointLess(srcAddr, srcPort, dstAddr, dstPort)) {
    a = dstAddr;
    b = srcAddr;
    pa = dstPort;
    pb = srcPort;
  }
  const n = a.length;
  scratch.writeUInt16BE(seed & 0xffff, 0);
  scratch.set(a, 2);
  scratch.set(b, 2 + n);
  let p = 2 + 2 * n;
  scratch[p++] = proto;
  scratch[p++] = 0;
  if (hasPorts(proto)) {
    scratch.writeUInt16BE(pa, p);
    scratch.writeUInt16BE(pb, p + 2);
    p += 4;
  }
  sha1Short(scratch, p, digest);
  return '1:' + digest.toString('base64');
}

/**
 * By protocol number, 1 when its hash takes ports. A table, not a chain of compares: a compare
 * a TCP flow never reaches (UDP's, after TCP's matched) was first made at the first UDP flow, in an
 * import often the capture's end, and threw away the compiled code of every caller.
 */
const HAS_PORTS = new Uint8Array(256);
for (const p of [IPPROTO.TCP, IPPROTO.UDP, IPPROTO_SCTP, IPPROTO.ICMP, IPPROTO.ICMPV6]) HAS_PORTS[p] = 1;

function hasPorts(proto: number): boolean {
  return HAS_PORTS[proto & 0xff] === 1;
}

/** (addrA, portA) < (addrB, portB): addresses compared as unsigned bytes, then ports. */
function endpointLess(addrA: Uint8Array, portA: number, addrB: Uint8Array, portB: number): boolean {
  for (let i = 0; i < addrA.length; i++) {
    if (addrA[i] !== addrB[i]) return addrA[i] < addrB[i];
  }
  return portA < portB;
}
