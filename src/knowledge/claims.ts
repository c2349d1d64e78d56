/**
 * The claims catalogue: what people say about Ollama's network behaviour, as data the claims
 * engine (src/claims/) can check against a capture. From docs/ollama-network.md (mostly
 * docs/ollama-network.md#what-maintainers-have-said-for-the-claims-catalogue and
 * docs/ollama-network.md#switches); `source` cites it the same way: [src] read in the Ollama source, [issue] said by users or maintainers,
 * [inferred] our reading, [claim] said in the wild and not supported by the source.
 *
 * Every claim is phrased so that `holds` means its title is true. A claim from the wild that
 * the source does not support ("there is an update check to api.ollama.ai") is checked by its
 * negation ("no update check to api.ollama.ai") with `supported: false`: `holds` then reads
 * "never observed". A user claims file (README, "Claims files") has exactly this shape.
 */
import type { AssumeFlag } from '../settings.js';

/** Whose traffic a claim speaks of. */
export type ClaimScope =
  /** flows owned by a process of the Ollama tree (server, runners, app, CLI): needs process attribution */
  | 'ollama'
  /** every flow, whoever owns it, loopback included */
  | 'any'
  /** every flow that crosses the host's boundary (one end not loopback), whoever owns it */
  | 'host';

/**
 * `outbound`: this host opened a connection (or sent a datagram) to another host;
 * `inbound`: another host opened a connection to an Ollama API port of this host;
 * `off-host`: either; `loopback`: both ends loopback; `any`: everything.
 */
export type Direction = 'outbound' | 'inbound' | 'off-host' | 'loopback' | 'any';

/** Which flows a claim is about. Every field given must match (AND); list fields match any element (OR). */
export interface ClaimMatch {
  /** Flow activities; `api` also matches `api:/api/pull`...; `dns` is a lookup of an Ollama name. */
  activity?: string[];
  /** Exact names or `*.suffix`: the flow's name (SNI, CONNECT target, Host, DNS name) or a DNS query it carried. */
  hostname?: string[];
  /** Addresses or CIDR ranges of the far end (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
  address?: string[];
  /** Responder ports. */
  port?: number[];
  direction?: Direction;
  /** true: through a proxy (CONNECT or an absolute-form request); false: direct. */
  via_proxy?: boolean;
  /** true: the responder answered (TCP: SYN-ACK seen, else any packet back). */
  answered?: boolean;
  /** Only flows that lasted at least this long. */
  min_duration_s?: number;
  /** Flows that also match this are left out. */
  not?: ClaimMatch;
}

/**
 * `never`: no flow matches. `only_during`: every matching flow was caused by (is chained to) a
 * request of one of these API activities. `at_most`: in no window of `window.seconds` do more
 * than this many matching flows start.
 */
export type Expectation = 'never' | { only_during: string[] } | { at_most: number };

export interface ClaimWindow {
  /** Length of the sliding window of an `at_most` expectation, in seconds. */
  seconds?: number;
  /** A capture shorter than this cannot show the claim holds (a once-a-minute ping needs minutes). */
  min_capture_s?: number;
}

export interface Claim {
  /** Stable, kebab-case. */
  id: string;
  /** What is checked, phrased so that `holds` means it is true. */
  title: string;
  source: string;
  /** True: the Ollama source says so. False: a claim the source does not support. */
  supported: boolean;
  scope: ClaimScope;
  match: ClaimMatch;
  expect: Expectation;
  window?: ClaimWindow;
  /**
   * The claim speaks only of flows caused by requests of these API activities (`api:/api/generate`...);
   * without such a request in the capture it is `not exercised`.
   */
  during?: string[];
  /**
   * With `during`: a request that names a cloud model (knowledge/model-names.ts isCloudModel) does not
   * count, since its flows to ollama.com are the cloud proxy's, not local inference; a request whose
   * model is known to be local makes its flows definite (inconclusive_if no longer applies to them).
   */
  local_models_only?: boolean;
  /**
   * A setting the claim depends on that a capture cannot show (the server's environment). Judged only
   * when the user assumes it (`--assume FLAG`) or when a flow matching `evident_if` shows it was set.
   */
  condition?: { flag: AssumeFlag; text: string; evident_if?: ClaimMatch };
  /** Matching flows that also match this make the verdict `inconclusive` (with `why`) instead of `violated`. */
  inconclusive_if?: { match: ClaimMatch; why: string };
  /** The claim is exercised only when some flow in the capture matches this (e.g. any API use). */
  exercised_by?: ClaimMatch;
  /** The text of the claim as found in the wild, for `supported: false` claims. */
  claimed?: string;
  note?: string;
}

