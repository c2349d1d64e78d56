/**
 * A bidirectional flow. Field meanings follow Zeek's conn.log where one exists:
 * "out" is from the initiator (Zeek's orig), "in" from the responder (Zeek's resp).
 * One object per flow; nothing per packet.
 */
/** A flow's process as attribution names it. */
export interface FlowProcess {
  pid: number;
  name: string;
  exe: string | null;
  /** Executable UUID from a macOS pktap capture (identifies the binary, like exe SHA-256 on Linux). */
  exeUuid?: string | null;
  /** Set when the name came from a pktap Process Information Block (stored as source 'pktap'). */
  source?: 'pktap';
}

/**
 * Numbers that change with every TCP packet of a flow, kept outside the Flow object in rows of
 * typed arrays: `conn` has CONN_WORDS int32 per row (src/flows/conn-state.ts), `loss` LOSS_WORDS
 * doubles per row (src/flows/tcp-loss.ts). An open flow uses its flow-table slot's row of the
 * table's own `conn` array, so it owns no typed array (two small typed arrays cost a flow ~490 bytes of
 * heap: a SYN flood holds 500,000 open flows), and, when it is TCP, a row of the table's `loss` rows,
 * which only TCP flows take (a UDP flood's 500,000 open flows need none: 64 bytes a slot). When it
 * closes, its slot is reused and the flow gets a copy of its rows (a row of a chunk of closed flows'
 * rows the table fills in turn).
 */
export interface FlowWords {
  conn: Int32Array;
  loss: Float64Array;
}

export const CONN_WORDS = 6;
export const LOSS_WORDS = 8;

/** Zeroed rows for `rows` flows (a flow built outside a table: newFlowWords(1), at 0). */
export function newFlowWords(rows: number): FlowWords {
  return { conn: new Int32Array(rows * CONN_WORDS), loss: new Float64Array(rows * LOSS_WORDS) };
}

export interface Flow {
  /** 1, 2, 3... in order of first packet within one ingest session. */
  id: number;
  /** IP protocol number. */
  proto: number;
  ipVersion: number;
  /** Addresses as their own small Buffers (4 or 16 bytes), copied once when the flow is created. */
  initiatorAddr: Buffer;
  responderAddr: Buffer;
  /**
   * TCP/UDP/SCTP ports. ICMP/ICMPv6: initiatorPort is the type, responderPort the reply type of a
   * request/reply pair (echo 8/0) or else the code, as Community ID and Zeek key them. 0 otherwise.
   */
  initiatorPort: number;
  responderPort: number;
  /**
   * How the initiator was decided: 'syn' (saw the SYN), 'syn-ack' (saw only the SYN-ACK),
   * 'port' (no handshake: the side with the well-known/lower service port is the responder),
   * 'first-packet' (no better clue: the sender of the first packet seen).
   */
  initiatorBy: 'syn' | 'syn-ack' | 'port' | 'first-packet';
  /** Interface index (source-specific) of the first packet. */
  iface: number;
  /**
   * Every interface the flow's packets were captured on, in the order they were crossed: of their
   * first packets' times, as copies of one packet tell it, not of reading (see
   * captureInterface in src/decode/link.ts: SLL2 ifindex, else the source's number); kept by the
   * ingest only when the capture has several interfaces, else null. One entry: one interface.
   */
  ifaces: number[] | null;
  /** µs since epoch. */
  firstSeen: number;
  lastSeen: number;
  packetsOut: number;
  packetsIn: number;
  /** IP-level bytes (Zeek's orig_ip_bytes / resp_ip_bytes). */
  bytesOut: number;
  bytesIn: number;
  /** Transport payload bytes by header lengths (Zeek's orig_bytes / resp_bytes, without retransmission removal). */
  payloadOut: number;
  payloadIn: number;
  /** Bitmask of TCP_STATE_* values. */
  tcpState: number;
  /**
   * Where the flow's per-packet TCP numbers live: row `at` of `words` (see FlowWords). Owned by
   * src/flows/conn-state.ts (Zeek's conn_state and history: read them with connStateOf() /
   * historyOf()) and src/flows/tcp-loss.ts (the capture-loss estimate: read it with lossOf()).
   */
  words: FlowWords;
  at: number;
  /**
   * The flow's row of `words.loss` (the TCP loss estimate's numbers). A flow that is not TCP has
   * none of its own: a row of zeros nothing writes (row 0 of the table's, or `at` of a closed chunk's).
   */
  lossAt: number;
  /** The loss estimate's gaps and out-of-order ranges: null until the flow first has one. */
  tcpLossHoles: Float64Array | null;
  /**
   * Community ID v1 ("1:base64"): null until first asked for; read it with communityIdOf() from
   * community-id.ts, which computes it once (a SYN flood's flows never need it in memory).
   */
  communityId: string | null;

  // --- naming, filled by src/enrich ---
  /** The best name of the far end, and what gave it. Precedence: sni > connect > http > dns. */
  hostname: string | null;
  hostnameSource: 'sni' | 'connect' | 'http' | 'dns' | null;
  sni: string | null;
  alpn: string[] | null;
  /** First HTTP/1.x request seen on this flow (plaintext), and the response status to it. */
  httpMethod: string | null;
  httpPath: string | null;
  httpHost: string | null;
  httpStatus: number | null;
  /** Target of an HTTP proxy `CONNECT host:port`. */
  connectHost: string | null;
  connectPort: number | null;
  /** Name the DNS cache gave the responder address when the flow began. */
  dnsName: string | null;

  // --- attribution ---
  /**
   * The initiator's socket owner when the initiator is on this machine (a local client, also of a
   * local server), else the responder's (a local server reached from elsewhere). null: not known.
   */
  process: FlowProcess | null;
  /** The responder's socket owner when both ends are on this machine (loopback, a local server); else null. */
  peerProcess: FlowProcess | null;
  /**
   * The app on whose behalf `process` (a daemon: nsurlsessiond, mDNSResponder...) sent the flow's
   * packets, when a macOS pktap capture says so (EPB option 0x8003) and it is another process; else null.
   */
  effectiveProcess: { pid: number; name: string } | null;

  /** Per-flow reassembly state owned by src/enrich; null once enrichment is done with this flow. */
  enrich: unknown;
  /** True when the flow table has expired or the source ended it. */
  closed: boolean;
}

export const TCP_STATE_SYN = 1;          // initiator SYN seen
export const TCP_STATE_SYNACK = 2;       // responder SYN-ACK seen
export const TCP_STATE_ESTABLISHED = 4;  // initiator ACK after SYN-ACK seen
export const TCP_STATE_FIN_OUT = 8;
export const TCP_STATE_FIN_IN = 16;
export const TCP_STATE_RST_OUT = 32;
export const TCP_STATE_RST_IN = 64;

/** Direction of a packet relative to its flow. */
export const DIR_OUT = 0; // from the initiator
export const DIR_IN = 1;  // from the responder
