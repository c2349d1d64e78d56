import type { Flow } from '../flows/flow.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import type { ClassifyContext } from '../classify/classify.js';

/**
 * What the classifier needs beyond one flow's own fields: the DNS names a DNS flow asked for,
 * and the hosts that plaintext registry responses redirected to (blob downloads).
 * Kept per open flow and dropped when the flow closes, so memory follows the open-flow count.
 */
export function createClassifyMemory() {
  const dnsQueries = new Map<number, string[]>();
  const redirectHosts = new Set<string>();

  function noteDns(rec: DnsRecord): void {
    let list = dnsQueries.get(rec.flowId);
    if (!list) dnsQueries.set(rec.flowId, (list = []));
    if (list.length < 64 && !list.includes(rec.query)) list.push(rec.query);
  }

  function noteHttp(rec: HttpRecord): void {
    // Only a registry's blob redirect marks its target as the blob CDN (server/download.go).
    if (rec.location && rec.status !== null && rec.status >= 300 && rec.status < 400 && isBlobPath(rec.path)) {
      const host = hostOfLocation(rec.location);
      if (host && redirectHosts.size < 10_000) redirectHosts.add(host);
    }
  }

  function contextFor(f: Flow): ClassifyContext {
    return { dnsQueries: dnsQueries.get(f.id) ?? [], redirectHosts };
  }

  function forget(f: Flow): void {
    dnsQueries.delete(f.id);
  }

  return { noteDns, noteHttp, contextFor, forget };
}

function hostOfLocation(location: string): string | null {
  try {
    return new URL(location).hostname.toLowerCase() || null;
  } catch {
    return null;
  }
}

function isBlobPath(path: string | null): boolean {
  return path !== null && path.startsWith('/v2/') && path.includes('/blobs/');
}
