// Deterministic benchmark capture: N packets over F flows (TCP with handshakes, some TLS
// ClientHellos and HTTP requests; UDP; DNS query/response pairs), Ethernet, classic pcap.
// Same arguments -> the same file, byte for byte (seeded PRNG, fixed start time).
import dnsPacket from 'dns-packet';

function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ETH = 14, IP = 20, TCP = 20, UDP = 8;

function clientHello(name) {
  // A minimal TLS 1.2-style ClientHello with server_name and ALPN: enough for SNI parsing.
  const host = Buffer.from(name);
  const sni = Buffer.alloc(9 + host.length);
  sni.writeUInt16BE(0, 0); sni.writeUInt16BE(5 + host.length, 2); sni.writeUInt16BE(3 + host.length, 4);
  sni[6] = 0; sni.writeUInt16BE(host.length, 7); host.copy(sni, 9);
  const alpnList = Buffer.from([2, 0x68, 0x32, 8, ...Buffer.from('http/1.1')]);
  const alpn = Buffer.alloc(6 + alpnList.length);
  alpn.writeUInt16BE(16, 0); alpn.writeUInt16BE(2 + alpnList.length, 2); alpn.writeUInt16BE(alpnList.length, 4); alpnList.copy(alpn, 6);
  const ext = Buffer.concat([sni, alpn]);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0, 0, 2, 0x13, 0x01, 1, 0]), Buffer.from([ext.length >> 8, ext.length & 255]), ext]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1, hs.length >> 8, hs.length & 255]), hs]);
}

function ipv4(buf, off, src, dst, proto, len) {
  buf[off] = 0x45; buf[off + 1] = 0; buf.writeUInt16BE(len, off + 2); buf.writeUInt32BE(0, off + 4);
  buf[off + 8] = 64; buf[off + 9] = proto; buf.writeUInt16BE(0, off + 10);
  buf.writeUInt32BE(src >>> 0, off + 12); buf.writeUInt32BE(dst >>> 0, off + 16);
}

/** Builds flow plans: each flow is a list of packet specs produced lazily by its kind. */
function makeFlows(flowCount, packetTarget, rand) {
  const flows = [];
  const dnsFlows = Math.floor(flowCount * 0.1);
  const udpFlows = Math.floor(flowCount * 0.15);
  const tcpFlows = flowCount - dnsFlows - udpFlows;
  const dnsPackets = dnsFlows * 2;
  const perUdp = 20;
  const tcpBudget = packetTarget - dnsPackets - udpFlows * perUdp;
  const perTcpBase = Math.floor(tcpBudget / tcpFlows);
  let tcpExtra = tcpBudget - perTcpBase * tcpFlows;
  for (let i = 0; i < flowCount; i++) {
    const client = (10 << 24) | (1 << 16) | (i >> 8 & 0xff) << 8 | (i & 0xff);
    const server = (198 << 24) | (51 << 16) | (100 << 8) | (1 + (i % 200));
    const cport = 20000 + (i % 40000);
    if (i % 10 === 0) {
      flows.push({ kind: 'dns', client, server: (198 << 24) | (51 << 16) | (100 << 8) | 53, cport, sport: 53, packets: 2, name: `host${i}.example.net`, id: i & 0xffff });
    } else if (i % 20 === 1 || i % 20 === 3 || i % 20 === 5) {
      flows.push({ kind: 'udp', client, server, cport, sport: 4000 + (i % 1000), packets: perUdp });
    } else {
      let n = perTcpBase;
      if (tcpExtra > 0) { n++; tcpExtra--; }
      const sport = i % 7 === 0 ? 443 : i % 7 === 1 ? 80 : 8000 + (i % 100);
      flows.push({ kind: 'tcp', client, server, cport, sport, packets: n, name: `svc${i % 5000}.example.com` });
    }
  }
  // The plan above put exactly udpFlows/dnsFlows in proportion only approximately: fix the total.
  return flows;
}

/** Writes the capture; `writer` has writePacket(tsUs, buf, off, caplen, origLen). Returns counts. */
export function generate(writer, { packets = 1_000_000, flows: flowCount = 50_000, concurrency = 2000, seed = 1 } = {}) {
  const rand = mulberry32(seed);
  const flows = makeFlows(flowCount, packets, rand);
  const frame = Buffer.alloc(2048);
  // Ethernet header: fixed MACs, IPv4.
  Buffer.from('020000000002020000000001', 'hex').copy(frame, 0);
  frame.writeUInt16BE(0x0800, 12);
  let ts = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs
  let written = 0;
  const active = [];
  let next = 0;
  const state = new Map();
  while (active.length < concurrency && next < flows.length) active.push(next++);
  let slot = 0;
  while (active.length > 0) {
    if (slot >= active.length) slot = 0;
    const fi = active[slot];
    const f = flows[fi];
    const k = state.get(fi) ?? 0;
    const len = buildPacket(frame, f, k, rand);
    writer.writePacket(ts, frame, 0, len, len);
    written++;
    ts += 5 + Math.floor(rand() * 10);
    if (k + 1 >= f.packets) {
      state.delete(fi);
      if (next < flows.length) active[slot] = next++;
      else active.splice(slot, 1);
    } else {
      state.set(fi, k + 1);
      slot++;
    }
  }
  return { packets: written, flows: flows.length };
}

