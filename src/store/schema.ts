/**
 * Schema migrations, applied in order; PRAGMA user_version records how many ran.
 * Times are integers in microseconds since the Unix epoch (µs), addresses are text
 * (RFC 5952 for IPv6), JSON columns hold small arrays/objects. Field names follow Zeek's
 * conn/dns/http logs where one exists ("out" = from the initiator = Zeek's orig).
 */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,            -- 'import' | 'live'
    source        TEXT    NOT NULL,            -- file path, or interface list for live capture
    format        TEXT,                        -- 'pcap' | 'pcapng' | 'live'
    interfaces    TEXT    NOT NULL,            -- JSON [{index, name, linktype}]
    filter        TEXT,                        -- BPF filter of a live capture
    started_at    INTEGER,                     -- µs, first packet
    ended_at      INTEGER,                     -- µs, last packet
    recorded_at   INTEGER NOT NULL,            -- µs, wall clock when the session was written
    packets       INTEGER NOT NULL DEFAULT 0,  -- packets read
    drops         INTEGER,                     -- kernel drops the source reported; NULL = unknown
    loss_estimate REAL,                        -- estimated capture loss in %, NULL = unknown
    skipped       TEXT    NOT NULL DEFAULT '{}', -- JSON {reason: count}
    warnings      TEXT    NOT NULL DEFAULT '[]', -- JSON [line]
    stopped_at    INTEGER                      -- byte offset where a damaged file stopped being readable
  );

  CREATE TABLE processes (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,              -- process number within the session; flows refer to it
    pid         INTEGER NOT NULL,
    start_time  INTEGER,                       -- µs; with pid, tells a reused pid apart
    ppid        INTEGER,
    comm        TEXT    NOT NULL,
    exe         TEXT,
    exe_sha256  TEXT,
    cmdline     TEXT,
    uid         INTEGER,
    role        TEXT,                          -- 'server' | 'runner' | 'app' | 'cli' | NULL (not Ollama by its own shape)
    ollama_tree INTEGER NOT NULL DEFAULT 0,    -- 1: Ollama by role, by descent from an Ollama process, or by --process/--pid
    source      TEXT    NOT NULL               -- 'procfs' | 'pcapng-comment' | 'pktap' (macOS process blocks, migration 6) | 'kernel-event' (a bpftrace socket event named pid, name, uid; the process was gone before /proc was read)
  );
  CREATE UNIQUE INDEX processes_session_seq ON processes(session_id, seq);

  CREATE TABLE flows (
    id              INTEGER PRIMARY KEY,
    session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,          -- flow number within the session; dns/http rows refer to it
    proto           INTEGER NOT NULL,          -- IP protocol number
    ip_version      INTEGER NOT NULL,
    initiator_addr  TEXT    NOT NULL,
    initiator_port  INTEGER NOT NULL,
    responder_addr  TEXT    NOT NULL,
    responder_port  INTEGER NOT NULL,
    initiator_by    TEXT    NOT NULL,          -- 'syn' | 'syn-ack' | 'port' | 'first-packet'
    iface           INTEGER,
    first_seen      INTEGER NOT NULL,          -- µs
    last_seen       INTEGER NOT NULL,          -- µs
    packets_out     INTEGER NOT NULL,
    packets_in      INTEGER NOT NULL,
    bytes_out       INTEGER NOT NULL,          -- IP bytes from the initiator
    bytes_in        INTEGER NOT NULL,
    payload_out     INTEGER NOT NULL,          -- transport payload bytes from the initiator
    payload_in      INTEGER NOT NULL,
    tcp_state       INTEGER NOT NULL,          -- TCP_STATE_* bitmask
    missed_bytes    INTEGER NOT NULL,          -- TCP bytes acknowledged but never captured (Zeek's missed_bytes; a loss estimate)
    community_id    TEXT    NOT NULL,
    hostname        TEXT,
    hostname_source TEXT,                      -- 'sni' | 'connect' | 'http' | 'dns'
    sni             TEXT,
    alpn            TEXT,                      -- JSON array
    http_method     TEXT,
    http_path       TEXT,
    http_host       TEXT,
    http_status     INTEGER,
    connect_host    TEXT,
    connect_port    INTEGER,
    dns_name        TEXT,
    activity        TEXT    NOT NULL,          -- src/knowledge/activity.ts: registry | blob-download | ollama-com | proxy-connect | dns | api | api:<route> | runner | other (isApiActivity: api or api:*)
    activity_reason TEXT    NOT NULL,
    ollama          INTEGER NOT NULL,          -- 0/1
    process_seq     INTEGER                    -- processes.seq in the same session, NULL = unattributed
  );
  CREATE UNIQUE INDEX flows_session_seq ON flows(session_id, seq);
  CREATE INDEX flows_first_seen ON flows(first_seen);
  CREATE INDEX flows_activity ON flows(activity);

  CREATE TABLE dns (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    flow_seq    INTEGER NOT NULL,
    ts          INTEGER NOT NULL,              -- µs of the query (or of the response when the query was not seen)
    response_ts INTEGER,
    transport   TEXT    NOT NULL,              -- 'udp' | 'tcp'
    txid        INTEGER NOT NULL,
    query       TEXT    NOT NULL,
    qtype       TEXT    NOT NULL,
    rcode       TEXT,                          -- NULL: no response seen
    answers     TEXT    NOT NULL               -- JSON [{name, type, ttl, data}]
  );
  CREATE INDEX dns_session_flow ON dns(session_id, flow_seq);
  CREATE INDEX dns_query ON dns(query);

  CREATE TABLE http (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    flow_seq    INTEGER NOT NULL,
    ts          INTEGER NOT NULL,              -- µs of the request
    response_ts INTEGER,
    method      TEXT    NOT NULL,
    path        TEXT,                          -- request target, at most 512 characters
    version     TEXT,                          -- 'HTTP/1.1' | 'HTTP/1.0'
    host        TEXT,
    user_agent  TEXT,                          -- at most 256 characters
    status      INTEGER,
    location    TEXT,                          -- Location of a 3xx response
    is_connect  INTEGER NOT NULL
  );
  CREATE INDEX http_session_flow ON http(session_id, flow_seq);
  `,
  // 2: evidence segment files and, per flow and segment, where its packets are (no row per packet).
  `
  CREATE TABLE evidence_files (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,              -- segment number within the session
    path        TEXT    NOT NULL UNIQUE,
    first_ts    INTEGER,                       -- µs of the earliest packet
    last_ts     INTEGER,                       -- µs of the latest packet
    bytes       INTEGER NOT NULL,
    packets     INTEGER NOT NULL,
    sha256      TEXT,                          -- hex, set when the segment closes
    closed      INTEGER NOT NULL DEFAULT 0,
    incomplete  INTEGER NOT NULL DEFAULT 0     -- writing stopped inside it (disk full)
  );
  CREATE INDEX evidence_files_session ON evidence_files(session_id, seq);

  CREATE TABLE evidence_index (
    file_id       INTEGER NOT NULL REFERENCES evidence_files(id) ON DELETE CASCADE,
    session_id    INTEGER NOT NULL,
    flow_seq      INTEGER NOT NULL,            -- flows.seq of the same session
    first_offset  INTEGER NOT NULL,            -- byte offset of the flow's first packet block in the file
    last_offset   INTEGER NOT NULL,            -- ... and of its last
    packets       INTEGER NOT NULL,
    PRIMARY KEY (file_id, flow_seq)
  ) WITHOUT ROWID;
  CREATE INDEX evidence_index_flow ON evidence_index(session_id, flow_seq);
`,
  // 3: response length, so the exposure audit can tell Ollama's empty-bodied host-check 403.
  `ALTER TABLE http ADD COLUMN response_length INTEGER;`,
  // 4: both ends of a local flow, Zeek's connection state, the interfaces a forwarded flow crossed,
  // and each imported file's content hash (a second import of the same bytes is refused).
  `
  ALTER TABLE flows ADD COLUMN peer_process_seq INTEGER; -- processes.seq of the responder's socket owner when it is a local process (loopback, local server), NULL otherwise
  ALTER TABLE flows ADD COLUMN conn_state TEXT;          -- Zeek's conn_state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH); non-TCP flows by Zeek's UDP rule (S0/SF/SHR); NULL only in rows stored before it was recorded
  ALTER TABLE flows ADD COLUMN history TEXT;             -- Zeek's history string (ShADadFfRr...; upper case = initiator)
  ALTER TABLE flows ADD COLUMN ifaces TEXT;              -- JSON [index] of every interface the flow's packets were captured on, when more than one
  ALTER TABLE sessions ADD COLUMN source_sha256 TEXT;    -- SHA-256 (hex) of an imported file's bytes; NULL for live sessions
  CREATE INDEX sessions_source_sha256 ON sessions(source_sha256);
  `,
  // 5: the one live writer of this store (a second daemon on the same database would record the same traffic twice).
  `
  CREATE TABLE live_writer (
    id          INTEGER PRIMARY KEY CHECK (id = 1), -- at most one row
    pid         INTEGER NOT NULL,                   -- the writing process
    start_ticks INTEGER,                            -- its start time (/proc/<pid>/stat field 22): with pid, tells a reused pid apart; NULL where unknown
    session_id  INTEGER NOT NULL,                   -- the live session it writes
    since       INTEGER NOT NULL                    -- µs, when it took the store
  );
  `,
  // 6: windows of a live capture whose rows could not be written (the store's disk was full): coverage forbids `holds` over them.
  `ALTER TABLE sessions ADD COLUMN gaps TEXT; -- JSON [{start_us, end_us, flows_not_stored, flows_incomplete, records_not_stored}]; NULL: no gap`,
  // 7: macOS pktap captures name each packet's process with its executable's UUID, and the app a
  // daemon sent on behalf of.
  `
  ALTER TABLE processes ADD COLUMN exe_uuid TEXT;           -- executable UUID (Mach-O LC_UUID) from a macOS pktap capture; identifies the binary like exe_sha256; NULL when not given
  ALTER TABLE flows ADD COLUMN effective_process_seq INTEGER; -- processes.seq of the app on whose behalf process_seq (a daemon) sent the flow (pktap option 0x8003), when another process; NULL otherwise
  `,
  // 8: "what changed since" readers (the dashboard, export --follow) find a session's flows by last_seen.
  `CREATE INDEX flows_session_last_seen ON flows(session_id, last_seen);`,
  // 9: flows the flow table closed before their time (a full table evicted them, a half-open
  // flow timed out, the daemon's stop deadline left them unwritten), by kind.
  `ALTER TABLE sessions ADD COLUMN expired_early TEXT NOT NULL DEFAULT '{}'; -- JSON {evicted_half_open, evicted_finished, evicted_active, half_open_timeout, unwritten_at_stop: count}, non-zero kinds only`,
  // 10: when a live daemon's periodic write last committed (`service status`, metrics): a file's
  // mtime is no proof, SQLite touches its files while a write on a full disk fails.
  `ALTER TABLE sessions ADD COLUMN written_at INTEGER; -- µs, wall clock of the live session's last committed write; NULL for imports`,
  // 11: a live session's attribution sources: kernel socket events (bpftrace) with procfs, or procfs alone and why.
  `ALTER TABLE sessions ADD COLUMN attribution TEXT; -- JSON {method: 'kernel-events+procfs'|'procfs', mode: auto|ebpf|procfs, kernel_events_since_us, why_not, kernel_events_lost, kernel_event_gaps: [{start_us, end_us}]}; NULL for imports and sessions stored before it`,
  // 12: the model a plaintext API request named (its body's top-level `model`, or the older `name`;
  // src/knowledge/model-names.ts), and why there is none. No other body byte is stored.
  `
  ALTER TABLE http ADD COLUMN model TEXT;        -- a valid model name (letters, digits, _ - . and / : + @, at most 256), only for a request to a model route on the API port; NULL otherwise
  ALTER TABLE http ADD COLUMN model_status TEXT; -- found | absent | past-limit | invalid | not-a-string | not-json | unread (MODEL_STATUS_MEANINGS); NULL: a request whose model is not read (another port or route)
  `,
  // 13: per-day totals of the flows --retain / --max-db deleted (src/store/retention.ts), so "did
  // Ollama ever contact X" stays answerable after the flows are gone. A flow is added in the
  // transaction that deletes it: it is counted here or in flows, never both (read/rollups.ts adds
  // the two). No session_id: a rollup outlives its sessions (\`sessions delete\` leaves it).
  `
  CREATE TABLE rollups (
    day         TEXT    NOT NULL,              -- UTC date (YYYY-MM-DD) of the flows' first packet
    destination TEXT    NOT NULL,              -- the flow's hostname, else the responder's address
    activity    TEXT    NOT NULL,              -- flows.activity
    process     TEXT    NOT NULL,              -- processes.comm of the flow's process; '' = unattributed
    ollama      INTEGER NOT NULL,              -- 0/1, flows.ollama
    flows       INTEGER NOT NULL,
    bytes_out   INTEGER NOT NULL,              -- IP bytes from the initiator
    bytes_in    INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,              -- µs, earliest first packet
    last_seen   INTEGER NOT NULL,              -- µs, latest last packet
    PRIMARY KEY (day, destination, activity, process, ollama)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_destination ON rollups(destination);
  `,
  // 14: which write of a live session last wrote a flow, so a reader that follows it (the dashboard)
  // reads exactly the rows written since it last read (read/changes.ts), not every row whose last
  // packet falls in an overlap before its watermark (a row can be committed after a later one).
  // Imports write none: their rows are written once, in one transaction. A partial index: an
  // import's rows (NULL) cost it no index entry.
  `
  ALTER TABLE flows ADD COLUMN write_seq INTEGER; -- the live session's write (transaction) that last wrote the row: 1, 2, ... in commit order within the session; NULL for imports
  CREATE INDEX flows_session_write_seq ON flows(session_id, write_seq) WHERE write_seq IS NOT NULL;
  `,
];
