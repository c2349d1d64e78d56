/**
 * Where Ollama connects to, with the activity each destination implies.
 * From docs/ollama-network.md#outbound-destinations; `source` says how we know:
 * [src] read in the Ollama source, [issue] reported by users, [inferred] our reading,
 * [claim] said in the wild but not supported by the source (kept so claims can be checked).
 * GitHub release assets (install/app update) are not listed: github.com is not Ollama's alone.
 */
import { hostnameMatches, normalizeHostname } from './hostname.js';
import { findRoute } from './route.js';

export type DestinationActivity = 'registry' | 'blob-download' | 'ollama-com';

export interface Destination {
  /** Exact hostname, or `*.suffix` matching one or more labels in front of the suffix. */
  pattern: string;
  what: string;
  activity: DestinationActivity;
  /** What traffic to this destination means Ollama was doing. */
  implies: string;
  ports: readonly number[];
  /** First Ollama version known to use it; null when every version we know of does. */
  since: string | null;
  source: string;
  /** False for hosts only claimed in the wild: the source never contacts them. */
  supported: boolean;
}

export const DESTINATIONS: readonly Destination[] = [
  {
    pattern: 'registry.ollama.ai',
    what: 'Ollama model registry',
    activity: 'registry',
    implies: 'model pull/push: manifests, blob requests and signed token requests',
    ports: [443],
    since: null,
    source: '[src] types/model/name.go (defaultHost), server/images.go PullModel, server/download.go, server/auth.go',
    supported: true,
  },
  {
    pattern: '*.r2.cloudflarestorage.com',
    what: "Cloudflare R2, the registry's blob CDN",
    activity: 'blob-download',
    implies: 'model blob bytes after a registry 307 redirect (up to 16 ranged GETs per blob)',
    ports: [443],
    since: null,
    source: '[src] server/download.go (numDownloadParts, redirect handling); hostname [issue] #10151, #8231, #4992',
    supported: true,
  },
  {
    pattern: 'ollama.com',
    what: 'ollama.com',
    activity: 'ollama-com',
    implies: 'model recommendations, cloud model list/details, cloud inference, web tools, account, or the desktop app update check',
    ports: [443],
    since: null,
    source: '[src] server/model_recommendations.go, server/model_show_cache.go, server/cloud_proxy.go, app/updater/updater.go',
    supported: true,
  },
  {
    pattern: 'api.ollama.ai',
    what: 'api.ollama.ai (claimed update-check host)',
    activity: 'ollama-com',
    implies: 'an update check to api.ollama.ai/update-check, as claimed in the wild',
    ports: [443],
    since: null,
    source: '[claim] not in the source; the app update check goes to ollama.com/api/update',
    supported: false,
  },
  {
    pattern: '*.ollama.com',
    what: "a host in Ollama's ollama.com domain not named in the source",
    activity: 'ollama-com',
    implies: 'unknown: no code path in the source names this host',
    ports: [443],
    since: null,
    source: '[inferred] domain owned by Ollama',
    supported: true,
  },
  {
    pattern: '*.ollama.ai',
    what: "a host in Ollama's ollama.ai domain not named in the source",
    activity: 'ollama-com',
    implies: 'unknown: no code path in the source names this host',
    ports: [443],
    since: null,
    source: '[inferred] domain owned by Ollama',
    supported: true,
  },
];

/**
 * The destination a hostname belongs to, or null. Exact names win over wildcard patterns,
 * so `registry.ollama.ai` is the registry and not "some other *.ollama.ai host".
 */
export function matchDestination(hostname: string): Destination | null {
  const host = normalizeHostname(hostname);
  if (host === '') return null;
  let wildcard: Destination | null = null;
  for (const d of DESTINATIONS) {
    if (!hostnameMatches(d.pattern, host)) continue;
    if (!d.pattern.startsWith('*.')) return d;
    // Of two matching wildcards the longer suffix is the more specific one.
    if (wildcard === null || d.pattern.length > wildcard.pattern.length) wildcard = d;
  }
  return wildcard;
}