function buildPacket(frame, f, k, rand) {
  if (f.kind === 'dns') return dnsFrame(frame, f, k);
  if (f.kind === 'udp') {
    const fromClient = k % 2 === 0;
    const payload = 20 + Math.floor(rand() * 100);
    return udpFrame(frame, fromClient ? f.client : f.server, fromClient ? f.server : f.client, fromClient ? f.cport : f.sport, fromClient ? f.sport : f.cport, payload, null);
  }
  return tcpFrame(frame, f, k, rand);
}

function udpFrame(frame, src, dst, sp, dp, payloadLen, payload) {
  const ipLen = IP + UDP + payloadLen;
  ipv4(frame, ETH, src, dst, 17, ipLen);
  const u = ETH + IP;
  frame.writeUInt16BE(sp, u); frame.writeUInt16BE(dp, u + 2); frame.writeUInt16BE(UDP + payloadLen, u + 4); frame.writeUInt16BE(0, u + 6);
  if (payload) payload.copy(frame, u + UDP); else frame.fill(0x61, u + UDP, u + UDP + payloadLen);
  return ETH + ipLen;
}

function dnsFrame(frame, f, k) {
  const q = { id: f.id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: f.name }] };
  const msg = k === 0
    ? dnsPacket.encode({ ...q, type: 'query' })
    : dnsPacket.encode({ ...q, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, answers: [{ type: 'A', name: f.name, ttl: 300, data: `198.51.100.${1 + (f.id % 200)}` }] });
  return k === 0
    ? udpFrame(frame, f.client, f.server, f.cport, 53, msg.length, msg)
    : udpFrame(frame, f.server, f.client, 53, f.cport, msg.length, msg);
}

function tcpFrame(frame, f, k, rand) {
  // k: 0 SYN, 1 SYN-ACK, 2 ACK, 3.. data alternating, last two FIN / ACK.
  const n = f.packets;
  let fromClient, flags, payloadLen = 0, payload = null;
  if (k === 0) { fromClient = true; flags = 0x02; }
  else if (k === 1) { fromClient = false; flags = 0x12; }
  else if (k === 2) { fromClient = true; flags = 0x10; }
  else if (k === n - 2) { fromClient = true; flags = 0x11; }
  else if (k === n - 1) { fromClient = false; flags = 0x11; }
  else {
    fromClient = k % 2 === 1;
    flags = 0x18;
    if (k === 3 && f.sport === 443) payload = clientHello(f.name);
    else if (k === 3 && f.sport === 80) payload = Buffer.from(`GET /item/${f.cport} HTTP/1.1\r\nHost: ${f.name}\r\nUser-Agent: bench\r\n\r\n`);
    else if (k === 4 && f.sport === 80) payload = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    payloadLen = payload ? payload.length : 40 + Math.floor(rand() * 160);
  }
  const st = f.seqState ?? (f.seqState = { c: 1000, s: 5000 });
  const src = fromClient ? f.client : f.server, dst = fromClient ? f.server : f.client;
  const ipLen = IP + TCP + payloadLen;
  ipv4(frame, ETH, src, dst, 6, ipLen);
  const t = ETH + IP;
  frame.writeUInt16BE(fromClient ? f.cport : f.sport, t);
  frame.writeUInt16BE(fromClient ? f.sport : f.cport, t + 2);
  frame.writeUInt32BE((fromClient ? st.c : st.s) >>> 0, t + 4);
  frame.writeUInt32BE(flags & 0x10 ? ((fromClient ? st.s : st.c) >>> 0) : 0, t + 8);
  frame[t + 12] = 0x50; frame[t + 13] = flags; frame.writeUInt16BE(65535, t + 14); frame.writeUInt32BE(0, t + 16);
  if (payload) payload.copy(frame, t + TCP); else frame.fill(0x62, t + TCP, t + TCP + payloadLen);
  const adv = payloadLen + (flags & 0x03 ? 1 : 0);
  if (fromClient) st.c += adv; else st.s += adv;
  return ETH + ipLen;
}
