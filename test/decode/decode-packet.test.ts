import { describe, expect, it } from 'vitest';
import { LINKTYPE, type Packet } from '../../src/capture/packet.js';
import { addrToString } from '../../src/decode/addr.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts, type Decoded, type SkipCounts, type SkipReason } from '../../src/decode/decoded.js';
import {
  bsdNull, eth, ext8, fragHdr, icmp, ipv4, ipv6, packet, sll, sll2, tcp, udp,
} from './frames.js';

function decode(p: Packet): { ok: boolean; d: Decoded; skips: SkipCounts } {
  const d = newDecoded();
  const skips = newSkipCounts();
  const ok = decodePacket(p, d, skips);
  return { ok, d, skips };
}

/** Asserts the packet was skipped for exactly `reason`, counted once. */
function expectSkip(p: Packet, reason: SkipReason): void {
  const { ok, skips } = decode(p);
  expect(ok).toBe(false);
  const counted = Object.entries(skips).filter(([, n]) => n !== 0);
  expect(counted).toEqual([[reason, 1]]);
}

function tuple(p: Packet, d: Decoded): string {
  const src = addrToString(p.buf, d.srcOff, d.addrLen);
  const dst = addrToString(p.buf, d.dstOff, d.addrLen);
  return `${d.proto} ${src}:${d.srcPort} > ${dst}:${d.dstPort}`;
}

// 192.0.2.10:40000 -> 198.51.100.7:443, TCP PSH|ACK with 5 payload bytes: IP 20 + TCP 20 + 5 = 45.
const TCP_PAYLOAD = Buffer.from('hello');
const V4_TCP = ipv4({
  src: '192.0.2.10', dst: '198.51.100.7', proto: 6,
  payload: tcp({ sport: 40000, dport: 443, seq: 0x01020304, ack: 0xfffffffe, flags: 0x18, payload: TCP_PAYLOAD }),
});
const V4_TCP_TUPLE = '6 192.0.2.10:40000 > 198.51.100.7:443';

function expectV4Tcp(p: Packet, l3Off: number): void {
  const { ok, d, skips } = decode(p);
  expect(Object.values(skips).every((n) => n === 0)).toBe(true);
  expect(ok).toBe(true);
  expect(tuple(p, d)).toBe(V4_TCP_TUPLE);
  expect(d.ipVersion).toBe(4);
  expect(d.addrLen).toBe(4);
  expect(d.srcOff).toBe(p.off + l3Off + 12);
  expect(d.dstOff).toBe(p.off + l3Off + 16);
  expect(d.ipLen).toBe(45);
  expect(d.payloadOff).toBe(p.off + l3Off + 40);
  expect(d.payloadLen).toBe(5);
  expect(d.payloadWireLen).toBe(5);
  expect(p.buf.toString('latin1', d.payloadOff, d.payloadOff + d.payloadLen)).toBe('hello');
  expect(d.tcpFlags).toBe(0x18);
  expect(d.tcpSeq).toBe(0x01020304);
  expect(d.tcpAck).toBe(0xfffffffe);
  expect(d.fragment).toBe(0);
}

describe('decodePacket: a literal frame', () => {
  it('reads an Ethernet/IPv4/TCP SYN with 20 bytes of options, values worked out by hand', () => {
    const hex =
      '020000000002' + '020000000001' + '0800' +
      '4500003c1c4640004006' + '0000' + 'c0a80001' + 'c0a800c7' +
      'c35001bb' + '00000001' + '00000000' + 'a002ffff' + '00000000' +
      '020405b40402080a000000000000000001030307';
    const p = packet(LINKTYPE.ETHERNET, Buffer.from(hex, 'hex'));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('6 192.168.0.1:50000 > 192.168.0.199:443');
    expect(d.ipLen).toBe(60);
    expect(d.tcpFlags).toBe(0x02);
    expect(d.tcpSeq).toBe(1);
    expect(d.payloadOff).toBe(p.off + 14 + 20 + 40);
    expect(d.payloadLen).toBe(0);
    expect(d.payloadWireLen).toBe(0);
  });
});

