/**
 * Zeek's conn.log in Zeek's own ASCII (TSV) format: the header lines Zeek writes, the field names,
 * order and types of Zeek's Conn::Info (base/protocols/conn/main.zeek) plus `community_id` as the
 * policy script policy/protocols/conn/community-id-logging.zeek adds it, so zeek-cut and other
 * Zeek tooling read it. Values follow Zeek's rules: `-` unset, `(empty)` an empty string, times in
 * epoch seconds with six decimals, and strings escaped as Zeek escapes them (\xHH).
 */
import { createHash } from 'node:crypto';
import { appProtocol, type ExportRow } from './export-row.js';

const FIELDS: [name: string, type: string][] = [
  ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
  ['proto', 'enum'], ['service', 'string'], ['duration', 'interval'], ['orig_bytes', 'count'], ['resp_bytes', 'count'],
  ['conn_state', 'string'], ['local_orig', 'bool'], ['local_resp', 'bool'], ['missed_bytes', 'count'], ['history', 'string'],
  ['orig_pkts', 'count'], ['orig_ip_bytes', 'count'], ['resp_pkts', 'count'], ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'], ['community_id', 'string'],
];

const UNSET = '-';
const EMPTY = '(empty)';

/** Zeek's #open / #close time: local date and time as %Y-%m-%d-%H-%M-%S. */
function zeekStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

export function zeekHeader(now: Date): string {
  return [
    '#separator \\x09', '#set_separator\t,', `#empty_field\t${EMPTY}`, `#unset_field\t${UNSET}`, '#path\tconn',
    `#open\t${zeekStamp(now)}`, `#fields\t${FIELDS.map((f) => f[0]).join('\t')}`, `#types\t${FIELDS.map((f) => f[1]).join('\t')}`,
  ].join('\n') + '\n';
}

export function zeekFooter(now: Date): string {
  return `#close\t${zeekStamp(now)}\n`;
}

const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`;

/**
 * A string as Zeek's ASCII writer writes it (ODesc::AddBytes with LogAscii::enable_utf_8=F):
 * printable ASCII as is, except the backslash, which starts an escape; every other byte of its
 * UTF-8 (controls, DEL, the tab separator, non-ASCII) as \xHH. An empty string is `(empty)`; a value
 * that reads as `-` or `(empty)` gets its first character escaped (escapeReservedContent).
 */
export function zeekString(s: string | null): string {
  if (s === null) return UNSET;
  if (s.length === 0) return EMPTY;
  if (s === UNSET || s === EMPTY) return `${hex(s.charCodeAt(0))}${s.slice(1)}`;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : hex(b);
  return out;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A connection uid as Zeek makes them ('C' and 17 base62 characters), from the flow's identity in the store. */
export function zeekUid(row: ExportRow): string {
  const digest = createHash('sha1').update(`${row.flow.session_id}/${row.flow.id}/${row.extras.first_seen_us}/${row.flow.community_id}`).digest();
  let out = 'C';
  for (let i = 0; i < 17; i++) out += BASE62[digest[i] % 62];
  return out;
}

/** Zeek's transport_proto: ICMPv6 is `icmp` too; anything else Zeek does not track is `unknown_transport`. */
function zeekProto(proto: string): string {
  if (proto === 'tcp' || proto === 'udp') return proto;
  return proto === 'icmp' || proto === 'icmpv6' ? 'icmp' : 'unknown_transport';
}

const SERVICE = { tls: 'ssl', http: 'http', dns: 'dns' } as const;

const seconds = (us: number) => (us / 1e6).toFixed(6);

/**
 * One conn.log line. As Zeek does, duration and the payload byte counts are unset for a
 * connection that lasted no time (one packet). local_orig/local_resp are unset: they need
 * Site::local_nets, which the store does not have; tunnel_parents likewise (no tunnels are decoded).
 */
export function zeekLine(row: ExportRow): string {
  const f = row.flow;
  const x = row.extras;
  const lasted = x.last_seen_us > x.first_seen_us;
  const protocol = appProtocol(f);
  const cells = [
    seconds(x.first_seen_us), zeekUid(row), f.initiator_addr, String(f.initiator_port), f.responder_addr, String(f.responder_port),
    zeekProto(f.proto), protocol === null ? UNSET : SERVICE[protocol],
    lasted ? seconds(x.last_seen_us - x.first_seen_us) : UNSET,
    lasted ? String(x.payload_out) : UNSET, lasted ? String(x.payload_in) : UNSET,
    zeekString(f.conn_state), UNSET, UNSET, String(f.missed_bytes), zeekString(f.history),
    String(f.packets_out), String(f.bytes_out), String(f.packets_in), String(f.bytes_in),
    UNSET, zeekString(f.community_id),
  ];
  return `${cells.join('\t')}\n`;
}
