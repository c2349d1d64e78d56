/**
 * conn_state and history on a real capture (fixtures/conn-states.pcap, fixtures/README.md): curl,
 * dig and ping against a gateway namespace that completes, resets, refuses and silently drops.
 * Expected states come from the scenario's facts (which step made which connection, each client's
 * exit code checked when the capture was made) and Zeek's definitions; the history letters are
 * checked per TCP stream against tshark's tcp.flags, lengths and analysis flags.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../differential/fixture-files.js';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkFields } from '../helpers/tshark.js';
import type { FlowRecord } from '../../src/store/read/flows.js';

const FILE = fixture('conn-states.pcap');
const REGISTRY = '203.0.113.10';
let flows: FlowRecord[] = [];
let dbPath = '';
let verifyText = '';
let verifyJson: { claims: { id: string; verdict: string; reason: string; evidence: { flows: { conn_state: string | null; history: string | null }[] } }[] };

beforeAll(async () => {
  const db = dbPath = join(mkdtempSync(join(tmpdir(), 'oa-conn-')), 'a.db');
  expect((await runCli('import', FILE, '--db', db, '--json')).code).toBe(0);
  flows = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout);
  verifyText = (await runCli('verify', '--db', db)).stdout;
  verifyJson = JSON.parse((await runCli('verify', '--db', db, '--json')).stdout);
});

const to = (addr: string, port: number, proto = 'tcp') =>
  flows.filter((f) => f.proto === proto && f.responder_addr === addr && f.responder_port === port);

describe('conn_state per the scenario', () => {
  it('the plain HTTP transfer to example.org ended by FIN both ways: SF', () => {
    expect(to('203.0.113.80', 80).map((f) => [f.conn_state, f.history])).toEqual([['SF', 'ShADadFf']]);
  });
  it('the server that resets after reading the request: RSTR', () => {
    expect(to(REGISTRY, 8080).map((f) => f.conn_state)).toEqual(['RSTR']);
  });
  it('to :443 in time order: the fetch, two refused while the server was stopped (REJ), three dropped (S0)', () => {
    const states = to(REGISTRY, 443).map((f) => f.conn_state);
    expect(states.slice(1)).toEqual(['REJ', 'REJ', 'S0', 'S0', 'S0']);
    // The fetch completed its handshake and exchange; how it ended is checked against tshark below.
    expect(to(REGISTRY, 443)[0].packets_in).toBeGreaterThan(3);
    for (const f of to(REGISTRY, 443).slice(1)) expect(f.hostname).toBe('registry.ollama.ai');
  });
  it('UDP: every DNS lookup answered (SF), the query to the dropping address not (S0); ping answered (SF)', () => {
    const dns = to('203.0.113.53', 53, 'udp');
    expect(dns.length).toBe(8); // one A lookup per curl
    expect(new Set(dns.map((f) => f.conn_state))).toEqual(new Set(['SF']));
    expect(to('203.0.113.54', 53, 'udp').map((f) => [f.conn_state, f.history])).toEqual([['S0', 'D']]);
    expect(flows.filter((f) => f.proto === 'icmp').map((f) => f.conn_state)).toEqual(['SF']);
  });
  it('verify says which attempts were answered, rejected or never answered', () => {
    expect(verifyText).toContain('3 attempts to registry.ollama.ai, none answered (S0)');
    expect(verifyText).toContain('2 attempts to registry.ollama.ai, rejected (REJ)');
    expect(verifyText).toContain('2 connections to registry.ollama.ai (RSTO, RSTR)');
    expect(verifyText).toContain('1 lookup of registry.ollama.ai, not answered (S0)');
    const dest = verifyJson.claims.find((c) => c.id === 'airgap-no-ollama-destination')!;
    expect(dest.verdict).toBe('violated'); // an attempt still breaks "never contacts": the host tried
    expect(dest.evidence.flows.map((f) => f.conn_state)).toEqual(['RSTO', 'RSTR', 'REJ', 'REJ', 'S0', 'S0', 'S0']);
    expect(dest.evidence.flows.map((f) => f.history).slice(2)).toEqual(['Sr', 'Sr', 'S', 'S', 'S']);
  });
});

describe('reports', () => {
  it('report.json flows carry conn_state and history; the Markdown and HTML flow tables show them', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'oa-conn-rep-')), 'r');
    expect((await runCli('report', '--db', dbPath, '--out', dir)).code).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json.flows.map((f: FlowRecord) => f.conn_state)).toEqual(flows.map((f) => f.conn_state));
    expect(json.flows.map((f: FlowRecord) => f.history)).toEqual(flows.map((f) => f.history));
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('| State (history) |');
    expect(md.match(/\| REJ \(Sr\) \|/g)?.length).toBe(2);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<th>State (history)</th>');
    expect(html.match(/>S0 \(S\)</g)?.length).toBe(3);
  });
});

describe('rows stored before conn_state was recorded (NULL)', () => {
  it('flows --json gives null and verify says the state was not recorded, never a guessed outcome', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'oa-conn-old-')), 'old.db');
    copyFileSync(dbPath, copy);
    const db = new Database(copy);
    db.prepare('UPDATE flows SET conn_state = NULL, history = NULL').run();
    db.close();
    const old: FlowRecord[] = JSON.parse((await runCli('flows', '--db', copy, '--json')).stdout);
    expect(old.every((f) => f.conn_state === null && f.history === null)).toBe(true);
    const text = (await runCli('verify', '--db', copy)).stdout;
    expect(text).toContain('7 flows to registry.ollama.ai (connection state not recorded)');
    expect(text).not.toMatch(/none answered|rejected \(/);
  });
});

interface Pkt { stream: number; src: string; sport: number; flags: number; len: number; window: number; retrans: boolean; ackLost: boolean }

/** Zeek's letter for one packet (main.zeek's history table), from tshark's fields. */
function letterOf(p: Pkt): string {
  const syn = (p.flags & 2) !== 0;
  const fin = (p.flags & 1) !== 0;
  const rst = (p.flags & 4) !== 0;
  const ack = (p.flags & 0x10) !== 0;
  const n = Number(syn) + Number(fin) + Number(rst);
  if (n > 1) return fin && rst ? 'I' : 'Q';
  if (syn) return ack ? 'H' : 'S';
  if (fin) return 'F';
  if (rst) return 'R';
  if (p.len > 0) return 'D';
  return ack ? 'A' : '';
}

