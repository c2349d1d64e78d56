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
}

const ROUTES = '[src] server/routes.go GenerateRoutes';
const CLOUD = '[src] server/routes.go, server/cloud_proxy.go';

function local(route: string, what: string): ApiEndpoint {
  return { route, what, outbound: 'none-known', outboundTo: null, since: null, source: ROUTES };
}

function cloud(route: string, what: string): ApiEndpoint {
  return { route, what, outbound: 'cloud-model', outboundTo: 'ollama.com', since: null, source: CLOUD };
}

export const API_ENDPOINTS: readonly ApiEndpoint[] = [
  local('/', 'liveness ("Ollama is running")'),
  local('/api/version', 'server version'),
  local('/api/status', 'server status'),
  { route: '/api/pull', what: 'pull a model', outbound: 'always', outboundTo: 'registry.ollama.ai', since: null,
    source: '[src] server/images.go PullModel' },
  { route: '/api/push', what: 'push a model', outbound: 'always', outboundTo: 'registry.ollama.ai', since: null,
    source: '[src] server/images.go PushModel' },
  { route: '/api/create', what: 'create a model', outbound: 'maybe', outboundTo: 'registry.ollama.ai', since: null,
    source: '[src] server/create.go (FROM a model not present locally is pulled)' },
  local('/api/tags', 'list local models'),
  cloud('/api/show', 'show model details'),
  local('/api/delete', 'delete a model'),
  { route: '/api/me', what: 'account lookup', outbound: 'always', outboundTo: 'ollama.com', since: null,
    source: '[src] WhoamiHandler' },
  { route: '/api/signout', what: 'sign out', outbound: 'always', outboundTo: 'ollama.com', since: null,
    source: '[src] server/routes.go (DELETE /api/user/keys/<key> on ollama.com)' },
  { route: '/api/user/keys/:key', what: 'remove an account key', outbound: 'always', outboundTo: 'ollama.com',
    since: null, source: ROUTES },
  local('/api/blobs/:digest', 'check or upload a blob'),
  local('/api/copy', 'copy a model'),
  { route: '/api/experimental/web_search', what: 'web search tool', outbound: 'always', outboundTo: 'ollama.com',
    since: null, source: '[src] server routes (web search)' },
  { route: '/api/experimental/web_fetch', what: 'web fetch tool', outbound: 'always', outboundTo: 'ollama.com',
    since: null, source: '[src] server routes (web fetch)' },
  { route: '/api/experimental/model-recommendations', what: 'model recommendations (served from the server cache)',
    outbound: 'none-known', outboundTo: null, since: 'v0.22.1', source: '[src] server/model_recommendations.go' },
  local('/api/ps', 'running models'),
  cloud('/api/generate', 'generate'),
  cloud('/api/chat', 'chat'),
  local('/api/embed', 'embeddings'),
  local('/api/embeddings', 'embeddings (legacy)'),
  cloud('/v1/chat/completions', 'OpenAI-compatible chat'),
  cloud('/v1/completions', 'OpenAI-compatible completions'),
  cloud('/v1/embeddings', 'OpenAI-compatible embeddings'),
  cloud('/v1/models', 'OpenAI-compatible model list'),
  cloud('/v1/models/:model', 'OpenAI-compatible model details'),
  cloud('/v1/responses', 'OpenAI-compatible responses'),
  cloud('/v1/audio/transcriptions', 'OpenAI-compatible transcription'),
  cloud('/v1/messages', 'Anthropic-compatible messages'),
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