/** Activities of the server's inference endpoints ([src] server/routes.go GenerateRoutes). */
export const INFERENCE_ACTIVITIES: readonly string[] = [
  'api:/api/generate', 'api:/api/chat', 'api:/api/embed', 'api:/api/embeddings',
  'api:/v1/chat/completions', 'api:/v1/completions', 'api:/v1/embeddings', 'api:/v1/responses',
  'api:/v1/audio/transcriptions', 'api:/v1/messages',
];

const PULL_PUSH = ['api:/api/pull', 'api:/api/push', 'api:/api/create'];
const OLLAMA_DESTINATIONS = ['registry', 'blob-download', 'ollama-com'];
const OLLAMA_HOSTS = ['registry.ollama.ai', '*.r2.cloudflarestorage.com', 'ollama.com', '*.ollama.com', '*.ollama.ai'];
const CLOUD_PROXY = {
  match: { hostname: ['ollama.com'] },
  why: 'a *:cloud / *-cloud model is proxied to ollama.com ([src] server/cloud_proxy.go), and the request that caused it named no model the capture shows (HTTPS, not in the first 8 KiB of its body, or its body not seen)',
};

export const BUILTIN_CLAIMS: readonly Claim[] = [
  {
    id: 'server-offline-unless-pull-push',
    title: 'The Ollama server contacts nothing off-host unless pulling or pushing a model',
    source: '[issue] #2911, #2865 (maintainers); [src] server/model_recommendations.go and server/model_show_cache.go contradict it since v0.22.1',
    supported: false,
    scope: 'ollama',
    match: { direction: 'outbound' },
    expect: { only_during: PULL_PUSH },
    note: 'Since v0.22.1 the server fetches model recommendations from ollama.com at start, then about every 4 h; since v0.23.2 it also hydrates the cloud model list.',
  },
  {
    id: 'inference-local-no-network',
    title: 'Inference on a local model makes no network call',
    source: '[issue] #2911, #2865 (maintainers); [src] server/cloud_proxy.go (only *:cloud / *-cloud models go out)',
    supported: true,
    scope: 'ollama',
    match: { direction: 'outbound' },
    expect: 'never',
    during: [...INFERENCE_ACTIVITIES],
    local_models_only: true,
    inconclusive_if: CLOUD_PROXY,
  },
  {
    id: 'no-cloud-only-pulls-and-me',
    title: 'With OLLAMA_NO_CLOUD=1 the server goes off-host only for pulls/pushes and /api/me',
    source: '[src] envconfig/config.go NoCloud() (since v0.16.2, PR #14221)',
    supported: true,
    scope: 'ollama',
    match: { direction: 'outbound' },
    expect: { only_during: [...PULL_PUSH, 'api:/api/me', 'api:/api/signout'] },
    condition: { flag: 'no-cloud', text: 'OLLAMA_NO_CLOUD=1 (or disable_ollama_cloud in server.json) set for the server' },
    note: 'The desktop app update check is not stopped by the switch either; on Linux there is no app.',
  },
  {
    id: 'pull-only-registry-cdn',
    title: 'A pull goes only to the registry and its blob CDN (and DNS for their names)',
    source: '[src] server/images.go PullModel, server/download.go downloadBlob',
    supported: true,
    scope: 'ollama',
    match: { direction: 'outbound', not: { activity: ['registry', 'blob-download', 'dns'] } },
    expect: 'never',
    during: ['api:/api/pull'],
  },
  {
    id: 'pull-honours-https-proxy',
    title: 'With HTTPS_PROXY set, a pull reaches the registry and CDN only through the proxy',
    source: '[src] Go ProxyFromEnvironment; exception: x/transfer/transfer.go (safetensors/MLX blobs go direct)',
    supported: true,
    scope: 'ollama',
    match: { activity: ['registry', 'blob-download'], via_proxy: false },
    expect: 'never',
    condition: {
      flag: 'https-proxy',
      text: 'HTTPS_PROXY set for the server',
      evident_if: { activity: ['registry', 'blob-download'], via_proxy: true },
    },
  },
  {
    id: 'api-loopback-only',
    title: 'The API is reached only on loopback (default OLLAMA_HOST 127.0.0.1:11434)',
    source: '[src] envconfig/config.go Host(), cmd/cmd.go RunServer',
    supported: true,
    scope: 'host',
    match: { activity: ['api'], direction: 'inbound', answered: true },
    expect: 'never',
    exercised_by: { activity: ['api'] },
    note: 'Judged from connections seen: a listener on another address shows only when someone connects to it (`exposure` reads the sockets).',
  },
  {
    id: 'airgap-ollama-silent',
    title: 'The Ollama tree sends nothing off-host (loopback API and runner traffic are fine)',
    source: '[issue] #1472, #11442 (offline use works); [inferred] the air-gap expectation',
    supported: true,
    scope: 'ollama',
    match: { direction: 'outbound' },
    expect: 'never',
  },
  {
    id: 'airgap-no-ollama-destination',
    title: 'No Ollama destination (registry, blob CDN, ollama.com) is contacted, by any process or proxy',
    source: '[src] types/model/name.go, server/download.go, server/cloud_proxy.go (the destinations); [inferred] the air-gap expectation',
    supported: true,
    scope: 'host',
    match: { activity: OLLAMA_DESTINATIONS },
    expect: 'never',
  },
  {
    id: 'airgap-no-ollama-dns',
    title: 'Nothing looks up an Ollama name in DNS',
    source: '[inferred] an air-gapped host resolves no Ollama name; the query may come from a local resolver, not ollama ([src] Go resolver)',
    supported: true,
    scope: 'host',
    match: { activity: ['dns'] },
    expect: 'never',
  },
  {
    id: 'wild-update-check-api-ollama-ai',
    title: 'No update check to api.ollama.ai/update-check',
    claimed: 'Ollama checks for updates at api.ollama.ai/update-check',
    source: '[claim] not in the source; the desktop app checks ollama.com/api/update ([src] app/updater/updater.go)',
    supported: false,
    scope: 'host',
    match: { hostname: ['api.ollama.ai'] },
    expect: 'never',
  },
  {
    id: 'wild-statistics-at-model-start',
    title: 'Nothing is sent off-host when a model starts (no "statistics" with OS/CPU/GPU)',
    claimed: 'Ollama sends statistics with OS/CPU/GPU details when a model starts',
    source: '[claim] not in the source; no analytics or telemetry SDK ([src], searched)',
    supported: false,
    scope: 'ollama',
    match: { direction: 'outbound' },
    expect: 'never',
    during: [...INFERENCE_ACTIVITIES],
    local_models_only: true,
    inconclusive_if: CLOUD_PROXY,
  },
  {
    id: 'wild-websocket-ping',
    title: 'The Ollama tree keeps no connection open off-host for a minutely ping',
    claimed: 'Ollama sends a WebSocket ping every minute',
    source: '[claim] not in the source',
    supported: false,
    scope: 'ollama',
    match: { direction: 'outbound', min_duration_s: 60 },
    expect: 'never',
    window: { min_capture_s: 120 },
    note: 'A minutely ping needs a connection that lasts a minute or more: a capture shorter than two minutes cannot show its absence.',
  },
  {
    id: 'wild-api-port-8000',
    title: 'Nothing answers on port 8000 while the API is in use on 11434 (the default port is not 8000)',
    claimed: 'Ollama\'s API listens on port 8000 by default',
    source: '[claim] not in the source; [src] envconfig/config.go Host() defaults to 11434',
    supported: false,
    scope: 'any',
    match: { port: [8000], answered: true, direction: 'any', not: { direction: 'outbound' } },
    expect: 'never',
    exercised_by: { activity: ['api'], port: [11434] },
  },
];

/** The claims `verify` judges: an air-gapped Ollama host sends nothing off-host; loopback API use is fine. */
export const AIRGAP_CLAIM_IDS: readonly string[] = [
  'airgap-ollama-silent', 'airgap-no-ollama-destination', 'airgap-no-ollama-dns', 'api-loopback-only',
];

export function builtinClaim(id: string): Claim | null {
  return BUILTIN_CLAIMS.find((c) => c.id === id) ?? null;
}

/** The named claim set `verify` uses. */
export function airgapClaims(): Claim[] {
  return AIRGAP_CLAIM_IDS.map((id) => builtinClaim(id)!);
}
