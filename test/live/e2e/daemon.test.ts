/**
 * `ollama-audit daemon` end to end, in network namespaces this file creates (see netns.ts): a fake
 * `ollama` (a copy of node) pulls a multi-MB model from a fake registry.ollama.ai (TLS, test CA)
 * that 307-redirects blobs to a fake CDN; other processes make unrelated traffic and 200 short
 * connections; the daemon runs in the host namespace on `-i any` (lo + the veth) and is stopped
 * with SIGINT, SIGTERM mid-transfer, and kill -9.
 *
 * Expected values come from the harness, never from our own output: which pid did what and on
 * which local port (the programs log their own sockets; curl reports its local port), the exe's
 * `sha256sum`, and `tshark -n` on the evidence files compared with a `tcpdump -i any` running in
 * the same namespace at the same time.
 *
 * Needs root (namespaces, capture) and bpftrace (kernel socket events). Skips with one line outside CI; under CI=true it runs and fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import { tsharkColumns } from '../../helpers/tshark.js';
import {
  ADDR, CDN_HOST, DAEMON_START, INTERNET_NEEDS, THINK_PORT, buildInternet, inHost, pullViaApi, readSocketLog, sh,
  ollamaSocketsClosed, startDaemon, startKid, teardownInternet, waitForMethod, type Internet, type Kid, type SocketLogEntry,
} from './netns.js';

/** Namespaces oae2e-host and oae2e-inet (netns.ts). */
const PREFIX = 'oae2e-';
const BLOB_BYTES = 8 * 1024 * 1024;
const SHORT_CONNECTIONS = 200;
/**
 * example.org answers after this long, so each unrelated connection lives ~0.1 s like a page
 * fetched from the internet (the 200 short connections are the test of short ones). DNS answers
 * after 25 ms. Measured on this 2-core machine under load from other work: with 20 ms, the three
 * connections of a client that lives ~0.1 s were all left unattributed in 1 of 3 runs.
 */
const WEB_DELAY_MS = 100;
const CLIENTS = join(import.meta.dirname, 'host/clients.mjs');
/** The daemon (built CLI, live capture through cap) and the tools this file runs besides the internet's. */
const NEEDS = [...INTERNET_NEEDS, 'cap', 'dist', 'curl', 'tcpdump', 'tshark', 'sha256sum', 'bpftrace'];

interface FlowRow {
  seq: number; proto: number; initiator_addr: string; initiator_port: number; responder_addr: string; responder_port: number;
  hostname: string | null; hostname_source: string | null; activity: string; ollama: number; process_seq: number | null;
  bytes_in: number; bytes_out: number; packets_in: number; packets_out: number; http_host: string | null; last_seen: number;
  pid: number | null; comm: string | null; exe: string | null; exe_sha256: string | null; role: string | null; ollama_tree: number | null;
}

function flowsOf(db: Database.Database, session: number): FlowRow[] {
  return db.prepare(`SELECT f.*, p.pid, p.comm, p.exe, p.exe_sha256, p.role, p.ollama_tree FROM flows f
    LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq WHERE f.session_id = ?`).all(session) as FlowRow[];
}

function tcpFlow(flows: FlowRow[], localAddr: string, localPort: number, remoteAddr: string, remotePort: number): FlowRow | undefined {
  return flows.find((f) => f.proto === 6 && f.initiator_addr === localAddr && f.initiator_port === localPort
    && f.responder_addr === remoteAddr && f.responder_port === remotePort);
}

/** Store consistency that must hold after any stop: integrity, foreign keys, and every reference resolving. */
function consistency(db: Database.Database, session: number): Record<string, unknown> {
  const one = (sql: string) => (db.prepare(sql).get(session) as { n: number }).n;
  return {
    integrity: db.pragma('integrity_check', { simple: true }),
    foreignKeys: (db.pragma('foreign_key_check') as unknown[]).length,
    danglingProcess: one('SELECT count(*) n FROM flows f WHERE f.session_id = ? AND f.process_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM processes p WHERE p.session_id = f.session_id AND p.seq = f.process_seq)'),
    danglingDns: one('SELECT count(*) n FROM dns d WHERE d.session_id = ? AND NOT EXISTS (SELECT 1 FROM flows f WHERE f.session_id = d.session_id AND f.seq = d.flow_seq)'),
    danglingHttp: one('SELECT count(*) n FROM http h WHERE h.session_id = ? AND NOT EXISTS (SELECT 1 FROM flows f WHERE f.session_id = h.session_id AND f.seq = h.flow_seq)'),
    danglingEvidence: one('SELECT count(*) n FROM evidence_index e WHERE e.session_id = ? AND NOT EXISTS (SELECT 1 FROM flows f WHERE f.session_id = e.session_id AND f.seq = e.flow_seq)'),
    duplicateFlows: one('SELECT count(*) n FROM (SELECT 1 FROM flows WHERE session_id = ? GROUP BY seq HAVING count(*) > 1)'),
  };
}
const CONSISTENT = { integrity: 'ok', foreignKeys: 0, danglingProcess: 0, danglingDns: 0, danglingHttp: 0, danglingEvidence: 0, duplicateFlows: 0 };

