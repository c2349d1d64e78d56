// A stand-in for `ollama serve` (after fixtures/make/host/fake-ollama.mjs), run by a copy of node
// named `ollama` so /proc/<pid>/comm says ollama. Serves the API on 127.0.0.1:11434; POST /api/pull
// does what the real server does: getaddrinfo (A + AAAA) for registry.ollama.ai, TLS GET of the
// manifest, GET of each blob answered by a 307 to the CDN, getaddrinfo for the CDN name, TLS GET
// there. Body `{"rate": N}` asks the CDN to pace the blobs at N bytes/s.
// Every outbound socket is logged to $OAE2E_LOG (JSON lines: pid, purpose, local/remote ends, time)
// once connected, and again when it closes: the tests' expected values come from this log.
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const LOG = process.env.OAE2E_LOG;
const ca = fs.readFileSync(process.env.OAE2E_CA);
const agent = new https.Agent({ keepAlive: true, ca });

function log(fields) {
  if (LOG) fs.appendFileSync(LOG, JSON.stringify({ pid: process.pid, t: Date.now(), ...fields }) + '\n');
}

const seen = new WeakSet();
function logSocket(socket, purpose) {
  if (seen.has(socket)) return;
  seen.add(socket);
  const ends = () => ({ localAddress: socket.localAddress, localPort: socket.localPort, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
  let known = null;
  const record = () => { known = ends(); log({ event: 'connect', purpose, ...known }); };
  if (socket.localPort) record();
  else socket.once('connect', record);
  socket.once('close', () => log({ event: 'close', purpose, ...(known ?? {}) }));
}

function lookupV4(hostname, options, callback) {
  dns.lookup(hostname, { all: true }, (err, addrs) => {
    log({ event: 'resolved', hostname, addrs });
    const v4 = addrs?.find((a) => a.family === 4);
    if (err || !v4) return callback(err ?? new Error(`no IPv4 address for ${hostname}`));
    if (options.all) callback(null, [v4]);
    else callback(null, v4.address, 4);
  });
}

function get(url, purpose, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent, lookup: lookupV4, headers: { 'user-agent': 'ollama/0.33.0 (amd64 linux) Go/go1.24.0', ...headers } }, (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; if (purpose !== 'cdn') (res.chunks ??= []).push(c); });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes, body: Buffer.concat(res.chunks ?? []) }));
      res.on('error', reject);
    });
    req.on('socket', (s) => logSocket(s, purpose));
    req.on('error', reject);
  });
}

const REGISTRY = 'https://registry.ollama.ai/v2/library/tinyllama';

async function pull(write, rate) {
  write({ status: 'pulling manifest' });
  const manifest = JSON.parse((await get(`${REGISTRY}/manifests/latest`, 'manifest')).body.toString());
  for (const layer of [manifest.config, ...manifest.layers]) {
    let res = await get(`${REGISTRY}/blobs/${layer.digest}`, 'blob');
    if (res.status === 307) res = await get(res.headers.location, 'cdn', rate ? { 'x-oae2e-rate': String(rate) } : {});
    log({ event: 'blob', digest: layer.digest, size: layer.size, received: res.bytes });
    write({ status: `pulling ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.size, completed: res.bytes });
  }
  write({ status: 'success' });
  log({ event: 'pulled' });
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body ? JSON.parse(body) : {}));
  });
}

async function api(req, res) {
  const body = await readBody(req);
  if (req.method === 'POST' && req.url === '/api/pull') {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    await pull((o) => res.write(JSON.stringify(o) + '\n'), Number(body.rate ?? 0));
    res.end();
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
  }
}

const server = http.createServer((req, res) => api(req, res).catch((e) => { log({ event: 'error', message: String(e) }); res.destroy(); }));
server.listen(11434, '127.0.0.1', () => console.log(`ollama ready ${process.pid}`));
process.on('SIGTERM', () => process.exit(0));
