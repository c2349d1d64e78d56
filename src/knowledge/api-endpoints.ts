/**
 * The HTTP API `ollama serve` answers on its API port, and which calls make it go online.
 * Routes from docs/ollama-network.md#api-endpoints-inbound-on-the-api-port: [src] server/routes.go GenerateRoutes.
 */
import { findRoute } from './route.js';

/**
 * - `always`: the call itself goes out (pull/push: registry; account and web tools: ollama.com);
 * - `cloud-model`: goes out only for a cloud model (`*:cloud` / `*-cloud`), to ollama.com;
 * - `maybe`: goes out in some cases (create FROM a model not present locally);
 * - `none-known`: no outbound traffic known from the source.
 */
export type Outbound = 'always' | 'cloud-model' | 'maybe' | 'none-known';

export interface ApiEndpoint {
  route: string;
  what: string;
  outbound: Outbound;
  /** Where the outbound traffic goes, when there is any. */
  outboundTo: 'registry.ollama.ai' | 'ollama.com' | null;
  since: string | null;
  source: string;
  /**
   * The top-level JSON body fields that name the model the request is for, in the order the
   * server prefers them (`model`, then the older `name`); absent when the body names none.
   * See model-names.ts.
   */
  modelFields?: readonly ModelField[];
}

/** A body field that names a model: `model`, or the older `name` some routes still accept. */
export type ModelField = 'model' | 'name';

/** `model` only: [src] api/types.go GenerateRequest, ChatRequest, EmbedRequest, EmbeddingRequest; openai/openai.go; anthropic/. */
const MODEL: readonly ModelField[] = ['model'];
/** `model`, else the deprecated `name`: [src] api/types.go PullRequest, PushRequest, ShowRequest, CreateRequest,
 *  DeleteRequest; server/routes.go reads `cmp.Or(req.Model, req.Name)`. */
const MODEL_OR_NAME: readonly ModelField[] = ['model', 'name'];

const ROUTES = '[src] server/routes.go GenerateRoutes';
const CLOUD = '[src] server/routes.go, server/cloud_proxy.go';

function local(route: string, what: string, modelFields?: readonly ModelField[]): ApiEndpoint {
  return { route, what, outbound: 'none-known', outboundTo: null, since: null, source: ROUTES, ...(modelFields && { modelFields }) };
}

function cloud(route: string, what: string, modelFields?: readonly ModelField[]): ApiEndpoint {
  return { route, what, outbound: 'cloud-model', outboundTo: 'ollama.com', since: null, source: CLOUD, ...(modelFields && { modelFields }) };
}

export const API_ENDPOINTS: readonly ApiEndpoint[] = [
  local('/', 'liveness ("Ollama is running")'),
  local('/api/version', 'server version'),
  local('/api/status', 'server status'),
  { route: '/api/pull', what: 'pull a model', outbound: 'always', outboundTo: 'registry.ollama.ai', since: null,
    source: '[src] server/images.go PullModel', modelFields: MODEL_OR_NAME },
  { route: '/api/push', what: 'push a model', outbound: 'always', outboundTo: 'registry.ollama.ai', since: null,
    source: '[src] server/images.go PushModel', modelFields: MODEL_OR_NAME },
  { route: '/api/create', what: 'create a model', outbound: 'maybe', outboundTo: 'registry.ollama.ai', since: null,
    source: '[src] server/create.go (FROM a model not present locally is pulled)', modelFields: MODEL_OR_NAME },
  local('/api/tags', 'list local models'),
  cloud('/api/show', 'show model details', MODEL_OR_NAME),
  local('/api/delete', 'delete a model', MODEL_OR_NAME),
  { route: '/api/me', what: 'account lookup', outbound: 'always', outboundTo: 'ollama.com', since: null,
    source: '[src] WhoamiHandler' },
  { route: '/api/signout', what: 'sign out', outbound: 'always', outboundTo: 'ollama.com', since: null,
    source: '[src] server/routes.go (DELETE /api/user/keys/<key> on ollama.com)' },
  { route: '/api/user/keys/:key', what: 'remove an account key', outbound: 'always', outboundTo: 'ollama.com',
    since: null, source: ROUTES },
  local('/api/blobs/:digest', 'check or upload a blob'),
  // Copy names its models in `source` and `destination` ([src] api/types.go CopyRequest), not `model`: not read.
  local('/api/copy', 'copy a model'),
  { route: '/api/experimental/web_search', what: 'web search tool', outbound: 'always', outboundTo: 'ollama.com',
    since: null, source: '[src] server routes (web search)' },
  { route: '/api/experimental/web_fetch', what: 'web fetch tool', outbound: 'always', outboundTo: 'ollama.com',
    since: null, source: '[src] server routes (web fetch)' },
  { route: '/api/experimental/model-recommendations', what: 'model recommendations (served from the server cache)',
    outbound: 'none-known', outboundTo: null, since: 'v0.22.1', source: '[src] server/model_recommendations.go' },
  local('/api/ps', 'running models'),
  cloud('/api/generate', 'generate', MODEL),
  cloud('/api/chat', 'chat', MODEL),
  local('/api/embed', 'embeddings', MODEL),
  local('/api/embeddings', 'embeddings (legacy)', MODEL),
  cloud('/v1/chat/completions', 'OpenAI-compatible chat', MODEL),
  cloud('/v1/completions', 'OpenAI-compatible completions', MODEL),
  cloud('/v1/embeddings', 'OpenAI-compatible embeddings', MODEL),
  cloud('/v1/models', 'OpenAI-compatible model list'),
  cloud('/v1/models/:model', 'OpenAI-compatible model details'),
  cloud('/v1/responses', 'OpenAI-compatible responses', MODEL),
  // A multipart form, not JSON: its model is not read.
  cloud('/v1/audio/transcriptions', 'OpenAI-compatible transcription'),
  cloud('/v1/messages', 'Anthropic-compatible messages', MODEL),
];

/** The endpoint a request target names (query string ignored, `:params` matched), or null. */
export function apiEndpoint(target: string): ApiEndpoint | null {
  return findRoute(API_ENDPOINTS, target);
}

/**
 * Loopback HTTP between the server and a runner child: llama.cpp's server routes
 * (`llama-server`, v0.30+) and the older `ollama runner` ones.
 * [inferred] from llm/llama_server.go and llama.cpp's server; not in docs/ollama-network.md.
 */
export const RUNNER_PATHS: readonly { route: string; what: string }[] = [
  { route: '/completion', what: 'completion' },
  { route: '/health', what: 'health check' },
  { route: '/load', what: 'load a model' },
  { route: '/embedding', what: 'embedding' },
  { route: '/tokenize', what: 'tokenize' },
  { route: '/detokenize', what: 'detokenize' },
];

export function runnerPath(target: string): { route: string; what: string } | null {
  return findRoute(RUNNER_PATHS, target);
}
