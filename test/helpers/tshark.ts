/**
 * The tshark oracle: independent expected values for the differential tests.
 * Every call runs tshark with -n (no name resolution, so tshark never touches the network)
 * and returns plain data. Addresses are tshark's text forms (IPv6 compressed, lower case).
 */
import { execFileSync } from 'node:child_process';

const AGG = '\u001f';

function tshark(args: string[]): string {
  return execFileSync('tshark', ['-n', ...args], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

export function tsharkAvailable(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when tests that need tshark must run (and fail if it is missing): CI=true. */
export function tsharkRequired(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

export type FieldRow = Record<string, string[]>;

/**
 * One row per packet (matching displayFilter), each field as the list of its occurrences
 * (a packet can hold several DNS answers, or an IP header inside ICMP).
 */
export function tsharkFields(file: string, fields: string[], displayFilter?: string, options: string[] = []): FieldRow[] {
  const args = ['-r', file, ...options, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', `aggregator=${AGG}`];
  for (const f of fields) args.push('-e', f);
  if (displayFilter) args.push('-Y', displayFilter);
  const out = tshark(args);
  return out
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const cols = line.split('\t');
      const row: FieldRow = {};
      fields.forEach((f, i) => {
        const v = cols[i] ?? '';
        row[f] = v === '' ? [] : v.split(AGG);
      });
      return row;
    });
}

/**
 * tshark's fields as text, one array per packet, in the order asked: each cell the field's first
 * occurrence, or with `join` all of them joined by it (tshark's own `-E occurrence=a`, whose
 * default aggregator is ','). As with tsharkFields, a packet prints no row when it is the only
 * field asked for and is empty.
 */
export function tsharkColumns(file: string, fields: string[], displayFilter?: string, join?: string): string[][] {
  return tsharkFields(file, fields, displayFilter).map((row) => fields.map((f) => (join === undefined ? row[f][0] ?? '' : row[f].join(join))));
}

const first = (row: FieldRow, ...fields: string[]): string | undefined => {
  for (const f of fields) if (row[f]?.length) return row[f][0];
  return undefined;
};

/** tshark's frame.time_epoch ("1763883384.123456789") as whole microseconds, without float rounding. */
export function epochToMicros(text: string): number {
  const [sec, frac = ''] = text.split('.');
  return Number(sec) * 1_000_000 + Number((frac + '000000').slice(0, 6));
}

export interface Conversation {
  proto: 'tcp' | 'udp';
  /** The initiator: sender of the first SYN (without ACK), else of the first packet. */
  initiatorAddr: string;
  initiatorPort: number;
  responderAddr: string;
  responderPort: number;
  initiatorBySyn: boolean;
  packetsOut: number;
  packetsIn: number;
  /** IP-level bytes: ip.len, or ipv6.plen + 40. */
  bytesOut: number;
  bytesIn: number;
  /** µs since epoch. */
  firstSeen: number;
  lastSeen: number;
}

interface ConvPacket {
  proto: 'tcp' | 'udp';
  stream: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ipBytes: number;
  syn: boolean;
  ack: boolean;
  time: number;
}

const CONV_FIELDS = [
  'frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ip.len', 'ipv6.src', 'ipv6.dst', 'ipv6.plen',
  'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.syn', 'tcp.flags.ack',
  'udp.stream', 'udp.srcport', 'udp.dstport', 'ip.fragment', 'ipv6.fragment', 'icmp.type', 'icmpv6.type',
];

function convPacket(row: FieldRow): ConvPacket | null {
  const proto = row['tcp.stream'].length ? 'tcp' : row['udp.stream'].length ? 'udp' : null;
  if (!proto) return null;
  const v4 = row['ip.src'].length > 0;
  return {
    proto,
    stream: row[`${proto}.stream`][0],
    src: (v4 ? row['ip.src'] : row['ipv6.src'])[0],
    dst: (v4 ? row['ip.dst'] : row['ipv6.dst'])[0],
    sport: Number(row[`${proto}.srcport`][0]),
    dport: Number(row[`${proto}.dstport`][0]),
    ipBytes: v4 ? Number(row['ip.len'][0]) : Number(row['ipv6.plen'][0]) + 40,
    syn: first(row, 'tcp.flags.syn') === '1' || first(row, 'tcp.flags.syn') === 'True',
    ack: first(row, 'tcp.flags.ack') === '1' || first(row, 'tcp.flags.ack') === 'True',
    time: epochToMicros(row['frame.time_epoch'][0]),
  };
}

function newConversation(p: ConvPacket): Conversation {
  return {
    proto: p.proto,
    initiatorAddr: p.src, initiatorPort: p.sport, responderAddr: p.dst, responderPort: p.dport,
    initiatorBySyn: false, packetsOut: 0, packetsIn: 0, bytesOut: 0, bytesIn: 0,
    firstSeen: p.time, lastSeen: p.time,
  };
}

function swapEnds(c: Conversation): void {
  [c.initiatorAddr, c.responderAddr] = [c.responderAddr, c.initiatorAddr];
  [c.initiatorPort, c.responderPort] = [c.responderPort, c.initiatorPort];
  [c.packetsOut, c.packetsIn] = [c.packetsIn, c.packetsOut];
  [c.bytesOut, c.bytesIn] = [c.bytesIn, c.bytesOut];
}

/**
 * TCP and UDP conversations as tshark's tcp.stream / udp.stream group them, computed from
 * per-packet fields. Packets quoted inside ICMP errors are left out, as flows do. A datagram
 * that came in IP fragments counts each fragment frame (tshark shows the transport header only
 * on the frame that completed the reassembly; ip.fragment / ipv6.fragment list its frames).
 */
export function tsharkConversations(file: string): Conversation[] {
  const rows = tsharkFields(file, CONV_FIELDS, 'ip || ipv6');
  const frames = new Map<string, { ipBytes: number; time: number }>();
  for (const row of rows) {
    const v4 = row['ip.src'].length > 0;
    frames.set(row['frame.number'][0], {
      ipBytes: v4 ? Number(row['ip.len'][0]) : Number(row['ipv6.plen'][0]) + 40,
      time: epochToMicros(row['frame.time_epoch'][0]),
    });
  }
  const convs = new Map<string, Conversation>();
  for (const row of rows) {
    if (row['icmp.type'].length > 0 || row['icmpv6.type'].length > 0) continue;
    const p = convPacket(row);
    if (!p) continue;
    const key = `${p.proto}:${p.stream}`;
    let c = convs.get(key);
    if (!c) convs.set(key, (c = newConversation(p)));
    const out = p.src === c.initiatorAddr && p.sport === c.initiatorPort;
    const parts = row['ip.fragment'].length > 0 ? row['ip.fragment'] : row['ipv6.fragment'];
    const members = parts.length > 0 ? parts.map((n) => frames.get(n)!) : [{ ipBytes: p.ipBytes, time: p.time }];
    for (const m of members) {
      if (out) { c.packetsOut++; c.bytesOut += m.ipBytes; } else { c.packetsIn++; c.bytesIn += m.ipBytes; }
      c.firstSeen = Math.min(c.firstSeen, m.time);
      c.lastSeen = Math.max(c.lastSeen, m.time);
    }
    if (p.syn && !p.ack && !c.initiatorBySyn) {
      if (!out) swapEnds(c);
      c.initiatorBySyn = true;
    }
  }
  return [...convs.values()];
}

export interface SniRecord {
  stream: number;
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
  sni: string;
  /** Frame that completed the ClientHello, and whether it needed more than one TCP segment. */
  frame: number;
  reassembled: boolean;
}

/** One entry per ClientHello carrying server_name (including ones inside a proxy CONNECT tunnel). */
export function tsharkSni(file: string): SniRecord[] {
  const rows = tsharkFields(
    file,
    ['frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
      'tls.handshake.extensions_server_name', 'tcp.segment.count'],
    'tls.handshake.type == 1 && tls.handshake.extensions_server_name',
    ['-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'tls.desegment_ssl_records:TRUE'],
  );
  return rows.map((r) => ({
    stream: Number(r['tcp.stream'][0]),
    clientAddr: first(r, 'ip.src', 'ipv6.src') ?? '',
    clientPort: Number(r['tcp.srcport'][0]),
    serverAddr: first(r, 'ip.dst', 'ipv6.dst') ?? '',
    serverPort: Number(r['tcp.dstport'][0]),
    sni: r['tls.handshake.extensions_server_name'][0],
    frame: Number(r['frame.number'][0]),
    reassembled: Number(first(r, 'tcp.segment.count') ?? '1') > 1,
  }));
}

export interface DnsAnswer {
  name: string;
  /** Numeric RR type (1 A, 5 CNAME, 28 AAAA). */
  type: number;
  ttl: number;
  /** Address text for A/AAAA, target name for CNAME, '' for types this oracle does not decode. */
  data: string;
}

export interface DnsResponse {
  frame: number;
  query: string;
  qtype: number;
  rcode: number;
  answers: DnsAnswer[];
}

const DATA_FIELD: Record<number, string> = { 1: 'dns.a', 5: 'dns.cname', 28: 'dns.aaaa' };

/** Every DNS response (UDP and TCP), with its answer section in order. */
export function tsharkDnsAnswers(file: string): DnsResponse[] {
  const rows = tsharkFields(
    file,
    ['frame.number', 'dns.qry.name', 'dns.qry.type', 'dns.flags.rcode', 'dns.resp.name', 'dns.resp.type', 'dns.resp.ttl',
      'dns.a', 'dns.aaaa', 'dns.cname', 'dns.count.answers'],
    'dns.flags.response == 1',
  );
  return rows.map((r) => {
    const nAnswers = Number(r['dns.count.answers'][0] ?? '0');
    const cursor: Record<string, number> = {};
    const answers: DnsAnswer[] = [];
    for (let i = 0; i < nAnswers; i++) {
      const type = Number(r['dns.resp.type'][i]);
      const field = DATA_FIELD[type];
      const data = field ? r[field][(cursor[field] = (cursor[field] ?? -1) + 1)] ?? '' : '';
      answers.push({ name: r['dns.resp.name'][i], type, ttl: Number(r['dns.resp.ttl'][i]), data });
    }
    return {
      frame: Number(r['frame.number'][0]),
      query: r['dns.qry.name'][0] ?? '',
      qtype: Number(r['dns.qry.type'][0]),
      rcode: Number(r['dns.flags.rcode'][0]),
      answers,
    };
  });
}

export interface HttpRequest {
  frame: number;
  stream: number;
  method: string;
  uri: string;
  host: string | null;
  /** Status of the response tshark paired with this request, null when none was seen. */
  status: number | null;
}

/** Plaintext HTTP/1.x requests on any TCP port (tshark's HTTP heuristic on), with response codes. */
export function tsharkHttpRequests(file: string): HttpRequest[] {
  const opts = ['-o', 'tcp.desegment_tcp_streams:TRUE', '--enable-heuristic', 'http_tcp'];
  const responses = new Map<number, number>();
  for (const r of tsharkFields(file, ['http.request_in', 'http.response.code'], 'http.response', opts)) {
    responses.set(Number(r['http.request_in'][0]), Number(r['http.response.code'][0]));
  }
  return tsharkFields(
    file,
    ['frame.number', 'tcp.stream', 'http.request.method', 'http.request.uri', 'http.host'],
    'http.request',
    opts,
  ).map((r) => {
    const frame = Number(r['frame.number'][0]);
    return {
      frame,
      stream: Number(r['tcp.stream'][0]),
      method: r['http.request.method'][0],
      uri: r['http.request.uri'][0],
      host: r['http.host'][0] ?? null,
      status: responses.get(frame) ?? null,
    };
  });
}

export interface ConnectRequest {
  stream: number;
  clientAddr: string;
  clientPort: number;
  proxyAddr: string;
  proxyPort: number;
  targetHost: string;
  targetPort: number;
  status: number | null;
}

/** HTTP proxy CONNECT requests and the proxy's answer. */
export function tsharkConnect(file: string): ConnectRequest[] {
  const byFrame = new Map(tsharkHttpRequests(file).map((h) => [h.frame, h]));
  return tsharkFields(
    file,
    ['frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'http.request.uri'],
    'http.request.method == "CONNECT"',
  ).map((r) => {
    const uri = r['http.request.uri'][0];
    const colon = uri.lastIndexOf(':');
    return {
      stream: Number(r['tcp.stream'][0]),
      clientAddr: first(r, 'ip.src', 'ipv6.src') ?? '',
      clientPort: Number(r['tcp.srcport'][0]),
      proxyAddr: first(r, 'ip.dst', 'ipv6.dst') ?? '',
      proxyPort: Number(r['tcp.dstport'][0]),
      targetHost: uri.slice(0, colon).replace(/^\[|\]$/g, ''),
      targetPort: Number(uri.slice(colon + 1)),
      status: byFrame.get(Number(r['frame.number'][0]))?.status ?? null,
    };
  });
}
