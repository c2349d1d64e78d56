/**
 * Hostname normalisation and pattern matching shared by the knowledge tables.
 * DNS names are case-insensitive and a trailing dot only marks the name as absolute
 * (RFC 4343, RFC 1034 §3.1), so neither may change what a name matches.
 */

export function normalizeHostname(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * `pattern` is an exact name or `*.suffix`. A wildcard stands for one or more whole labels,
 * so `*.r2.cloudflarestorage.com` matches `a.r2.cloudflarestorage.com` and `a.b.r2...`, but
 * neither `r2.cloudflarestorage.com` itself nor `evilr2.cloudflarestorage.com`.
 * Both arguments must already be normalised.
 */
export function hostnameMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return host === pattern;
  const suffix = pattern.slice(1); // ".r2.cloudflarestorage.com": the dot is the label boundary
  return host.length > suffix.length && host.endsWith(suffix);
}

/** Host part of an HTTP Host header or CONNECT authority: drops the port and IPv6 brackets. */
export function hostWithoutPort(authority: string): string {
  const a = authority.trim();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end > 0 ? a.slice(1, end) : a;
  }
  const colon = a.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address, which has no port to drop.
  if (colon >= 0 && a.indexOf(':', colon + 1) < 0) return a.slice(0, colon);
  return a;
}
