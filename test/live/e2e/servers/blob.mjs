// Copy of fixtures/make/servers/blob.mjs with a model blob of OAE2E_BLOB_BYTES (default 8 MiB)
// instead of 40 KiB, so a pull lasts long enough for a signal to land mid-transfer.
import crypto from 'node:crypto';

export const MODEL_BLOB_SIZE = Number(process.env.OAE2E_BLOB_BYTES ?? 8 * 1024 * 1024);

function deterministicBytes(size, seed) {
  const out = Buffer.alloc(size);
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = crypto.createHash('sha256').update(block).digest();
  }
  return out;
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

export const modelBlob = deterministicBytes(MODEL_BLOB_SIZE, 'ollama-audit e2e blob');
export const configBlob = Buffer.from(JSON.stringify({ model_format: 'gguf', model_family: 'llama', file_type: 'Q4_0' }));

export const blobs = new Map([
  [sha256(modelBlob), modelBlob],
  [sha256(configBlob), configBlob],
]);

export const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${sha256(configBlob)}`, size: configBlob.length },
  layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${sha256(modelBlob)}`, size: modelBlob.length }],
});

export const CDN_HOST = 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com';

export function cdnPath(hex) {
  return `/ollama/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}
