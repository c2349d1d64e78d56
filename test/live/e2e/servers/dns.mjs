// Copy of fixtures/make/servers/dns.mjs that answers after OAE2E_DNS_DELAY_MS (default 0), like a
// resolver some milliseconds away: on a veth an answer otherwise comes back in ~0.1 ms, sooner than
// anything real, and the client's socket is gone before any observer could look at it.
// Authoritative-only DNS for the fixture "internet": UDP and TCP on port 53 of the given addresses.
// Usage: node dns.mjs <addr> [<addr>...]
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

const TTL = 300;
const DELAY_MS = Number(process.env.OAE2E_DNS_DELAY_MS ?? 0);
// One CNAME hop like the real registry (registry.ollama.ai is served through Cloudflare).
const CNAMES = { 'registry.ollama.ai': 'registry.ollama.ai.cdn.cloudflare.net' };
const RECORDS = {
  'registry.ollama.ai.cdn.cloudflare.net': { A: ['203.0.113.10'], AAAA: ['2001:db8:2::10'] },
  'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com': { A: ['203.0.113.20'] },
  'ollama.com': { A: ['203.0.113.30'] },
  'example.org': { A: ['203.0.113.80'], AAAA: ['2001:db8:2::80'] },
  'proxy.test': { A: ['203.0.113.128'] },
};

function known(name) {
  return name in CNAMES || name in RECORDS;
}

function answersFor(name, type) {
  const out = [];
  let cur = name;
  while (CNAMES[cur] && type !== 'CNAME') {
    out.push({ name: cur, type: 'CNAME', ttl: TTL, class: 'IN', data: CNAMES[cur] });
    cur = CNAMES[cur];
  }
  for (const data of RECORDS[cur]?.[type] ?? []) out.push({ name: cur, type, ttl: TTL, class: 'IN', data });
  return out;
}

function respond(queryBuf) {
  const q = dnsPacket.decode(queryBuf);
  const question = q.questions[0];
  const name = question.name.toLowerCase().replace(/\.$/, '');
  const ok = known(name);
  return dnsPacket.encode({
    id: q.id,
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (q.flags & dnsPacket.RECURSION_DESIRED) | (ok ? 0 : 3), // rcode 3 = NXDOMAIN
    questions: q.questions,
    answers: ok ? answersFor(name, question.type) : [],
  });
}

function serveUdp(addr) {
  const sock = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (msg, rinfo) => setTimeout(() => sock.send(respond(msg), rinfo.port, rinfo.address), DELAY_MS));
  sock.bind(53, addr);
}

function serveTcp(addr) {
  net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const reply = respond(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        setTimeout(() => conn.write(framed), DELAY_MS);
      }
    });
    conn.on('error', () => {});
  }).listen(53, addr);
}

for (const addr of process.argv.slice(2)) {
  serveUdp(addr);
  serveTcp(addr);
}
console.log('dns ready');