describe('decodePacket: link layers', () => {
  it('Ethernet II', () => expectV4Tcp(packet(LINKTYPE.ETHERNET, eth(0x0800, V4_TCP)), 14));

  it('802.1Q VLAN tag', () => {
    expectV4Tcp(packet(LINKTYPE.ETHERNET, eth(0x0800, V4_TCP, [{ tpid: 0x8100, vid: 100 }])), 18);
  });

  it('802.1ad QinQ (0x88a8 outer, 0x8100 inner) and the old 0x9100 outer', () => {
    expectV4Tcp(packet(LINKTYPE.ETHERNET, eth(0x0800, V4_TCP, [{ tpid: 0x88a8, vid: 10 }, { tpid: 0x8100, vid: 20 }])), 22);
    expectV4Tcp(packet(LINKTYPE.ETHERNET, eth(0x0800, V4_TCP, [{ tpid: 0x9100, vid: 10 }, { tpid: 0x8100, vid: 20 }])), 22);
  });

  it('802.3 length field (LLC) and ARP are non-ip', () => {
    const llc = Buffer.concat([Buffer.from('424203', 'hex'), Buffer.alloc(40)]);
    expectSkip(packet(LINKTYPE.ETHERNET, eth(llc.length, llc)), 'non-ip');
    expectSkip(packet(LINKTYPE.ETHERNET, eth(0x0806, Buffer.alloc(28))), 'non-ip');
    expectSkip(packet(LINKTYPE.ETHERNET, eth(0x0806, Buffer.alloc(28), [{ tpid: 0x8100, vid: 5 }])), 'non-ip');
  });

  it('Linux cooked SLL (113), also with a re-inserted VLAN tag', () => {
    expectV4Tcp(packet(LINKTYPE.LINUX_SLL, sll(0x0800, V4_TCP)), 16);
    const tagged = Buffer.concat([Buffer.from('00640800', 'hex'), V4_TCP]);
    expectV4Tcp(packet(LINKTYPE.LINUX_SLL, sll(0x8100, tagged)), 20);
    // Netlink (ARPHRD 824) puts a netlink family where the protocol goes: never IP.
    expectSkip(packet(LINKTYPE.LINUX_SLL, sll(0x0800, V4_TCP, 824)), 'non-ip');
  });

  it('Linux cooked SLL2 (276): protocol first, 20-byte header', () => {
    expectV4Tcp(packet(LINKTYPE.LINUX_SLL2, sll2(0x0800, V4_TCP)), 20);
    expectSkip(packet(LINKTYPE.LINUX_SLL2, sll2(0x0806, Buffer.alloc(28))), 'non-ip');
  });

  it('raw IP link types 101, 228, 229 and the old 12 / 14', () => {
    for (const lt of [LINKTYPE.RAW, 12, 14, LINKTYPE.IPV4]) expectV4Tcp(packet(lt, V4_TCP), 0);
    const v6 = ipv6('2001:db8::1', '2001:db8::2', 17, udp(5353, 5353, Buffer.from('abc')));
    for (const lt of [LINKTYPE.RAW, 12, 14, LINKTYPE.IPV6]) {
      const p = packet(lt, v6);
      const { ok, d } = decode(p);
      expect(ok).toBe(true);
      expect(tuple(p, d)).toBe('17 2001:db8::1:5353 > 2001:db8::2:5353');
    }
    // The link type promises one version and the packet is the other.
    expectSkip(packet(LINKTYPE.IPV6, V4_TCP), 'bad-ip-header');
    expectSkip(packet(LINKTYPE.IPV4, v6), 'bad-ip-header');
  });

  it('BSD NULL (0) and LOOP (108) with the AF in either byte order', () => {
    const v6 = ipv6('fe80::1', 'fe80::2', 58, icmp(128, 0));
    for (const lt of [LINKTYPE.NULL, LINKTYPE.LOOP]) {
      for (const be of [false, true]) {
        expectV4Tcp(packet(lt, bsdNull(2, be, V4_TCP)), 4);
        for (const af of [24, 28, 30]) {
          const p = packet(lt, bsdNull(af, be, v6));
          const { ok, d } = decode(p);
          expect(ok).toBe(true);
          expect(tuple(p, d)).toBe('58 fe80::1:128 > fe80::2:0');
        }
        expectSkip(packet(lt, bsdNull(23, be, Buffer.alloc(30))), 'non-ip'); // 23 is IPX on the BSDs
      }
    }
  });

  it('unknown link types are counted, not guessed', () => {
    expectSkip(packet(105, V4_TCP), 'unknown-linktype'); // 802.11
  });
});

