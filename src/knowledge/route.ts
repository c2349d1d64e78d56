/**
 * Route patterns for HTTP paths, in the spelling the Ollama source uses (gin): `/api/blobs/:digest`.
 * `:name` stands for exactly one non-empty segment; a final `*` for whatever follows (maybe nothing).
 */

/** The path part of a request target: no query string or fragment; absolute-form (proxy) targets lose scheme and host. */
export function pathOnly(target: string): string {
  let p = target.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(p);
  if (scheme) {
    const slash = p.indexOf('/', scheme[0].length);
    p = slash < 0 ? '/' : p.slice(slash);
  }
  const cut = p.search(/[?#]/);
  return cut < 0 ? p : p.slice(0, cut);
}

export function routeMatches(route: string, path: string): boolean {
  const r = route.split('/');
  const p = path.split('/');
  for (let i = 0; i < r.length; i++) {
    const seg = r[i];
    if (seg === '*' && i === r.length - 1) return true;
    if (i >= p.length) return false;
    if (seg.startsWith(':')) {
      if (p[i] === '') return false;
    } else if (seg !== p[i]) {
      return false;
    }
  }
  return r.length === p.length;
}

/** The first entry whose route matches the path of `target` (query string ignored). */
export function findRoute<T extends { route: string }>(table: readonly T[], target: string): T | null {
  const path = pathOnly(target);
  for (const entry of table) if (routeMatches(entry.route, path)) return entry;
  return null;
}
