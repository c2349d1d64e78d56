// Unrelated traffic for the e2e tests, run by plain node (comm `node`). Every connection is logged
// to stdout as one JSON line {pid, mode, localPort, ms, closedAt}; a last line {done: true, ...}.
//   node clients.mjs web N            N HTTP GETs to http://example.org/ (getaddrinfo first), one connection each
//   node clients.mjs burst N HOST PORT  N sequential short TCP connections (send, read the answer, close); ms = open to close
//   node clients.mjs drip MS HOST PORT  one such connection every MS milliseconds until killed
//   node clients.mjs resolve N NAME    N DNS lookups of NAME with dns.resolve4 (c-ares, not getaddrinfo), each by a
//                                      resolver of its own (its own UDP socket: one flow per lookup); logs {localPort: null, ms}
import dns from 'node:dns/promises';
import net from 'node:net';

const [mode, arg, host, port = '80'] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify({ pid: process.pid, mode, ...o }) + '\n');

function shortConnection(address, toPort = 80) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect({ host: address, port: toPort });
    let localPort = 0;
    s.once('connect', () => {
      localPort = s.localPort;
      s.write('GET / HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n');
    });
    s.on('data', () => {});
    s.once('error', reject);
    s.once('close', () => resolve({ localPort, ms: performance.now() - t0, closedAt: Date.now() }));
  });
}

if (mode === 'web') {
  for (let i = 0; i < Number(arg); i++) {
    const { address } = await dns.lookup('example.org', { family: 4 });
    out({ ...(await shortConnection(address)), remoteAddress: address });
  }
  out({ done: true });
} else if (mode === 'burst') {
  for (let i = 0; i < Number(arg); i++) out(await shortConnection(host, Number(port)));
  out({ done: true });
} else if (mode === 'drip') {
  for (;;) {
    out(await shortConnection(host, Number(port)));
    await new Promise((r) => setTimeout(r, Number(arg)));
  }
} else if (mode === 'resolve') {
  for (let i = 0; i < Number(arg); i++) {
    const t0 = performance.now();
    const r = new dns.Resolver({ tries: 1, timeout: 2000 });
    const addrs = await r.resolve4(host).catch((e) => [String(e.code)]);
    out({ ms: performance.now() - t0, answer: addrs[0] });
  }
  out({ done: true });
} else {
  console.error('usage: node clients.mjs web N | burst N HOST PORT | drip MS HOST PORT | resolve N NAME');
  process.exit(2);
}
