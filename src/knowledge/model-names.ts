/**
 * Model names in plaintext API requests: which requests name one (the routes with `modelFields` in
 * api-endpoints.ts, on the API port), what a valid name looks like, how far into a body we look,
 * and which names are Ollama cloud models.
 */
import { apiEndpoint, type ModelField } from './api-endpoints.js';
import { OLLAMA_API_PORT } from './ports.js';

/**
 * Body bytes read for the model field, at most. Clients put `model` first (Ollama's own Go client
 * marshals the request struct, whose first field it is; the OpenAI and Anthropic SDKs too); a
 * field after this many bytes (a long prompt first) is not looked for: the request's model_status
 * says `past-limit`. [inferred]
 */
export const MODEL_SCAN_LIMIT = 8192;

/**
 * Longest model name kept. Ollama refuses a name over 128 bytes ([src] types/model/name.go
 * MaxNamePartLen, checked on the whole name); twice that leaves room for other versions' host and
 * digest parts without keeping arbitrary text.
 */
export const MAX_MODEL_NAME = 256;

/**
 * Bytes a model name is made of: `[host[:port]/][namespace/]model[:tag][+build][@digest]`, parts of
 * letters, digits, `_`, `-` and `.` ([src] types/model/name.go ParseName, isValidByteFor), joined by
 * `/ : + @`. Everything else (spaces, quotes, control characters, any non-ASCII) makes the value not
 * a model name: it is then not stored at all.
 */
const NAME_BYTE = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:+@') NAME_BYTE[c.charCodeAt(0)] = 1;

/** A character code that may appear in a model name (called per body byte: a table look-up). */
export function isModelNameChar(code: number): boolean {
  return code < 128 && NAME_BYTE[code] === 1;
}

/** A whole value that can be stored as a model name: 1..MAX_MODEL_NAME name characters, starting with a letter, digit or `_`. */
export function isValidModelName(s: string): boolean {
  if (s.length === 0 || s.length > MAX_MODEL_NAME || !/^[A-Za-z0-9_]/.test(s)) return false;
  for (let i = 0; i < s.length; i++) if (!isModelNameChar(s.charCodeAt(i))) return false;
  return true;
}

/**
 * The body fields that name the model of a request to `port` for `target`, or null when its model
 * is not read (another port, a route whose body names none). Only the API port carries the API in
 * plain HTTP; its other requests (tags, version, ps) name no model.
 */
export function modelFieldsFor(port: number, target: string): readonly ModelField[] | null {
  if (port !== OLLAMA_API_PORT) return null;
  return apiEndpoint(target)?.modelFields ?? null;
}

/**
 * A cloud model: served by ollama.com through the local server's cloud proxy, so a request for one
 * is cloud use. Ollama names them `*:cloud` / `*-cloud` (`gpt-oss:120b-cloud`, `kimi-k2:1t-cloud`).
 * docs/ollama-network.md#outbound-destinations ([src] server/cloud_proxy.go).
 */
export function isCloudModel(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.endsWith(':cloud') || lower.endsWith('-cloud');
}

/** Why a request to a model route has or has not a stored model (http.model_status). */
export const MODEL_STATUS_MEANINGS = {
  found: 'the body named the model (http.model)',
  absent: 'the whole body was read and names no model (or has no body)',
  'past-limit': `no model field in the first ${MODEL_SCAN_LIMIT} bytes of the body (not looked for further)`,
  invalid: 'the model field is not a valid model name (too long, or characters a model name cannot have): not stored',
  'not-a-string': 'the model field is not a string',
  'not-json': 'the body is not a JSON object (or nests deeper than 32 levels before the model)',
  unread: 'the body was not seen whole before the model: lost or cut segments, or the connection ended',
} as const;

export type ModelStatus = keyof typeof MODEL_STATUS_MEANINGS;
