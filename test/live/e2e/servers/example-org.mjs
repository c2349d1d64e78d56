// Copy of fixtures/make/servers/example-org.mjs that answers after OAE2E_WEB_THINK_MS (default 0), like a
// web server some milliseconds away. Plain-HTTP example.org on port 80: unrelated web traffic.
import { serve, addrsFromArgv } from '../../../../fixtures/make/servers/site.mjs';

const THINK_MS = Number(process.env.OAE2E_WEB_THINK_MS ?? 0);

const PAGE = '<!doctype html><html><head><title>Example Domain</title></head><body><h1>Example Domain</h1></body></html>\n';

function handler(req, res) {
  setTimeout(() => answer(req, res), THINK_MS);
}

function answer(req, res) {
  const found = req.url === '/' || req.url === '/index.html';
  res.writeHead(found ? 200 : 404, { 'content-type': 'text/html', 'content-length': found ? Buffer.byteLength(PAGE) : 0 });
  res.end(found ? PAGE : undefined);
}

serve({ tls: false, port: 80, addrs: addrsFromArgv(), handler, name: 'example.org' });