describe('decodePacket: IPv4', () => {
  it('skips options by IHL', () => {
    const withOpts = ipv4({
      src: '10.0.0.1', dst: '10.0.0.2', proto: 17, options: Buffer.from('01010100', 'hex'), // NOP NOP NOP EOL
      payload: udp(1234, 53, Buffer.alloc(10)),
    });
    const p = packet(LINKTYPE.RAW, withOpts);
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('17 10.0.0.1:1234 > 10.0.0.2:53');
    expect(d.ipLen).toBe(24 + 8 + 10);
    expect(d.payloadOff).toBe(p.off + 24 + 8);
    expect(d.payloadLen).toBe(10);
  });

  it('a first fragment still yields ports; a later one is counted as ip-fragment', () => {
    const first = packet(LINKTYPE.RAW, ipv4({
      src: '10.0.0.1', dst: '10.0.0.2', proto: 17, mf: true, payload: udp(4000, 5000, Buffer.alloc(24), 1000),
    }));
    const r = decode(first);
    expect(r.ok).toBe(true);
    expect(r.d.fragment).toBe(1);
    expect(tuple(first, r.d)).toBe('17 10.0.0.1:4000 > 10.0.0.2:5000');
    // The UDP length (1000) runs past this fragment: the payload is bounded by the IP datagram.
    expect(r.d.payloadWireLen).toBe(24);

    const later = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, fragOffset8: 4, payload: Buffer.alloc(100) });
    expectSkip(packet(LINKTYPE.RAW, later), 'ip-fragment');
    const lastOne = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, mf: false, fragOffset8: 200, payload: Buffer.alloc(8) });
    expectSkip(packet(LINKTYPE.RAW, lastOne), 'ip-fragment');
  });

  it('bad headers: version, IHL below 5, total length below the header', () => {
    expectSkip(packet(LINKTYPE.ETHERNET, eth(0x0800, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, payload: Buffer.alloc(20), version: 5 }))), 'bad-ip-header');
    expectSkip(packet(LINKTYPE.ETHERNET, eth(0x0800, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, payload: Buffer.alloc(20), ihl: 4 }))), 'bad-ip-header');
    expectSkip(packet(LINKTYPE.ETHERNET, eth(0x0800, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, payload: Buffer.alloc(20), totalLen: 19 }))), 'bad-ip-header');
    expectSkip(packet(LINKTYPE.RAW, Buffer.concat([Buffer.from([0x75]), Buffer.alloc(40)])), 'bad-ip-header');
  });

  it('total length 0 (a TSO capture on the sender) takes the captured length', () => {
    const p = packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, totalLen: 0,
      payload: tcp({ sport: 1, dport: 2, flags: 0x10, payload: Buffer.alloc(3000) }) }));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(d.ipLen).toBe(20 + 20 + 3000);
    expect(d.payloadWireLen).toBe(3000);
  });
});

describe('decodePacket: IPv6 extension headers', () => {
  const inner = udp(40000, 53, Buffer.from('q'));

  it('walks hop-by-hop then fragment (first fragment) to UDP', () => {
    const body = Buffer.concat([ext8(44, 0), fragHdr(17, 0, true), inner]);
    const p = packet(LINKTYPE.ETHERNET, eth(0x86dd, ipv6('2001:db8::a', '2001:db8::b', 0, body)));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('17 2001:db8::a:40000 > 2001:db8::b:53');
    expect(d.fragment).toBe(1);
    expect(d.ipLen).toBe(40 + 8 + 8 + 9);
    expect(d.payloadOff).toBe(p.off + 14 + 40 + 16 + 8);
    expect(d.payloadLen).toBe(1);
  });

  it('walks routing, destination options (longer than 8 bytes) and AH', () => {
    const ah = Buffer.alloc(16); // AH length field 2 -> (2 + 2) * 4 = 16 bytes
    ah[0] = 6;
    ah[1] = 2;
    const t = tcp({ sport: 5555, dport: 11434, flags: 0x02 });
    const body = Buffer.concat([ext8(60, 0), ext8(51, 2), ah, t]); // routing(8) -> dstopts(24) -> AH(16) -> TCP
    const p = packet(LINKTYPE.RAW, ipv6('fd00::1', 'fd00::2', 43, body));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('6 fd00::1:5555 > fd00::2:11434');
    expect(d.payloadOff).toBe(p.off + 40 + 8 + 24 + 16 + 20);
  });

  it('a later fragment is ip-fragment; an extension header past the payload length is bad', () => {
    const later = Buffer.concat([fragHdr(17, 100, false), Buffer.alloc(16)]);
    expectSkip(packet(LINKTYPE.RAW, ipv6('2001:db8::a', '2001:db8::b', 44, later)), 'ip-fragment');
    // hop-by-hop claims 8 * (1 + 10) = 88 bytes but the payload length is 16
    const longExt = Buffer.concat([ext8(17, 0), Buffer.alloc(8)]);
    longExt[1] = 10;
    expectSkip(packet(LINKTYPE.RAW, ipv6('2001:db8::a', '2001:db8::b', 0, longExt)), 'bad-ipv6-extension');
    // payload length 4 cannot hold any extension header
    expectSkip(packet(LINKTYPE.RAW, ipv6('2001:db8::a', '2001:db8::b', 60, Buffer.alloc(16), 4)), 'bad-ipv6-extension');
  });

  it('an endless chain of destination options stops', () => {
    const chain = Buffer.concat(Array.from({ length: 40 }, () => ext8(60, 0)));
    expectSkip(packet(LINKTYPE.RAW, ipv6('2001:db8::a', '2001:db8::b', 60, chain)), 'bad-ipv6-extension');
  });

  it('no next header (59) and ESP are port-less flows', () => {
    const p = packet(LINKTYPE.RAW, ipv6('2001:db8::a', '2001:db8::b', 50, Buffer.alloc(32)));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('50 2001:db8::a:0 > 2001:db8::b:0');
    expect(d.payloadWireLen).toBe(32);
    const none = decode(packet(LINKTYPE.RAW, ipv6('2001:db8::a', '2001:db8::b', 59, Buffer.alloc(0))));
    expect(none.ok).toBe(true);
    expect(none.d.proto).toBe(59);
    expect(none.d.ipLen).toBe(40);
  });
});

