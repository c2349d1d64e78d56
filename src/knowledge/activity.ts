/**
 * The activity vocabulary: the names classify.ts gives flows, what each means, and the one test of
 * "is this an API activity" (code and SQL) that every reader uses. The names are part of the
 * CLI/JSON contract (README "Activities"); schema.ts documents flows.activity from here.
 */
import { API_ENDPOINTS } from './api-endpoints.js';

export type Activity =
  | 'registry' | 'blob-download' | 'ollama-com' | 'proxy-connect' | 'dns' | 'api' | `api:${string}` | 'runner'
  | 'other';

/** What each plain activity means (an `api:<route>` is `api` on a known route). */
export const ACTIVITY_MEANINGS = {
  registry: 'the Ollama registry (manifests, model pulls and pushes)',
  'blob-download': 'a model blob from the registry\'s CDN',
  'ollama-com': 'ollama.com',
  'proxy-connect': 'an HTTP CONNECT to a proxy',
  dns: 'a DNS lookup',
  api: 'the Ollama API (api:<route> on a known route)',
  runner: 'the Ollama server talking to its model runner',
  other: 'anything else',
} as const satisfies Record<Exclude<Activity, `api:${string}`>, string>;

/** Every activity name but the `api:<route>` forms (one per route in API_ENDPOINTS). */
export const PLAIN_ACTIVITIES = Object.keys(ACTIVITY_MEANINGS) as readonly (keyof typeof ACTIVITY_MEANINGS)[];

/** Every activity name a flow can get: the plain ones and `api:<route>` for each known API route. */
export function activityNames(): string[] {
  return [...PLAIN_ACTIVITIES, ...API_ENDPOINTS.map((e) => `api:${e.route}`)];
}

/** `api` or `api:<route>`: a flow to the Ollama API. */
export function isApiActivity(activity: string): boolean {
  return activity === 'api' || activity.startsWith('api:');
}

/** isApiActivity as SQL over the column `col` (for the store's readers). */
export function apiActivitySql(col: string): string {
  return `(${col} = 'api' OR ${col} LIKE 'api:%')`;
}
