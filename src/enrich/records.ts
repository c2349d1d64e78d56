/**
 * What enrichment emits besides the naming fields on Flow: one DnsRecord per DNS transaction
 * and one HttpRecord per HTTP/1.x request. Plain data, for the store's `dns` and `http` tables.
 * Times are µs since the Unix epoch, like Packet.ts.
 */
import type { ModelStatus } from '../knowledge/model-names.js';

export interface DnsAnswer {
  /** Owner name, lowercased, without the trailing dot. */
  name: string;
  /** Type mnemonic ('A', 'AAAA', 'CNAME', ...) 'SVCB'/'HTTPS' for 64/65, or 'UNKNOWN_<n>' for other types the codec does not know (dns-packet's spelling). */
  type: string;
  ttl: number;
  /** A/AAAA: address text; CNAME/NS/PTR/DNAME: a name; MX: "pref exchange"; SRV: "prio weight port target";
   *  TXT: the strings joined by a space; SOA: "mname rname serial"; anything else: ''. */
  data: string;
}

export interface DnsRecord {
  /** Time of the query, or of the response when the query was not seen. */
  ts: number;
  flowId: number;
  /** 'udp' or 'tcp' (DNS over TCP, RFC 7766). */
  transport: 'udp' | 'tcp';
  txid: number;
  /** First question's name, lowercased, no trailing dot; '' when the message had no question. */
  query: string;
  /** First question's type mnemonic ('A', 'AAAA', ...); '' when there was no question. */
  qtype: string;
  /** Response code mnemonic ('NOERROR', 'NXDOMAIN', ...); null when no response was seen. */
  rcode: string | null;
  /** The answer section of the response (empty when there was none). */
  answers: DnsAnswer[];
  responseTs: number | null;
}

export interface HttpRecord {
  /** Time of the packet that carried the request's first byte. */
  ts: number;
  flowId: number;
  /** Method token as sent ('GET', 'CONNECT', ...). */
  method: string;
  /** Request target as sent (origin-form path + query, absolute-form URL, or host:port for CONNECT),
   *  truncated to 512 characters. */
  path: string;
  /** 'HTTP/1.1' or 'HTTP/1.0'. */
  version: string;
  /** Host header as written (port kept), lowercased; null when absent. */
  host: string | null;
  /** User-Agent header, truncated to 256 characters; null when absent (names the client: `ollama/0.x (...) Go/...`). */
  userAgent: string | null;
  /** Final (non-1xx) response status, or 101; null when no response was seen. */
  status: number | null;
  /** Time of the packet that carried the response's first byte; null without a response. */
  responseTs: number | null;
  /** The response's Content-Length (0: Ollama's host-check 403 has an empty body); null when chunked, absent or not seen. */
  responseLength: number | null;
  /** Location header of a 3xx response (the registry's 307 points at the blob CDN); null otherwise. */
  location: string | null;
  /** True for CONNECT; then connectHost/connectPort hold the tunnel's target. */
  isConnect: boolean;
  connectHost: string | null;
  connectPort: number | null;
  /**
   * The model a request to a model route on the API port named in its JSON body (`model`, or the
   * older `name`), validated as a model name (knowledge/model-names.ts); null otherwise. No other
   * body byte is kept.
   */
  model: string | null;
  /** Why model is or is not set, for requests whose model is read; null for every other request. */
  modelStatus: ModelStatus | null;
}

/** Where the enricher sends records. Called synchronously; a record is never reused after. */
export interface EnrichSink {
  dns(rec: DnsRecord): void;
  http(rec: HttpRecord): void;
}
