/**
 * The store half of the audit on hand-made rows (no root): client classes, a proxy found by
 * request relay (prefix-stripping location included) and by its process, and which 403s are
 * the Host check and which are not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditExposure, type ExposureReport } from '../../src/exposure/audit.js';
import { openDb, type Db } from '../../src/store/open-db.js';

const T0 = 1_800_000_000_000_000;
const HOST_CHECK = { hostname: 'gpu-box', localAddrs: [] };

interface F { seq: number; ini: string; iport: number; res: string; rport: number; t: number; dur: number; out?: number; inb?: number; activity?: string; proc?: number; peer?: number }
interface H { seq: number; t: number; resp?: number; method?: string; path: string; host: string | null; status: number | null }

function insert(db: Db, session: number, flows: F[], http: H[], procs: { seq: number; pid: number; comm: string }[] = []): void {
  db.prepare(`INSERT INTO sessions (id, kind, source, interfaces, recorded_at) VALUES (?, 'import', 'test', '[]', 0)`).run(session);
  for (const p of procs) {
    db.prepare(`INSERT INTO processes (session_id, seq, pid, comm, source) VALUES (?, ?, ?, ?, 'procfs')`).run(session, p.seq, p.pid, p.comm);
  }
  for (const f of flows) {
    db.prepare(`INSERT INTO flows (session_id, seq, proto, ip_version, initiator_addr, initiator_port, responder_addr, responder_port,
      initiator_by, first_seen, last_seen, packets_out, packets_in, bytes_out, bytes_in, payload_out, payload_in, tcp_state,
      missed_bytes, community_id, activity, activity_reason, ollama, process_seq, peer_process_seq)
      VALUES (?, ?, 6, 4, ?, ?, ?, ?, 'syn', ?, ?, 5, 5, ?, ?, 0, 0, 0, 0, 'x', ?, 'test', 0, ?, ?)`)
      .run(session, f.seq, f.ini, f.iport, f.res, f.rport, T0 + f.t, T0 + f.t + f.dur, f.out ?? 100, f.inb ?? 200, f.activity ?? 'other', f.proc ?? null, f.peer ?? null);
  }
  for (const h of http) {
    db.prepare(`INSERT INTO http (session_id, flow_seq, ts, response_ts, method, path, version, host, status, is_connect)
      VALUES (?, ?, ?, ?, ?, ?, 'HTTP/1.1', ?, ?, 0)`)
      .run(session, h.seq, T0 + h.t, h.resp === undefined ? null : T0 + h.resp, h.method ?? 'GET', h.path, h.host, h.status);
  }
}

let dir: string;
let all: ExposureReport;
let s2: ExposureReport;
let s3: ExposureReport;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oaex-store-'));
  const path = join(dir, 'a.db');
  const db = openDb(path);
  // Session 1: a LAN client straight to the API; a public client and a loopback one through
  // a proxy on 443 whose `location /ollama/` strips the prefix; a direct loopback client with
  // a foreign Host; an unrelated web request on 8080 at the same time (different path).
  insert(db, 1, [
    { seq: 1, ini: '192.168.1.20', iport: 50000, res: '192.168.1.5', rport: 11434, t: 0, dur: 1000, out: 1000, inb: 5000, activity: 'api:/api/chat' },
    { seq: 2, ini: '203.0.113.9', iport: 40000, res: '192.168.1.5', rport: 443, t: 10_000, dur: 50_000 },
    { seq: 3, ini: '127.0.0.1', iport: 40001, res: '127.0.0.1', rport: 11434, t: 20_000, dur: 5_000, activity: 'api:/api/tags' },
    { seq: 4, ini: '127.0.0.1', iport: 40002, res: '127.0.0.1', rport: 11434, t: 100_000, dur: 1000, activity: 'api:/api/tags' },
    { seq: 5, ini: '198.51.100.7', iport: 40003, res: '192.168.1.5', rport: 8080, t: 15_000, dur: 50_000 },
    { seq: 6, ini: '10.0.0.8', iport: 40004, res: '192.168.1.5', rport: 443, t: 200_000, dur: 50_000 },
    { seq: 7, ini: '127.0.0.1', iport: 40005, res: '127.0.0.1', rport: 11434, t: 210_000, dur: 5_000, activity: 'api:/api/tags' },
  ], [
    { seq: 1, t: 100, resp: 500, method: 'POST', path: '/api/chat', host: '192.168.1.5:11434', status: 200 },
    { seq: 2, t: 12_000, resp: 40_000, path: '/ollama/api/tags', host: 'llm.example.org', status: 403 },
    { seq: 3, t: 21_000, resp: 22_000, path: '/api/tags', host: 'llm.example.org', status: 403 },
    { seq: 4, t: 100_100, resp: 100_200, path: '/api/tags', host: 'evil.example.net:11434', status: 403 },
    { seq: 5, t: 16_000, resp: 60_000, path: '/index.html', host: 'www.example.org', status: 200 },
    { seq: 6, t: 201_000, resp: 240_000, path: '/ollama/api/tags', host: 'llm.example.org', status: 403 },
    { seq: 7, t: 211_000, resp: 212_000, path: '/api/tags', host: 'llm.example.org', status: 403 },
  ]);
  // Session 2: live capture with procfs: the API flow belongs to caddy (pid 77), which also
  // answered a client on 8443; a 403 on a LAN-bound API (no Host check there) is something else.
  insert(db, 2, [
    { seq: 1, ini: '172.16.0.4', iport: 41000, res: '172.16.0.1', rport: 8443, t: 0, dur: 9000, proc: 1 },
    { seq: 2, ini: '127.0.0.1', iport: 41001, res: '127.0.0.1', rport: 11434, t: 1000, dur: 2000, activity: 'api:/api/ps', proc: 1 },
    { seq: 3, ini: '172.16.0.9', iport: 41002, res: '172.16.0.1', rport: 11434, t: 20_000, dur: 2000, activity: 'api:/api/ps' },
  ], [
    { seq: 2, t: 1100, resp: 1200, path: '/api/ps', host: 'localhost:11434', status: 200 },
    { seq: 3, t: 20_100, resp: 20_200, path: '/api/ps', host: 'ollama.example.com', status: 403 },
  ], [{ seq: 1, pid: 77, comm: 'caddy' }]);
  // Session 3: live, both ends of loopback flows attributed: curl asks the API (ollama is the
  // peer), a LAN client asks it (ollama, the only local end, is the process), and nginx on
  // 127.0.0.1:8080, reached by a second curl on loopback, relays to the API.
  insert(db, 3, [
    { seq: 1, ini: '127.0.0.1', iport: 42000, res: '127.0.0.1', rport: 11434, t: 0, dur: 1000, activity: 'api:/api/tags', proc: 1, peer: 2 },
    { seq: 2, ini: '192.168.1.30', iport: 42001, res: '192.168.1.5', rport: 11434, t: 2000, dur: 1000, activity: 'api:/api/tags', proc: 2 },
    { seq: 3, ini: '127.0.0.1', iport: 42002, res: '127.0.0.1', rport: 8080, t: 4000, dur: 3000, proc: 3, peer: 4 },
    { seq: 4, ini: '127.0.0.1', iport: 42003, res: '127.0.0.1', rport: 11434, t: 5000, dur: 1000, activity: 'api:/api/ps', proc: 4, peer: 2 },
  ], [], [{ seq: 1, pid: 501, comm: 'curl' }, { seq: 2, pid: 10, comm: 'ollama' }, { seq: 3, pid: 502, comm: 'curl' }, { seq: 4, pid: 90, comm: 'nginx' }]);
  db.close();
  const ro = openDb(path, { readonly: true });
  try {
    all = auditExposure(ro, { live: false, hostCheck: HOST_CHECK });
    s2 = auditExposure(ro, { live: false, sessions: [2], hostCheck: HOST_CHECK });
    s3 = auditExposure(ro, { live: false, sessions: [3], hostCheck: HOST_CHECK });
  } finally {
    ro.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('auditExposure on the store', () => {
  it('groups API clients by class, widest reach first, with counts and bytes', () => {
    expect(all.clients.map((g) => [g.class, g.flows, g.clients])).toEqual([['private', 3, 3], ['loopback', 6, 1]]);
    const lan = all.clients[0].addresses.find((a) => a.address === '192.168.1.20')!;
    expect(lan).toMatchObject({ flows: 1, bytes_out: 1000, bytes_in: 5000 });
    expect(all.clients[0].first_seen).toBe('2027-01-15T08:00:00.000000Z');
  });

  it('finds the relaying proxy by request, with the clients behind it, but not the unrelated web request', () => {
    const relay = all.proxies.find((p) => p.detected_by.includes('request-relay'))!;
    expect(relay).toMatchObject({ name: null, front: ['192.168.1.5:443'], api_flows: 2, api_requests: 2 });
    expect(relay.clients.map((g) => [g.class, g.addresses.map((a) => a.address)])).toEqual([['public', ['203.0.113.9']], ['private', ['10.0.0.8']]]);
  });

  it('finds a proxy by its process and its front from the flows it answered', () => {
    expect(s2.proxies).toEqual([expect.objectContaining({ name: 'caddy', pids: [77], detected_by: ['process'], front: ['172.16.0.1:8443'], api_requests: 1 })]);
    expect(s2.proxies[0].clients[0].addresses[0].address).toBe('172.16.0.4');
  });

  it('diagnoses the Host-check 403s per proxy and per direct client, not a 403 from a LAN-bound API', () => {
    const groups = all.host_trap.map((g) => [g.via, g.host, g.requests]);
    expect(groups).toEqual(expect.arrayContaining([
      ['a reverse proxy on 192.168.1.5:443', 'llm.example.org', 2],
      [null, 'evil.example.net:11434', 1],
    ]));
    expect(groups).toHaveLength(2);
    expect(s2.host_trap).toEqual([]);
    const msgs = all.findings.filter((f) => f.code === 'host-check-403').map((f) => f.message);
    expect(msgs.some((m) => m.startsWith('requests through a reverse proxy on 192.168.1.5:443 with Host: llm.example.org got 403'))).toBe(true);
    expect(msgs.some((m) => m.startsWith('requests from 127.0.0.1 with Host: evil.example.net:11434 got 403'))).toBe(true);
  });

  it('names a local client by the flow\'s process, never by its peer (the server), and a remote client by none', () => {
    const byAddr = new Map(s3.clients.flatMap((g) => g.addresses.map((a) => [a.address, a.processes])));
    expect(byAddr.get('127.0.0.1')).toEqual([{ pid: 90, name: 'nginx' }, { pid: 501, name: 'curl' }]);
    expect(byAddr.get('192.168.1.30')).toEqual([]);
  });

  it('finds a proxy by its process, and its front from the loopback flows it answered as their peer', () => {
    expect(s3.proxies).toEqual([expect.objectContaining({ name: 'nginx', pids: [90], detected_by: ['process'], front: ['127.0.0.1:8080'] })]);
  });

  it('restricts to the sessions asked for', () => {
    expect(s2.clients.map((g) => g.class)).toEqual(['private', 'loopback']);
    expect(s2.clients[0].addresses.map((a) => a.address)).toEqual(['172.16.0.9']);
    expect(s2.notes.some((n) => n.startsWith('not live'))).toBe(true);
  });
});