const tsharkCount = (file: string, filter: string): number => tsharkColumns(file, ['frame.number'], filter).length;

/** Each packet's comment ('' for none), with tshark's escaped newlines made real. */
const tsharkComments = (file: string, filter: string): string[] =>
  tsharkColumns(file, ['frame.comment'], filter).map(([c]) => c.replace(/\\n/g, '\n'));

const sha256sum = (file: string) => sh('sha256sum', [file]).split(' ')[0];

function jsonLines<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
}

interface ClientLine { pid: number; localPort?: number; ms?: number; closedAt?: number; remoteAddress?: string; done?: boolean }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function sessionOf(db: Database.Database): { id: number; ended_at: number | null; packets: number; kind: string; drops: number | null; loss_estimate: number | null } {
  const rows = db.prepare('SELECT * FROM sessions').all() as { id: number; ended_at: number | null; packets: number; kind: string; drops: number | null; loss_estimate: number | null }[];
  expect(rows).toHaveLength(1);
  return rows[0];
}

const stopLine = (d: Kid) => d.stderr().split('\n').filter((l) => l.length > 0);

describeNeeding(NEEDS, 'daemon end to end in network namespaces', () => {
  let dir: string;
  let net: Internet;
  let ollamaSha: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), PREFIX));
    // DNS answers after 25 ms, like a resolver a little way off. The pull starts once kernel socket
    // events are on, so its lookups are named however short; procfs alone (3-5 ms a pass idle, more
    // under load) is kernel-events.test.ts's and procfs-short-lived.test.ts's subject.
    net = await buildInternet(dir, { prefix: PREFIX, blobBytes: BLOB_BYTES, dnsDelayMs: 25, webDelayMs: WEB_DELAY_MS, think: true });
    ollamaSha = sha256sum(net.ollamaExe);
  });
  afterAll(() => {
    teardownInternet(PREFIX);
    if (dir && !process.env.OAE2E_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  describe('a pull, unrelated traffic and 200 short connections, stopped with SIGINT', () => {
    const s: {
      daemon?: Kid; exit?: { code: number | null; signal: string | null }; stopMs?: number;
      db?: Database.Database; session?: number; flows?: FlowRow[]; tcpdump?: string; evidenceDir?: string;
      pullLog?: SocketLogEntry[]; curl?: { pid: number; localPort: number; output: string };
      web?: ClientLine[]; webPid?: number; proxy?: { pid: number; localPort: number }; burst?: ClientLine[]; burstPid?: number;
    } = {};

    beforeAll(async () => {
      const work = join(dir, 's1');
      mkdirSync(work);
      s.evidenceDir = join(work, 'evidence');
      s.tcpdump = join(work, 'tcpdump-any.pcap');
      const td = startKid('ip', ['netns', 'exec', net.hostNs, 'tcpdump', '-Z', 'root', '-i', 'any', '-n', '-U', '-B', '16384', '-w', s.tcpdump]);
      await td.waitFor(/listening on/);
      s.daemon = await startDaemon(net, ['--db', join(work, 'audit.db'), '-i', 'any', '--evidence-dir', s.evidenceDir]);
      // Capture starts before bpftrace has attached (a second idle, several under load); until then
      // procfs alone answers, and a 25 ms DNS socket can fall between two /proc passes of a loaded
      // machine (seen in CI: the lookup stored without its pid, as the session's coverage said).
      // The pull starts once kernel socket events are on, as the session records them.
      expect((await waitForMethod(join(work, 'audit.db'), 'kernel-events+procfs'))?.method).toBe('kernel-events+procfs');

      const logFrom = readSocketLog(net.ollamaLog).length;
      const pull = await pullViaApi(net, { model: 'tinyllama' });
      s.curl = await pull.done;
      s.pullLog = readSocketLog(net.ollamaLog).slice(logFrom);

      const web = inHost(net, process.execPath, [CLIENTS, 'web', '3']);
      await web.exited;
      s.web = jsonLines<ClientLine>(web.stdout()).filter((l) => !l.done);
      s.webPid = web.pid;

      const proxy = inHost(net, 'curl', ['-sS', '-o', '/dev/null', '-w', '%{local_port}', '-x', `http://proxy.test:3128`, 'http://example.org/']);
      await proxy.exited;
      s.proxy = { pid: proxy.pid, localPort: Number(proxy.stdout().trim()) };

      const burst = inHost(net, process.execPath, [CLIENTS, 'burst', String(SHORT_CONNECTIONS), ADDR.web, String(THINK_PORT)]);
      await burst.exited;
      s.burst = jsonLines<ClientLine>(burst.stdout()).filter((l) => !l.done);
      s.burstPid = burst.pid;

      // Let the keep-alive connections to registry and CDN close (the servers' keepAliveTimeout is 2 s).
      await ollamaSocketsClosed(net);
      await sleep(300);
      const t0 = performance.now();
      s.daemon.proc.kill('SIGINT');
      const e = await s.daemon.exited;
      s.stopMs = e.at - t0;
      s.exit = { code: e.code, signal: e.signal };
      console.log(`SIGINT: exit ${e.code ?? e.signal} after ${s.stopMs.toFixed(0)} ms`);
      td.proc.kill('SIGINT');
      await td.exited;

      s.db = new Database(join(work, 'audit.db'), { readonly: true });
      s.session = sessionOf(s.db).id;
      s.flows = flowsOf(s.db, s.session);
    }, 90_000);
    afterAll(() => s.db?.close());

    it('exits 0 within 2 s of SIGINT, after one start line and a summary line', () => {
      expect(s.exit).toEqual({ code: 0, signal: null });
      expect(s.stopMs).toBeLessThan(2000);
      const lines = stopLine(s.daemon!);
      expect(lines.filter((l) => DAEMON_START.test(l))).toHaveLength(1);
      expect(lines[0]).toMatch(DAEMON_START);
      expect(lines.at(-1)).toMatch(/stopped/);
      const sess = sessionOf(s.db!);
      expect(sess.kind).toBe('live');
      expect(sess.ended_at).not.toBeNull();
      expect(sess.packets).toBeGreaterThan(SHORT_CONNECTIONS * 5);
      expect(consistency(s.db!, s.session!)).toEqual(CONSISTENT);
    });

    it('attributes the pull flows to the ollama pid, with exe and hash, named and classified', () => {
      expect(s.curl!.output).toMatch(/"status":"success"/);
      const connects = s.pullLog!.filter((e) => e.event === 'connect');
      const registry = connects.filter((e) => e.remoteAddress === ADDR.registry);
      const cdn = connects.filter((e) => e.remoteAddress === ADDR.cdn);
      expect(registry.length).toBeGreaterThan(0);
      expect(cdn.length).toBeGreaterThan(0);
      const pid = net.ollama.pid;
      const owner = { pid, comm: 'ollama', exe: net.ollamaExe, exe_sha256: ollamaSha, role: 'server', ollama_tree: 1 };
      for (const c of [...registry, ...cdn]) expect(c.pid).toBe(pid);
      for (const c of registry) {
        const f = tcpFlow(s.flows!, ADDR.host, c.localPort!, ADDR.registry, 443);
        expect(f, `registry flow from port ${c.localPort}`).toBeDefined();
        expect(f).toMatchObject({ ...owner, hostname: 'registry.ollama.ai', hostname_source: 'sni', activity: 'registry', ollama: 1 });
      }
      let cdnBytes = 0;
      for (const c of cdn) {
        const f = tcpFlow(s.flows!, ADDR.host, c.localPort!, ADDR.cdn, 443);
        expect(f, `CDN flow from port ${c.localPort}`).toBeDefined();
        expect(f).toMatchObject({ ...owner, hostname: CDN_HOST, hostname_source: 'sni', activity: 'blob-download', ollama: 1 });
        cdnBytes += f!.bytes_in;
      }
      expect(cdnBytes).toBeGreaterThan(BLOB_BYTES);
    });

    it('attributes the pull\'s DNS lookups to the ollama pid', () => {
      const resolved = new Set(s.pullLog!.filter((e) => e.event === 'resolved').map((e) => e.hostname));
      expect(resolved).toEqual(new Set(['registry.ollama.ai', CDN_HOST]));
      const rows = s.db!.prepare(`SELECT d.query, d.qtype, f.activity, p.pid FROM dns d
        JOIN flows f ON f.session_id = d.session_id AND f.seq = d.flow_seq
        LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
        WHERE d.session_id = ? AND d.query IN ('registry.ollama.ai', ?)`).all(s.session, CDN_HOST) as { query: string; qtype: string; activity: string; pid: number | null }[];
      for (const name of resolved) {
        const mine = rows.filter((r) => r.query === name);
        expect(mine.map((r) => r.qtype).sort(), name).toEqual(expect.arrayContaining(['A']));
        for (const r of mine) expect(r, name).toMatchObject({ pid: net.ollama.pid, activity: 'dns' });
      }
    });

    it('attributes the API call to the curl that made it', () => {
      const f = tcpFlow(s.flows!, '127.0.0.1', s.curl!.localPort, '127.0.0.1', 11434);
      expect(f).toBeDefined();
      expect(f).toMatchObject({ activity: 'api:/api/pull', ollama: 1, pid: s.curl!.pid, comm: 'curl' });
    });

    it('attributes unrelated traffic to its own process', () => {
      expect(s.web).toHaveLength(3);
      const webFlows = s.flows!.filter((f) => f.pid === s.webPid);
      const toWeb = webFlows.filter((f) => f.proto === 6 && f.responder_addr === ADDR.web && f.responder_port === 80);
      // It opened exactly three connections to example.org, and the daemon pinned exactly those on it.
      expect(toWeb.map((f) => f.initiator_port).sort()).toEqual(s.web!.map((l) => l.localPort).sort());
      for (const f of toWeb) expect(f).toMatchObject({ comm: 'node', ollama_tree: 0, role: null, ollama: 0, activity: 'other', hostname: 'example.org' });
      // Its lookups of example.org are its own, and nothing of it went to the registry or CDN.
      expect(webFlows.some((f) => f.proto === 17 && f.responder_addr === ADDR.dns && f.responder_port === 53)).toBe(true);
      expect(webFlows.filter((f) => f.responder_addr === ADDR.registry || f.responder_addr === ADDR.cdn)).toEqual([]);
      // ...and nothing of ollama's went to example.org.
      expect(s.flows!.filter((f) => f.pid === net.ollama.pid && f.responder_addr === ADDR.web)).toEqual([]);
      const viaProxy = tcpFlow(s.flows!, ADDR.host, s.proxy!.localPort, ADDR.proxy, 3128);
      expect(viaProxy).toMatchObject({ pid: s.proxy!.pid, comm: 'curl', ollama: 0, http_host: 'example.org' });
    });

    it(`attributes >= 95% of ${SHORT_CONNECTIONS} sequential connections of under 50 ms each`, () => {
      expect(s.burst).toHaveLength(SHORT_CONNECTIONS);
      // Connections the harness itself saw last 50 ms or more (a stalled machine) do not count.
      const short = s.burst!.filter((l) => l.ms! < 50);
      expect(short.length, 'connections under 50 ms (the machine is too loaded otherwise)').toBeGreaterThanOrEqual(SHORT_CONNECTIONS * 0.9);
      const found = short.map((l) => tcpFlow(s.flows!, ADDR.host, l.localPort!, ADDR.web, THINK_PORT));
      expect(found.filter((f) => f === undefined)).toHaveLength(0); // every connection was captured
      const mine = found.filter((f) => f!.pid === s.burstPid).length;
      const wrong = found.filter((f) => f!.pid !== null && f!.pid !== s.burstPid).length;
      console.log(`short connections: ${mine}/${short.length} (of ${SHORT_CONNECTIONS}; the rest took >= 50 ms) attributed to the client, ${wrong} to another process; durations median ${median(s.burst!.map((l) => l.ms!)).toFixed(1)} ms, max ${Math.max(...s.burst!.map((l) => l.ms!)).toFixed(1)} ms`);
      expect(wrong).toBe(0);
      expect(mine / short.length).toBeGreaterThanOrEqual(0.95);
    });

    it('writes evidence segments that tshark opens, with the packets tcpdump saw and process comments', () => {
      const files = s.db!.prepare('SELECT * FROM evidence_files WHERE session_id = ?').all(s.session) as { path: string; sha256: string | null; packets: number; closed: number }[];
      expect(files.length).toBeGreaterThan(0);
      const paths = files.map((f) => (isAbsolute(f.path) ? f.path : join(s.evidenceDir!, f.path)));
      files.forEach((f, i) => {
        expect(existsSync(paths[i])).toBe(true);
        expect(f.closed).toBe(1);
        expect(f.sha256).toBe(sha256sum(paths[i]));
        expect(tsharkCount(paths[i], 'frame')).toBe(f.packets);
      });
      const pid = net.ollama.pid;
      const pullConns = s.pullLog!.filter((e) => e.event === 'connect' && (e.remoteAddress === ADDR.registry || e.remoteAddress === ADDR.cdn));
      const serverOf = (addr: string) => (addr === ADDR.registry ? net.serverPids.registry : net.serverPids.cdn);
      const webConns = s.web!.map((l) => ({ localPort: l.localPort!, remoteAddress: ADDR.web, remotePort: 80, pid: s.webPid!, server: net.serverPids.web }));
      const uncommented: number[] = [];
      for (const c of [...pullConns.map((e) => ({ localPort: e.localPort!, remoteAddress: e.remoteAddress!, remotePort: e.remotePort!, pid, server: serverOf(e.remoteAddress!) })), ...webConns]) {
        // Both ports: a later short connection to example.org's port 7000 may reuse the local port.
        const filter = `ip.addr == ${c.remoteAddress} && tcp.port == ${c.localPort} && tcp.port == ${c.remotePort}`;
        const expected = tsharkCount(s.tcpdump!, filter);
        expect(expected).toBeGreaterThan(0);
        const inEvidence = paths.reduce((n, p) => n + tsharkCount(p, filter), 0);
        expect(inEvidence, filter).toBe(expected);
        // A packet's comment names the process that sent it. Every packet the client sent carries the
        // client's, except those written before the lookup answered: those can only be the first ones.
        const sent = `${filter} && tcp.srcport == ${c.localPort}`;
        const comments = paths.flatMap((p) => tsharkComments(p, sent));
        const exe = c.pid === pid ? net.ollamaExe : process.execPath;
        const firstCommented = comments.findIndex((x) => x !== '');
        expect(firstCommented, sent).toBeGreaterThanOrEqual(0);
        expect(new Set(comments.slice(firstCommented)), `${sent}: ${JSON.stringify(comments)}`).toEqual(new Set([`PID: ${c.pid}\nCmd: ${exe}`]));
        uncommented.push(firstCommented);
        // The server's packets name the server once kernel socket events have named it (a node process
        // of the inet namespace: a stand-in container); until then, as for any far end, the local
        // process they were for (src/flows/local-path.ts). Never anyone else.
        const received = `${filter} && tcp.dstport == ${c.localPort}`;
        const theirs = new Set(paths.flatMap((p) => tsharkComments(p, received)));
        theirs.delete('');
        const allowed = [`PID: ${c.pid}\nCmd: ${exe}`, `PID: ${c.server}\nCmd: ${process.execPath}`];
        expect([...theirs].filter((x) => !allowed.includes(x)), received).toEqual([]);
      }
      console.log(`evidence: leading packets without a process comment per flow: ${uncommented.join(', ')}`);
    });
  });

  describe('SIGTERM in the middle of a blob download', () => {
    const s: { exit?: { code: number | null; signal: string | null }; stopMs?: number; db?: Database.Database; session?: number; cdnPort?: number; received?: boolean; evidenceDir?: string } = {};

    beforeAll(async () => {
      const work = join(dir, 's2');
      mkdirSync(work);
      s.evidenceDir = join(work, 'evidence');
      const daemon = await startDaemon(net, ['--db', join(work, 'audit.db'), '-i', 'any', '--evidence', 'full', '--evidence-dir', s.evidenceDir]);
      const logFrom = readSocketLog(net.ollamaLog).length;
      const pull = await pullViaApi(net, { model: 'tinyllama', rate: 2 * 1024 * 1024 }); // 8 MiB at 2 MiB/s: 4 s
      pull.done.catch(() => {});
      let cdnConnect: SocketLogEntry | undefined;
      await waitUntil('the CDN download to start', () => {
        cdnConnect = readSocketLog(net.ollamaLog).slice(logFrom).find((e) => e.event === 'connect' && e.remoteAddress === ADDR.cdn);
        return cdnConnect !== undefined;
      });
      // The config blob (65 bytes) comes first on the same connection; then 1.2 s into the model blob.
      await sleep(1200);
      s.cdnPort = cdnConnect!.localPort;
      const t0 = performance.now();
      daemon.proc.kill('SIGTERM');
      const e = await daemon.exited;
      s.stopMs = e.at - t0;
      s.exit = { code: e.code, signal: e.signal };
      console.log(`SIGTERM mid-download: exit ${e.code ?? e.signal} after ${s.stopMs.toFixed(0)} ms`);
      s.received = readSocketLog(net.ollamaLog).slice(logFrom).some((l) => l.event === 'pulled');
      s.db = new Database(join(work, 'audit.db'), { readonly: true });
      s.session = sessionOf(s.db).id;
    }, 60_000);
    afterAll(() => s.db?.close());

    it('exits 0 within 2 s, the transfer still running', () => {
      expect(s.received).toBe(false);
      expect(s.exit).toEqual({ code: 0, signal: null });
      expect(s.stopMs).toBeLessThan(2000);
    });

    it('leaves a consistent store with the session closed and the open download recorded', () => {
      expect(consistency(s.db!, s.session!)).toEqual(CONSISTENT);
      expect(sessionOf(s.db!).ended_at).not.toBeNull();
      const f = tcpFlow(flowsOf(s.db!, s.session!), ADDR.host, s.cdnPort!, ADDR.cdn, 443);
      expect(f).toMatchObject({ pid: net.ollama.pid, activity: 'blob-download', hostname: CDN_HOST });
      expect(f!.bytes_in).toBeGreaterThan(1024 * 1024);
      expect(f!.bytes_in).toBeLessThan(BLOB_BYTES);
    });

    it('closes the evidence segment: hash matches, tshark reads every packet', () => {
      const files = s.db!.prepare('SELECT * FROM evidence_files WHERE session_id = ?').all(s.session) as { path: string; sha256: string | null; packets: number; closed: number }[];
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const p = isAbsolute(f.path) ? f.path : join(s.evidenceDir!, f.path);
        expect(f.closed).toBe(1);
        expect(f.sha256).toBe(sha256sum(p));
        expect(tsharkCount(p, 'frame')).toBe(f.packets);
      }
    });
  });

  describe('kill -9', () => {
    const s: { db?: Database.Database; session?: number; drip?: ClientLine[]; killAt?: number } = {};

    beforeAll(async () => {
      const work = join(dir, 's3');
      mkdirSync(work);
      const daemon = await startDaemon(net, ['--db', join(work, 'audit.db'), '-i', 'any', '--evidence-dir', join(work, 'evidence')]);
      const drip = inHost(net, process.execPath, [CLIENTS, 'drip', '100', ADDR.web, String(THINK_PORT)]);
      await sleep(3500);
      s.killAt = Date.now();
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
      drip.proc.kill('SIGKILL');
      await drip.exited;
      s.drip = jsonLines<ClientLine>(drip.stdout());
      s.db = new Database(join(work, 'audit.db'));
      s.session = sessionOf(s.db).id;
    }, 60_000);
    afterAll(() => s.db?.close());

    it('leaves a consistent database with the session open', () => {
      expect(consistency(s.db!, s.session!)).toEqual(CONSISTENT);
      expect(sessionOf(s.db!).ended_at).toBeNull();
    });

    it('loses at most about the last second of flows', () => {
      const flows = flowsOf(s.db!, s.session!);
      const conns = s.drip!.filter((l) => l.localPort);
      expect(conns.length).toBeGreaterThan(15);
      const missing = conns.filter((l) => !tcpFlow(flows, ADDR.host, l.localPort!, ADDR.web, THINK_PORT));
      const oldestMissingAge = missing.length ? s.killAt! - Math.min(...missing.map((l) => l.closedAt!)) : 0;
      console.log(`kill -9: ${conns.length - missing.length}/${conns.length} connections stored; oldest missing closed ${oldestMissingAge} ms before the kill`);
      expect(oldestMissingAge).toBeLessThanOrEqual(1500);
      expect(conns.length - missing.length).toBeGreaterThan(0);
    });
  });
});


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

