/**
 * macOS attribution by lsof lookups (src/attribution/os/darwin/lsof-attributor.ts) and the choice
 * that leads to it (src/capture/os/select.ts), without capturing:
 * - the -F parser on real `lsof +c 0 -nP -iTCP -iUDP -F pcuPTn` output of sockets two Node
 *   processes opened (fixtures/lsof/, made by fixtures/make/lsof-fields.mjs; format: lsof(8),
 *   "OUTPUT FOR OTHER PROGRAMS"), checked against what Node said of each socket (the facts file);
 * - the attributor over that output (a stand-in lsof prints it and logs each run): flows matched by
 *   4-tuple both ways round, IPv4 and IPv6, wildcard and IPv4-mapped listeners; a flow whose socket
 *   is not there unattributed and counted; one run for a burst; lsof missing, slow, a full queue.
 * The live end-to-end test with the real lsof is test/live/darwin/lsof-fallback.test.ts.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLsofFields, type LsofSocket } from '../../src/attribution/os/darwin/lsof-fields.js';
import { createLsofAttributor, LSOF_ARGS } from '../../src/attribution/os/darwin/lsof-attributor.js';
import { attributionMethod, lsofFallbackWarning } from '../../src/attribution/os/select.js';
import { chooseCapture } from '../../src/capture/os/select.js';
import type { Attributor } from '../../src/attribution/attributor.js';
import type { Flow } from '../../src/flows/flow.js';
import { parseAddr } from '../../src/decode/addr-parse.js';
import { makeFlow } from '../helpers/make-flow.js';
import { tmpDir } from '../capture/helpers.js';

const FIXTURE = path.resolve('fixtures/lsof/sockets.lsof');
const STAND_IN = path.resolve(import.meta.dirname, 'lsof-bin/lsof');

interface FactSocket { proto: string; local: [string, number]; remote: [string, number] | null; state: string | null }
interface FactProcess { pid: number; command: string; uid: number; sockets: FactSocket[] }
const facts = JSON.parse(fs.readFileSync('fixtures/lsof/sockets.facts.json', 'utf8')) as { command: string[]; processes: FactProcess[] };
const [server, client] = facts.processes;

const dir = tmpDir('oa-lsof-unit-');
const log = path.join(dir, 'runs.log');
const saved = { ...process.env };
afterAll(() => {
  for (const k of ['FAKE_LSOF_LOG', 'FAKE_LSOF_FILE', 'FAKE_LSOF_SLEEP']) if (saved[k] === undefined) delete process.env[k];
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fs.rmSync(log, { force: true });
  Object.assign(process.env, { FAKE_LSOF_LOG: log, FAKE_LSOF_FILE: FIXTURE });
  delete process.env.FAKE_LSOF_SLEEP;
});

/** How Node names an address vs how lsof does: a wildcard is `*`, an IPv4-mapped address its IPv4 form. */
function asLsof(address: string): string {
  if (address === '::' || address === '0.0.0.0') return '*';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function flowOf(proto: 'TCP' | 'UDP', from: [string, number], to: [string, number]): Flow {
  return makeFlow({
    proto: proto === 'TCP' ? 6 : 17, ipVersion: from[0].includes(':') ? 6 : 4,
    initiatorAddr: parseAddr(from[0])!, initiatorPort: from[1], responderAddr: parseAddr(to[0])!, responderPort: to[1], closed: false,
  });
}

function runs(): string[] {
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
}

/** Attributes the flows and waits until every callback came or `ms` passed (a flow lsof cannot name calls none). */
async function attribute(att: Attributor, flows: Flow[], ms = 3000): Promise<Flow[]> {
  const resolved: Flow[] = [];
  for (const f of flows) att.attributeFlow(f, (flow) => resolved.push(flow));
  const end = Date.now() + ms;
  while (att.stats().pending > 0 || (att.stats().resolvedLater + att.stats().unattributed < flows.length && Date.now() < end)) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return resolved;
}

describe('lsof -F output of real sockets (fixtures/lsof)', () => {
  it('every socket Node opened, with its pid, command, user, protocol, both ends and TCP state; nothing else', () => {
    expect(facts.command.slice(1, -3)).toEqual(LSOF_ARGS); // recorded with the attributor's own arguments
    const parsed = parseLsofFields(fs.readFileSync(FIXTURE, 'utf8'));
    const row = (s: LsofSocket) => [s.pid, s.command, s.uid, s.protocol, s.local?.address, s.local?.port, s.remote?.address ?? null, s.remote?.port ?? null, s.state];
    const expected = facts.processes.flatMap((p) => p.sockets.map((s) => [
      p.pid, p.command, p.uid, s.proto, asLsof(s.local[0]), s.local[1], s.remote && asLsof(s.remote[0]), s.remote?.[1] ?? null, s.state ?? null,
    ]));
    expect(parsed.map(row).sort()).toEqual(expected.sort());
    expect(parsed).toHaveLength(12);
  });
});

describe('the lsof attributor over that output', () => {
  it('each connection both ways round (IPv4, IPv6, a dual-stack listener), UDP to a wildcard socket; unknown sockets unattributed and counted', async () => {
    const att = createLsofAttributor({ lsof: STAND_IN, why: 'not root: pktap unavailable' });
    const conns = client.sockets.filter((s) => s.proto === 'TCP');
    const forward = conns.map((s) => flowOf('TCP', s.local, s.remote!));
    const reversed = conns.map((s) => flowOf('TCP', s.remote!, s.local));
    const udp = client.sockets.find((s) => s.proto === 'UDP')!;
    const udpFlow = flowOf('UDP', udp.local, udp.remote!);
    const udp6Server = server.sockets.find((s) => s.proto === 'UDP' && s.local[0] === '::1')!;
    const goneClient = flowOf('UDP', ['::1', 9], udp6Server.local); // no socket of the sender any more
    const wildcardPort = server.sockets.find((s) => s.local[0] === '::' && s.state === 'LISTEN')!.local[1];
    const remote = flowOf('TCP', ['198.51.100.7', 40000], ['203.0.113.99', wildcardPort]); // not ours: the * listener must not claim it
    const icmp = makeFlow({ proto: 1, closed: false });
    await attribute(att, [...forward, ...reversed, udpFlow, goneClient, remote, icmp]);

    const named = (f: Flow) => [f.process && [f.process.pid, f.process.name], f.peerProcess && [f.peerProcess.pid, f.peerProcess.name]];
    const c = [client.pid, client.command];
    const s = [server.pid, server.command];
    expect(forward.map(named)).toEqual([[c, s], [c, s], [c, s]]);
    expect(reversed.map(named)).toEqual([[s, c], [s, c], [s, c]]);
    expect(named(udpFlow)).toEqual([c, s]);
    expect(named(goneClient)).toEqual([null, s]); // the initiator is local (::1) but its socket is gone
    expect(named(remote)).toEqual([null, null]);
    expect(att.processOf(forward[0])).toMatchObject({ pid: client.pid, comm: client.command, uid: client.uid, exe: null, source: 'lsof', startTime: 0 });
    expect(att.peerOf(forward[0])).toMatchObject({ pid: server.pid, comm: server.command, source: 'lsof' });
    expect([...att.processes()].map((p) => p.pid).sort()).toEqual([client.pid, server.pid].sort());
    expect(att.stats()).toMatchObject({ lookups: 10, resolvedLater: 7, unattributed: 3, rescans: 1, pending: 0 });
    expect(att.sessionRecord!()).toEqual({
      method: 'lsof', why_not: 'not root: pktap unavailable', lsof: { runs: 1, not_found: 2, not_looked_up: 1, unavailable: null },
    });
    expect(runs()).toHaveLength(1);
    expect(runs()[0].split(' ').slice(1)).toEqual(LSOF_ARGS);
    att.close();
  });

  it('a burst of 200 new flows is one run; flows that come while it runs wait for one more, at least the interval after it began', async () => {
    process.env.FAKE_LSOF_SLEEP = '0.2';
    const att = createLsofAttributor({ lsof: STAND_IN, intervalMs: 1000 });
    const conn = client.sockets[0];
    const burst = Array.from({ length: 200 }, () => flowOf('TCP', conn.local, conn.remote!));
    const first = attribute(att, burst);
    await new Promise((r) => setTimeout(r, 50)); // the first run is going (it takes 200 ms)
    const later = Array.from({ length: 100 }, () => flowOf('TCP', conn.local, conn.remote!));
    await Promise.all([first, attribute(att, later)]);
    const times = runs().map((l) => Number(l.split(' ')[0]));
    expect(times).toHaveLength(2);
    // 1000 ms apart as the attributor starts them; the stand-in stamps its own start, so allow its start-up skew.
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(800);
    expect([...burst, ...later].every((f) => f.process?.pid === client.pid)).toBe(true);
    att.close();
  });

  it('lsof missing: one warning, every flow unattributed and never looked up, no further run tried', async () => {
    const warnings: string[] = [];
    const att = createLsofAttributor({ lsof: path.join(dir, 'no-such-lsof'), onWarning: (w) => warnings.push(w) });
    const conn = client.sockets[0];
    await attribute(att, [flowOf('TCP', conn.local, conn.remote!), flowOf('TCP', conn.remote!, conn.local)]);
    const more = flowOf('TCP', conn.local, conn.remote!);
    att.attributeFlow(more);
    expect(att.stats().pending).toBe(0);
    expect(warnings).toEqual([`lsof not found on PATH (macOS has it at /usr/sbin/lsof): flows stay unattributed (the session records it)`]);
    expect(att.sessionRecord!().lsof).toEqual({ runs: 1, not_found: 0, not_looked_up: 3, unavailable: 'lsof not found on PATH (macOS has it at /usr/sbin/lsof)' });
    expect(more.process).toBeNull();
    att.close();
  });

  it('a run that outlasts its timeout is killed: its flows unattributed, one warning', async () => {
    process.env.FAKE_LSOF_SLEEP = '2';
    const warnings: string[] = [];
    const att = createLsofAttributor({ lsof: STAND_IN, timeoutMs: 200, onWarning: (w) => warnings.push(w) });
    const conn = client.sockets[0];
    const flows = [flowOf('TCP', conn.local, conn.remote!), flowOf('TCP', conn.remote!, conn.local)];
    await attribute(att, flows);
    expect(flows.map((f) => f.process)).toEqual([null, null]);
    expect(warnings).toEqual(['an lsof run did not finish in time and was stopped: 2 flows stay unattributed']);
    expect(att.sessionRecord!().lsof).toMatchObject({ runs: 1, not_looked_up: 2, unavailable: null });
    att.close();
  });

  it('the queue is bounded: flows past maxPending are counted unattributed at once', async () => {
    const att = createLsofAttributor({ lsof: STAND_IN, maxPending: 5 });
    const conn = client.sockets[0];
    const flows = Array.from({ length: 8 }, () => flowOf('TCP', conn.local, conn.remote!));
    await attribute(att, flows);
    expect(flows.filter((f) => f.process !== null)).toHaveLength(5);
    expect(att.sessionRecord!().lsof).toMatchObject({ not_looked_up: 3 });
    att.close();
  });

  it('a stop before the run: the flows still waiting are counted unattributed, not left out', () => {
    const att = createLsofAttributor({ lsof: STAND_IN, intervalMs: 1000 });
    const conn = client.sockets[0];
    for (let i = 0; i < 4; i++) att.attributeFlow(flowOf('TCP', conn.local, conn.remote!));
    expect(att.stats().unattributed).toBe(0);
    att.close();
    expect(att.stats()).toMatchObject({ unattributed: 4, pending: 0 });
    expect(att.sessionRecord!().lsof).toMatchObject({ not_looked_up: 4 });
  });
});

describe('macOS chooses pktap or cap + lsof (platform and host injected)', () => {
  it('pktap needs root and a tcpdump on PATH; without either, cap with lsof lookups and the reason', () => {
    const host = (root: boolean, tcpdump: boolean) => () => ({ root, tcpdump });
    expect(chooseCapture('darwin', host(true, true))).toEqual({ method: 'pktap', fallback: null });
    const notRoot = chooseCapture('darwin', host(false, true));
    expect(notRoot).toEqual({ method: 'cap', fallback: 'not root: pktap unavailable' });
    expect(chooseCapture('darwin', host(true, false))).toEqual({ method: 'cap', fallback: 'tcpdump not found on PATH (macOS has it at /usr/sbin/tcpdump): pktap unavailable' });
    expect(chooseCapture('linux', host(false, false))).toEqual({ method: 'cap', fallback: null });
    expect(attributionMethod('darwin', notRoot)).toBe('lsof');
    expect(attributionMethod('darwin', { method: 'pktap', fallback: null })).toBe('pktap');
    expect(attributionMethod('linux', notRoot)).toBe('procfs');
    expect(lsofFallbackWarning(notRoot, false)).toBe(
      "not root: pktap unavailable, attributing by lsof lookups (lower confidence: connections that close before a lookup are missed; other users' processes are not visible without root)");
  });
});