/** A request path on ollama.com, seen only when a proxy forwards plaintext HTTP (or TLS is decrypted). */
export interface RemotePath {
  route: string;
  methods: readonly string[];
  what: string;
  /** Which Ollama process makes the request. */
  by: 'server' | 'app' | 'installer';
  since: string | null;
  source: string;
}

export const OLLAMA_COM_PATHS: readonly RemotePath[] = [
  {
    route: '/api/experimental/model-recommendations',
    methods: ['GET'],
    what: 'model recommendations (at server start, then about every 4 h)',
    by: 'server',
    since: 'v0.22.1',
    source: '[src] server/model_recommendations.go (PR #15868)',
  },
  {
    route: '/api/tags',
    methods: ['GET'],
    what: 'cloud model list (server start, hydrating the show cache)',
    by: 'server',
    since: 'v0.23.2',
    source: '[src] server/model_show_cache.go hydrateCloud',
  },
  {
    route: '/api/show',
    methods: ['POST'],
    what: 'cloud model details (server start, hydrating the show cache; or a cloud model shown)',
    by: 'server',
    since: 'v0.23.2',
    source: '[src] server/model_show_cache.go hydrateCloud',
  },
  {
    route: '/api/update',
    methods: ['GET'],
    what: 'desktop app update check (3 s after app start, then hourly)',
    by: 'app',
    since: null,
    source: '[src] app/updater/updater.go (UpdateCheckURLBase, UpdateCheckInterval)',
  },
  {
    route: '/api/me',
    methods: ['POST'],
    what: 'account lookup (/api/me, or the desktop app at start)',
    by: 'server',
    since: null,
    source: '[src] WhoamiHandler, app/cmd/app/app.go',
  },
  {
    route: '/api/user/keys/:key',
    methods: ['DELETE'],
    what: 'account sign-out (removes the install key)',
    by: 'server',
    since: null,
    source: '[src] /api/signout handler',
  },
  {
    route: '/api/web_search',
    methods: ['POST'],
    what: 'web search tool',
    by: 'server',
    since: null,
    source: '[src] server routes (/api/experimental/web_search)',
  },
  {
    route: '/api/web_fetch',
    methods: ['POST'],
    what: 'web fetch tool',
    by: 'server',
    since: null,
    source: '[src] server routes (/api/experimental/web_fetch)',
  },
  {
    route: '/api/generate',
    methods: ['POST'],
    what: 'cloud inference for a *:cloud / *-cloud model',
    by: 'server',
    since: null,
    source: '[src] server/cloud_proxy.go (defaultCloudProxyBaseURL)',
  },
  {
    route: '/api/chat',
    methods: ['POST'],
    what: 'cloud inference for a *:cloud / *-cloud model',
    by: 'server',
    since: null,
    source: '[src] server/cloud_proxy.go (defaultCloudProxyBaseURL)',
  },
  {
    route: '/v1/*',
    methods: ['GET', 'POST'],
    what: 'cloud inference (OpenAI-compatible path) for a *:cloud / *-cloud model',
    by: 'server',
    since: null,
    source: '[src] server/cloud_proxy.go (defaultCloudProxyBaseURL)',
  },
  {
    route: '/download/*',
    methods: ['GET'],
    what: 'install or update download',
    by: 'installer',
    since: null,
    source: '[src] scripts/install.sh, app/updater',
  },
  {
    route: '/install.sh',
    methods: ['GET'],
    what: 'install script download',
    by: 'installer',
    since: null,
    source: '[src] scripts/install.sh',
  },
];

/** What a request path on ollama.com is for; query string ignored (`/api/update?os=linux...`). */
export function ollamaComPath(target: string): RemotePath | null {
  return findRoute(OLLAMA_COM_PATHS, target);
}