describe('decodePacket: transport', () => {
  it('ICMP and ICMPv6 put type and code in the ports; payload follows the 8-byte header', () => {
    const p = packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1, payload: icmp(3, 1, Buffer.alloc(4), Buffer.alloc(28)) }));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('1 10.0.0.1:3 > 10.0.0.2:1');
    expect(d.payloadWireLen).toBe(28);
    const p6 = packet(LINKTYPE.RAW, ipv6('fe80::1', 'ff02::1:ff00:2', 58, icmp(135, 0, Buffer.alloc(4), Buffer.alloc(16))));
    const r6 = decode(p6);
    expect(tuple(p6, r6.d)).toBe('58 fe80::1:135 > ff02::1:ff00:2:0');
  });

  it('other IP protocols (GRE) are port-less flows', () => {
    const p = packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 47, payload: Buffer.alloc(24) }));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('47 10.0.0.1:0 > 10.0.0.2:0');
    expect(d.payloadOff).toBe(p.off + 20);
    expect(d.payloadWireLen).toBe(24);
  });

  it('SCTP carries its ports in the common header (RFC 9260 3.1), so they key the flow', () => {
    // src port 0x0b59 = 2905 (M3UA), dst port 0x1f90 = 8080, verification tag, checksum, then one chunk.
    const sctp = Buffer.from('0b591f90' + 'deadbeef' + '00000000' + '00010008' + '00000000', 'hex');
    const p = packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 132, payload: sctp }));
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(tuple(p, d)).toBe('132 10.0.0.1:2905 > 10.0.0.2:8080');
    expect(d.payloadOff).toBe(p.off + 20 + 12);
    expect(d.payloadWireLen).toBe(8);
    expectSkip(packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 132, payload: Buffer.alloc(8) })), 'bad-transport-header');
  });

  it('bad transport headers: TCP data offset below 5 or past the datagram, UDP length below 8, short ICMP', () => {
    const v4 = (proto: number, payload: Buffer) => packet(LINKTYPE.RAW, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto, payload }));
    expectSkip(v4(6, tcp({ sport: 1, dport: 2, flags: 2, dataOffsetWords: 4 })), 'bad-transport-header');
    expectSkip(v4(6, tcp({ sport: 1, dport: 2, flags: 2, dataOffsetWords: 15 })), 'bad-transport-header');
    expectSkip(v4(17, udp(1, 2, Buffer.alloc(4), 7)), 'bad-transport-header');
    expectSkip(v4(6, Buffer.alloc(12)), 'bad-transport-header'); // the datagram itself is too short for TCP
    expectSkip(v4(1, Buffer.alloc(4)), 'bad-transport-header');
  });

  it('Ethernet padding is not payload', () => {
    // IPv4 20 + UDP 8 + 2 payload = 30 bytes, padded to the 46-byte Ethernet minimum.
    const ip = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udp(1000, 2000, Buffer.from('hi')) });
    const frame = eth(0x0800, Buffer.concat([ip, Buffer.alloc(16, 0xaa)]));
    expect(frame.length).toBe(60);
    const p = packet(LINKTYPE.ETHERNET, frame);
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(d.ipLen).toBe(30);
    expect(d.payloadLen).toBe(2);
    expect(d.payloadWireLen).toBe(2);
    // same with TCP (no UDP length to lean on)
    const ipt = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, payload: tcp({ sport: 1000, dport: 80, flags: 0x10 }) });
    const pt = packet(LINKTYPE.ETHERNET, eth(0x0800, Buffer.concat([ipt, Buffer.alloc(6)])));
    const rt = decode(pt);
    expect(rt.d.ipLen).toBe(40);
    expect(rt.d.payloadLen).toBe(0);
    expect(rt.d.payloadWireLen).toBe(0);
  });

  it('a snaplen cut keeps the wire payload length and the captured part apart', () => {
    const frame = eth(0x0800, V4_TCP);
    const p = packet(LINKTYPE.ETHERNET, frame, { caplen: frame.length - 3 });
    const { ok, d } = decode(p);
    expect(ok).toBe(true);
    expect(d.payloadLen).toBe(2);
    expect(d.payloadWireLen).toBe(5);
    expect(d.ipLen).toBe(45);
  });

  it('TCP options cut by the snaplen still count the packet, with no captured payload', () => {
    const t = tcp({ sport: 1, dport: 2, flags: 0x02, options: Buffer.from('020405b40101040201030307', 'hex') });
    const frame = eth(0x0800, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, payload: t }));
    const { ok, d } = decode(packet(LINKTYPE.ETHERNET, frame, { caplen: 14 + 20 + 24 }));
    expect(ok).toBe(true);
    expect(d.tcpFlags).toBe(2);
    expect(d.payloadLen).toBe(0);
    expect(d.payloadWireLen).toBe(0);
  });
});

