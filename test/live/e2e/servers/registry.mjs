// Copy of fixtures/make/servers/registry.mjs serving the large blobs of ./blob.mjs:
// manifest, and blob GETs redirected (307) to the CDN like the real registry.ollama.ai.
import { serve, sendJson, addrsFromArgv } from '../../../../fixtures/make/servers/site.mjs';
import { manifest, blobs, CDN_HOST, cdnPath } from './blob.mjs';

const MANIFEST_PATH = '/v2/library/tinyllama/manifests/latest';
const BLOB_PREFIX = '/v2/library/tinyllama/blobs/sha256:';

function handler(req, res) {
  if (req.method === 'GET' && req.url === MANIFEST_PATH) {
    sendJson(res, 200, manifest, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' });
  } else if (req.url.startsWith(BLOB_PREFIX) && blobs.has(req.url.slice(BLOB_PREFIX.length))) {
    const hex = req.url.slice(BLOB_PREFIX.length);
    const location = `https://${CDN_HOST}${cdnPath(hex)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=86400`;
    res.writeHead(307, { location, 'content-length': 0 });
    res.end();
  } else {
    sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
  }
}

serve({ tls: true, port: 443, addrs: addrsFromArgv(), handler, name: 'registry' });
