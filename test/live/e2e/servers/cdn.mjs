// Copy of fixtures/make/servers/cdn.mjs serving the large blobs of ./blob.mjs. A request header
// `x-oae2e-rate: <bytes per second>` paces the body (64 KiB chunks), so a test can hold a
// download open for seconds; without it the body goes at full speed.
import { serve, sendJson, addrsFromArgv } from '../../../../fixtures/make/servers/site.mjs';
import { blobs, cdnPath } from './blob.mjs';

const byPath = new Map([...blobs].map(([hex, data]) => [cdnPath(hex), data]));
const CHUNK = 64 * 1024;

function handler(req, res) {
  const data = byPath.get(req.url.split('?')[0]);
  if (req.method !== 'GET' || !data) return sendJson(res, 404, { error: 'NoSuchKey' });
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
  const rate = Number(req.headers['x-oae2e-rate'] ?? 0);
  if (!rate) return res.end(data);
  const start = Date.now();
  let off = 0;
  const step = () => {
    if (res.destroyed) return;
    const due = Math.min(data.length, Math.floor(((Date.now() - start) / 1000) * rate) + CHUNK);
    if (due > off) { res.write(data.subarray(off, due)); off = due; }
    if (off >= data.length) return res.end();
    setTimeout(step, 20);
  };
  step();
}

serve({ tls: true, port: 443, addrs: addrsFromArgv(), handler, name: 'cdn' });