describe('decodePacket: truncated at every layer', () => {
  it('Ethernet/IPv4/TCP cut at every length gives the reason of the layer it ends in', () => {
    const frame = eth(0x0800, V4_TCP);
    for (let cut = 0; cut < frame.length; cut++) {
      const p = packet(LINKTYPE.ETHERNET, frame, { caplen: cut });
      if (cut < 14) expectSkip(p, 'truncated-link-header');
      else if (cut < 34) expectSkip(p, 'truncated-ip-header');
      else if (cut < 54) expectSkip(p, 'truncated-transport-header');
      else expect(decode(p).ok).toBe(true);
    }
  });

  it('QinQ/IPv6/hop-by-hop/UDP cut at every length', () => {
    const body = Buffer.concat([ext8(17, 1), udp(1, 2, Buffer.from('xyz'))]); // 16-byte hop-by-hop
    const frame = eth(0x86dd, ipv6('2001:db8::1', '2001:db8::2', 0, body), [{ tpid: 0x88a8, vid: 1 }, { tpid: 0x8100, vid: 2 }]);
    for (let cut = 0; cut < frame.length; cut++) {
      const p = packet(LINKTYPE.ETHERNET, frame, { caplen: cut });
      if (cut < 14 + 8) expectSkip(p, 'truncated-link-header');
      else if (cut < 22 + 40 + 16) expectSkip(p, 'truncated-ip-header');
      else if (cut < 22 + 56 + 8) expectSkip(p, 'truncated-transport-header');
      else expect(decode(p).ok).toBe(true);
    }
  });

  it('SLL, SLL2 and NULL headers cut short', () => {
    expectSkip(packet(LINKTYPE.LINUX_SLL, sll(0x0800, V4_TCP), { caplen: 15 }), 'truncated-link-header');
    expectSkip(packet(LINKTYPE.LINUX_SLL2, sll2(0x0800, V4_TCP), { caplen: 19 }), 'truncated-link-header');
    expectSkip(packet(LINKTYPE.NULL, bsdNull(2, false, V4_TCP), { caplen: 3 }), 'truncated-link-header');
    expectSkip(packet(LINKTYPE.LINUX_SLL2, sll2(0x0800, V4_TCP), { caplen: 20 }), 'truncated-ip-header');
  });

  it('a caplen beyond the buffer is bounded by the buffer', () => {
    const p = packet(LINKTYPE.RAW, V4_TCP);
    p.buf = p.buf.subarray(0, p.off + 30);
    expectSkip(p, 'truncated-transport-header');
  });
});

describe('decodePacket: reuse', () => {
  it('one Decoded reused across packets carries nothing over', () => {
    const d = newDecoded();
    const skips = newSkipCounts();
    const a = packet(LINKTYPE.RAW, V4_TCP);
    const b = packet(LINKTYPE.RAW, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udp(1, 2, Buffer.alloc(0)) }));
    expect(decodePacket(a, d, skips)).toBe(true);
    expect(decodePacket(b, d, skips)).toBe(true);
    expect(d.tcpFlags).toBe(0);
    expect(d.tcpSeq).toBe(0);
    expect(d.payloadLen).toBe(0);
    expect(d.fragment).toBe(0);
  });
});
