import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';
import { itNeeding } from '../helpers/needs.js';
import { tsharkFields } from '../helpers/tshark.js';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { capinfosInterfaces, encapsulationWords } from '../helpers/capinfos.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oa-cli-'));
const FLOW_FIELDS = [
  'id', 'session_id', 'proto', 'initiator_addr', 'initiator_port', 'responder_addr', 'responder_port', 'initiator_by',
  'first_seen', 'last_seen', 'duration_s', 'packets_out', 'packets_in', 'bytes_out', 'bytes_in', 'missed_bytes', 'conn_state', 'history', 'hostname',
  'hostname_source', 'sni', 'alpn', 'http_method', 'http_path', 'http_host', 'http_status', 'connect_host',
  'connect_port', 'dns_name', 'models', 'models_unknown', 'activity', 'activity_reason', 'community_id', 'process', 'peer_process', 'effective_process', 'ollama', 'interfaces',
];

describe('import + flows', () => {
  itNeeding(['capinfos'], 'import names every interface and its link type in words, as capinfos does', async () => {
    const db = join(tmp(), 'a.db');
    const files = [fixture('demo/ollama-pull.pcapng'), fixture('pull-any-sll2.pcap'), fixture('pull-eth-nano.pcap')];
    const imp = await runCli('import', ...files, '--db', db);
    expect(imp.code).toBe(0);
    const lines = imp.stdout.split('\n').filter((l) => l.startsWith('  interfaces: ')).map((l) => l.slice('  interfaces: '.length));
    expect(lines).toHaveLength(files.length);
    files.forEach((file, n) => {
      const ours = lines[n].split('; ');
      const theirs = capinfosInterfaces(file);
      expect(ours).toHaveLength(theirs.length);
      theirs.forEach((i, k) => {
        // Names as the file gives them; a pcap has none, so the index stands in.
        expect(ours[k].startsWith(`${i.name ?? `#${k}`}: `), ours[k]).toBe(true);
        // Wireshark's words ("Linux cooked-mode capture v2") minus its filler are in ours ("Linux cooked v2 (SLL2)").
        for (const w of encapsulationWords(i.encapsulation)) {
          expect(ours[k].toLowerCase(), `${ours[k]} vs capinfos "${i.encapsulation}"`).toContain(w);
        }
      });
    });
    expect(imp.stdout).not.toMatch(/link type \d/);
  });

  it('imports a real capture and flows --json has the documented fields, agreeing with tshark', async () => {
    const db = join(tmp(), 'a.db');
    const imp = await runCli('import', fixture('pull-any-sll2.pcap'), '--db', db, '--json');
    expect(imp.code).toBe(0);
    expect(imp.stderr).toBe('');
    const [summary] = JSON.parse(imp.stdout);
    expect(Object.keys(summary).sort()).toEqual(['activities', 'expired_early', 'file', 'flows', 'format', 'interfaces', 'loss_estimate', 'named_flows', 'ollama_flows', 'packets', 'session_id', 'skipped', 'stopped_at', 'warnings'].sort());
    expect(summary.expired_early).toEqual({}); // a small capture: no flow closed before its time
    // tcpdump -i any writes Linux cooked v2 (LINKTYPE 276) and a classic pcap names no interface.
    expect(summary.interfaces).toEqual([{ index: 0, name: null, linktype: 276 }]);
    expect(summary.format).toBe('pcap');
    // tcpdump -i any saw both ends of every connection: nothing acknowledged went uncaptured.
    expect(summary.loss_estimate).toBe(0);

    const flows = await runCli('flows', '--db', db, '--json');
    expect(flows.code).toBe(0);
    const list = JSON.parse(flows.stdout);
    expect(list.length).toBe(summary.flows);
    for (const f of list) expect(Object.keys(f).sort()).toEqual([...FLOW_FIELDS].sort());
    for (const f of list) {
      expect(f.first_seen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(typeof f.ollama).toBe('boolean');
      expect(f.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    }
    const sumPackets = list.reduce((n: number, f: { packets_out: number; packets_in: number }) => n + f.packets_out + f.packets_in, 0);
    const skipped = Object.values(summary.skipped as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sumPackets + skipped).toBe(summary.packets);

    // The registry flow: named by SNI, classified, and its SNI is what tshark sees in that file.
    const registry = list.filter((f: { activity: string }) => f.activity === 'registry');
    expect(registry.length).toBeGreaterThan(0);
    expect(registry.every((f: { hostname: string }) => f.hostname === 'registry.ollama.ai')).toBe(true);

    const ollama = JSON.parse((await runCli('flows', '--db', db, '--json', '--ollama')).stdout);
    expect(ollama.length).toBe(summary.ollama_flows);
    expect(ollama.every((f: { ollama: boolean }) => f.ollama)).toBe(true);
    const api = JSON.parse((await runCli('flows', '--db', db, '--json', '--activity', 'api')).stdout);
    expect(api.map((f: { activity: string }) => f.activity).sort()).toEqual(['api:/api/generate', 'api:/api/pull', 'api:/api/tags']);
    const limited = JSON.parse((await runCli('flows', '--db', db, '--json', '--limit', '2')).stdout);
    expect(limited.length).toBe(2);

    const table = await runCli('flows', '--db', db, '--ollama');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+FIRST SEEN \(UTC\)\s+PROTO\s+INITIATOR\s+RESPONDER/);
    expect(table.stdout).toContain('registry.ollama.ai (sni)');
  });

  itNeeding(['tshark'], "ptcpdump comments: a loopback flow's process is the client that sent its first packets, peer_process the server that sent the replies (as tshark reads the comments)", async () => {
    const file = fixture('demo/ollama-pull.pcapng');
    const db = join(tmp(), 'c.db');
    expect((await runCli('import', file, '--db', db)).code).toBe(0);
    type P = { pid: number; name: string } | null;
    type F = { proto: string; initiator_addr: string; initiator_port: number; responder_addr: string; responder_port: number; process: P; peer_process: P };
    const list = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout) as F[];
    // The first comment each direction of each loopback TCP connection carries, keyed by source and destination port.
    const firstComment = new Map<string, number>();
    for (const r of tsharkFields(file, ['tcp.srcport', 'tcp.dstport', 'frame.comment'], 'ip.src == 127.0.0.1 && ip.dst == 127.0.0.1 && tcp && frame.comment')) {
      const key = `${r['tcp.srcport'][0]}>${r['tcp.dstport'][0]}`;
      if (!firstComment.has(key)) firstComment.set(key, Number(/^PID: (\d+)/.exec(r['frame.comment'][0])![1]));
    }
    const loopback = list.filter((f) => f.proto === 'tcp' && f.initiator_addr === '127.0.0.1' && f.responder_addr === '127.0.0.1');
    expect(loopback.length).toBeGreaterThanOrEqual(4); // three curl calls to the API, and ollama to its runner
    for (const f of loopback) {
      expect(f.process?.pid).toBe(firstComment.get(`${f.initiator_port}>${f.responder_port}`));
      expect(f.peer_process?.pid).toBe(firstComment.get(`${f.responder_port}>${f.initiator_port}`));
      expect(f.peer_process?.pid).not.toBe(f.process?.pid);
    }
    const api = loopback.filter((f) => f.responder_port === 11434);
    expect(api.map((f) => [f.process?.name, f.peer_process?.name])).toEqual(api.map(() => ['curl', 'ollama']));
    // Off this host's loopback only one end is ours: no peer.
    expect(list.filter((f) => f.responder_addr !== '127.0.0.1').every((f) => f.peer_process === null)).toBe(true);
  });

  it('a file that is not a capture: one line, exit 2, nothing stored, earlier imports intact', async () => {
    const dir = tmp();
    const db = join(dir, 'b.db');
    expect((await runCli('import', fixture('vlan-qinq.pcap'), '--db', db)).code).toBe(0);
    const junk = join(dir, 'notes.txt');
    writeFileSync(junk, 'these are not packets\n');
    const r = await runCli('import', junk, '--db', db);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ollama-audit: .*notes\.txt: .*not a (pcap|capture)/i);
    const raw = new Database(db, { readonly: true });
    expect(raw.prepare('SELECT count(*) n FROM sessions').get()).toEqual({ n: 1 });
    raw.close();
  });

  it('a store locked by another writer: one line, exit 2, earlier imports intact', async () => {
    const db = join(tmp(), 'locked.db');
    expect((await runCli('import', fixture('vlan-qinq.pcap'), '--db', db)).code).toBe(0);
    const other = new Database(db);
    other.exec('BEGIN IMMEDIATE');
    try {
      // The writer thread waits out SQLite's busy timeout (5 s) while the file is decoded, then gives up.
      const r = await runCli('import', fixture('pull-any-sll2.pcap'), '--db', db);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ollama-audit: database .*locked\.db is locked by another process/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const raw = new Database(db, { readonly: true });
    expect(raw.prepare('SELECT count(*) n FROM sessions').get()).toEqual({ n: 1 });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();
  }, 20_000);

  it('a truncated capture (tcpdump killed mid-write) imports what is readable and says where it stopped', async () => {
    const dir = tmp();
    const file = join(dir, 'cut.pcap');
    copyFileSync(fixture('pull-eth-nano.pcap'), file);
    const size = statSync(file).size;
    truncateSync(file, Math.floor(size * 0.6));
    const db = join(dir, 'c.db');
    const r = await runCli('import', file, '--db', db, '--json');
    expect(r.code).toBe(0);
    const [s] = JSON.parse(r.stdout);
    expect(s.stopped_at).toBeGreaterThan(0);
    expect(s.stopped_at).toBeLessThanOrEqual(Math.floor(size * 0.6));
    expect(r.stderr).toMatch(/truncated at byte \d+/);
  });

  itNeeding(['tshark'], 'a truncated capture: as many whole packets imported as tshark reads from the cut file', async () => {
    const dir = tmp();
    const file = join(dir, 'cut.pcap');
    copyFileSync(fixture('pull-eth-nano.pcap'), file);
    truncateSync(file, Math.floor(statSync(file).size * 0.6));
    const r = await runCli('import', file, '--db', join(dir, 'c.db'), '--json');
    expect(r.code).toBe(0);
    const [s] = JSON.parse(r.stdout);
    let n = 0;
    try {
      n = tsharkFields(file, ['frame.number']).length;
    } catch (e) {
      // tshark exits non-zero on a cut file but prints what it read.
      const out = String((e as { stdout?: string }).stdout ?? '');
      n = out.split('\n').filter(Boolean).length;
    }
    expect(n).toBeGreaterThan(0);
    expect(s.packets).toBe(n);
  });

  it('an unknown link type is counted per reason, not fatal', async () => {
    const dir = tmp();
    const file = join(dir, 'lt.pcap');
    const w = createPcapWriter(file, { linktype: 147 }); // LINKTYPE_USER0
    const data = Buffer.alloc(60, 1);
    w.writePacket(1_700_000_000_000_000, data, 0, 60, 60);
    w.writePacket(1_700_000_000_000_100, data, 0, 60, 60);
    w.close();
    const r = await runCli('import', file, '--db', join(dir, 'd.db'), '--json');
    expect(r.code).toBe(0);
    const [s] = JSON.parse(r.stdout);
    expect(s.packets).toBe(2);
    expect(s.flows).toBe(0);
    expect(s.skipped).toEqual({ 'unknown-linktype': 2 });
  });

  it('usage errors and store errors exit 2 with one line', async () => {
    expect((await runCli('flows', '--limit', 'many')).code).toBe(2);
    expect((await runCli('no-such-command')).code).toBe(2);
    const dir = tmp();
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, Buffer.alloc(4096, 0x41));
    const r = await runCli('import', fixture('vlan-qinq.pcap'), '--db', corrupt);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: database .*corrupt\.db is corrupt or not an ollama-audit database/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await runCli('flows', '--db', join(dir, 'none.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no database at .*none\.db: run `ollama-audit import FILE`/);
    // The corrupt file was not touched.
    expect(readFileSync(corrupt).equals(Buffer.alloc(4096, 0x41))).toBe(true);
  });
});

describe('folders the tool cannot create', () => {
  it('a report folder under /proc fails with one line instead of spinning (Node\'s recursive mkdir loops there)', async () => {
    const db = join(tmp(), 'r.db');
    expect((await runCli('import', fixture('vlan-qinq.pcap'), '--db', db)).code).toBe(0);
    const started = Date.now();
    const r = await runCli('report', '--db', db, '--out', '/proc/ollama-audit-nope/report');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ollama-audit: cannot write the report to \/proc\/ollama-audit-nope\/report \(E[A-Z]+\)/);
  });

  it('a folder given as --db is named as such', async () => {
    const r = await runCli('flows', '--db', tmp());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a folder, not a database/);
  });
});
