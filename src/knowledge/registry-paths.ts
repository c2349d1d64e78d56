/**
 * The registry's HTTP paths (Docker/OCI distribution shape), which Ollama uses against
 * registry.ollama.ai and any private registry named in a model name.
 * [src] server/images.go PullModel/PushModel/makeRequest, server/download.go downloadBlob.
 */
import { pathOnly } from './route.js';

export type RegistryRequestKind = 'base' | 'manifest' | 'blob' | 'blob-upload';

export interface RegistryRequest {
  kind: RegistryRequestKind;
  /** Repository name, e.g. `library/llama3`; null for the base path. */
  name: string | null;
  /** Tag or digest for manifests and blobs. */
  reference: string | null;
}

const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const UPLOAD = /^\/v2\/(.+)\/blobs\/uploads(?:\/.*)?$/;
const BLOB = /^\/v2\/(.+)\/blobs\/([^/]+)$/;

/** Reads a registry request path, or null when the path does not have the registry's shape. */
export function registryRequest(target: string): RegistryRequest | null {
  const path = pathOnly(target);
  if (path === '/v2' || path === '/v2/') return { kind: 'base', name: null, reference: null };
  let m = MANIFEST.exec(path);
  if (m) return { kind: 'manifest', name: m[1], reference: m[2] };
  m = UPLOAD.exec(path);
  if (m) return { kind: 'blob-upload', name: m[1], reference: null };
  m = BLOB.exec(path);
  if (m) return { kind: 'blob', name: m[1], reference: m[2] };
  return null;
}