/** Each letter's first occurrence per direction, upper case from the sender of the first SYN. */
function tsharkHistories(): Map<number, string> {
  const rows = tsharkFields(FILE, ['tcp.stream', 'ip.src', 'tcp.srcport', 'tcp.flags', 'tcp.len', 'tcp.window_size_value',
    'tcp.analysis.retransmission', 'tcp.analysis.ack_lost_segment'], 'tcp');
  const pkts: Pkt[] = rows.map((r) => ({
    stream: Number(r['tcp.stream'][0]), src: r['ip.src'][0], sport: Number(r['tcp.srcport'][0]),
    flags: Number(r['tcp.flags'][0]), len: Number(r['tcp.len'][0]), window: Number(r['tcp.window_size_value'][0]),
    retrans: r['tcp.analysis.retransmission'].length > 0, ackLost: r['tcp.analysis.ack_lost_segment'].length > 0,
  }));
  const byClientPort = new Map<number, string>();
  for (const stream of new Set(pkts.map((p) => p.stream))) {
    const ps = pkts.filter((p) => p.stream === stream);
    const orig = ps.find((p) => (p.flags & 0x12) === 0x02)!;
    let h = '';
    const add = (l: string, fromOrig: boolean) => {
      const c = fromOrig ? l : l.toLowerCase();
      if (l && !h.includes(c)) h += c;
    };
    for (const p of ps) {
      const fromOrig = p.src === orig.src && p.sport === orig.sport;
      add(letterOf(p), fromOrig);
      if (p.window === 0 && (p.flags & 4) === 0) add('W', fromOrig);
      if (p.retrans && p.len > 0) add('T', fromOrig);
      if (p.ackLost) add('G', !fromOrig); // the acknowledger's peer's data is missing
    }
    byClientPort.set(orig.sport, h);
  }
  return byClientPort;
}

describeNeeding(['tshark'], 'history letters and states against tshark (tcp.flags per stream)', () => {
  it('every TCP flow has the history tshark\'s packets give by Zeek\'s letter rules', () => {
    const expected = tsharkHistories();
    const tcpFlows = flows.filter((f) => f.proto === 'tcp');
    expect(tcpFlows.length).toBe(expected.size);
    for (const f of tcpFlows) expect([f.initiator_port, f.history]).toEqual([f.initiator_port, expected.get(f.initiator_port)]);
  });

  it('the TLS fetch: established, then only the client sent RST (Zeek: RSTO, originator aborted)', () => {
    const fetch = to(REGISTRY, 443)[0];
    const rows = tsharkFields(FILE, ['tcp.srcport', 'tcp.flags.reset', 'tcp.flags.syn', 'tcp.flags.ack'], `tcp.port == ${fetch.initiator_port}`);
    const from = (client: boolean) => rows.filter((r) => (Number(r['tcp.srcport'][0]) === fetch.initiator_port) === client);
    expect(from(false).some((r) => r['tcp.flags.syn'][0] === '1' && r['tcp.flags.ack'][0] === '1')).toBe(true);
    expect(from(true).some((r) => r['tcp.flags.reset'][0] === '1')).toBe(true);
    expect(from(false).some((r) => r['tcp.flags.reset'][0] === '1')).toBe(false);
    expect(fetch.conn_state).toBe('RSTO');
  });

  it('S0 flows: tshark sees no packet back and no ICMP error; REJ flows: the only answer is RST+ACK', () => {
    const fromServer = tsharkFields(FILE, ['tcp.dstport', 'tcp.flags'], `ip.src == ${REGISTRY} && tcp.srcport == 443`);
    for (const f of to(REGISTRY, 443).filter((x) => x.conn_state === 'S0' || x.conn_state === 'REJ')) {
      const back = fromServer.filter((r) => Number(r['tcp.dstport'][0]) === f.initiator_port).map((r) => Number(r['tcp.flags'][0]));
      expect(back).toEqual(f.conn_state === 'S0' ? [] : [0x14]);
    }
    expect(tsharkFields(FILE, ['icmp.type'], 'icmp').map((r) => r['icmp.type'][0]).sort()).toEqual(['0', '8']);
  });
});
