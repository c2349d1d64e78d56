// A forwarding host (a container behind a bridge, routed to an uplink) captured with `tcpdump -i any`
// holds every forwarded packet once per interface it crossed (fixtures/make/forward.sh). We count
// each packet once and keep the interfaces. Expected values: tshark per interface (sll.ifindex) and
// the scenario's own facts (curl's size_download, the ifindexes read from /sys), never our output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { describeNeeding } from '../helpers/needs.js';
import { tsharkFields } from '../helpers/tshark.js';
import { fixture } from '../differential/fixture-files.js';

const ROUTED = fixture('forward-any-sll2.pcap');
const NAT = fixture('forward-nat-sll2.pcap');
const SERVER = '203.0.113.20';
const CONTAINER = '192.0.2.2';
const HOST_UPLINK = '198.51.100.10';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'oafw-'));
  dirs.push(d);
  return d;
};
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** The `key=value` lines forward.sh wrote beside the capture. */
function facts(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`${file}.facts`, 'utf8').split('\n')) {
    const m = /^(\w+)=(\d+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** tshark's packets and IP bytes from `src` (one address) on one interface. */
function onInterface(file: string, ifindex: number, src: string): { packets: number; bytes: number } {
  const rows = tsharkFields(file, ['ip.len'], `sll.ifindex == ${ifindex} && ip.src == ${src} && tcp`);
  return { packets: rows.length, bytes: rows.reduce((n, r) => n + Number(r['ip.len'][0]), 0) };
}

interface FlowJson {
  initiator_addr: string; initiator_port: number; responder_addr: string; responder_port: number;
  packets_out: number; packets_in: number; bytes_out: number; bytes_in: number; http_path: string | null;
  interfaces: { index: number; name: string | null }[] | null;
}

async function importAndList(file: string): Promise<{ summary: { packets: number; skipped: Record<string, number> }; flows: FlowJson[] }> {
  const db = join(tmp(), 'a.db');
  const imp = await runCli('import', file, '--db', db, '--json');
  expect(imp.stderr).toBe('');
  expect(imp.code).toBe(0);
  const flows = await runCli('flows', '--db', db, '--json');
  expect(flows.code).toBe(0);
  return { summary: JSON.parse(imp.stdout)[0], flows: JSON.parse(flows.stdout) };
}

describeNeeding(['tshark'], 'a forwarding host captured on any: each packet counted once', () => {
  it('routed (no NAT): one flow with the bytes of one interface, the download counted once, all three interfaces listed', async () => {
    const f = facts(ROUTED);
    const { summary, flows } = await importAndList(ROUTED);
    const total = tsharkFields(ROUTED, ['frame.number']).length;
    const perIface = [f.ifindex_hc, f.ifindex_br, f.ifindex_hu].map((i) => tsharkFields(ROUTED, ['frame.number'], `sll.ifindex == ${i}`).length);
    // Every packet of the capture crossed all three interfaces (the filter kept only the download).
    expect(perIface[0] * 3).toBe(total);
    expect(perIface).toEqual([perIface[0], perIface[0], perIface[0]]);
    expect(summary.packets).toBe(total);
    expect(summary.skipped).toEqual({ 'duplicate-other-interface': total - perIface[0] });

    expect(flows).toHaveLength(1);
    const d = flows[0];
    expect(d).toMatchObject({ initiator_addr: CONTAINER, initiator_port: f.local_port, responder_addr: SERVER, responder_port: 80 });
    // The bridge port, the bridge and the uplink count the same: any one of them is the truth.
    for (const i of [f.ifindex_hc, f.ifindex_br, f.ifindex_hu]) {
      expect({ packets: d.packets_in, bytes: d.bytes_in }).toEqual(onInterface(ROUTED, i, SERVER));
      expect({ packets: d.packets_out, bytes: d.bytes_out }).toEqual(onInterface(ROUTED, i, CONTAINER));
    }
    // The 300 KB blob (curl's size_download) plus headers, not two or three times it.
    expect(f.size_download).toBe(f.blob_bytes);
    expect(d.bytes_in).toBeGreaterThan(f.size_download);
    expect(d.bytes_in).toBeLessThan(f.size_download * 1.1);
    // In order of first packet: the SYN on the bridge port, its copies on the bridge and the uplink.
    expect(d.interfaces).toEqual([
      { index: f.ifindex_hc, name: null }, { index: f.ifindex_br, name: null }, { index: f.ifindex_hu, name: null },
    ]);
  });

  it('NAT (MASQUERADE on the uplink): two flows, the private side and the public side, each counted once', async () => {
    const f = facts(NAT);
    const { summary, flows } = await importAndList(NAT);
    const total = tsharkFields(NAT, ['frame.number']).length;
    const uplink = tsharkFields(NAT, ['frame.number'], `sll.ifindex == ${f.ifindex_hu}`).length;
    const bridge = tsharkFields(NAT, ['frame.number'], `sll.ifindex == ${f.ifindex_br}`).length;
    // The rewritten copy on the uplink is a packet of its own; only the bridge's copies of the bridge port's are dropped.
    expect(summary.skipped).toEqual({ 'duplicate-other-interface': bridge });
    expect(total).toBe(uplink + 2 * bridge);

    const priv = flows.find((x) => x.initiator_addr === CONTAINER);
    const pub = flows.find((x) => x.initiator_addr === HOST_UPLINK);
    expect(flows).toHaveLength(2);
    expect(priv).toMatchObject({ initiator_port: f.local_port, responder_addr: SERVER, responder_port: 80 });
    expect(pub).toMatchObject({ responder_addr: SERVER, responder_port: 80 });
    expect({ packets: priv!.packets_in, bytes: priv!.bytes_in }).toEqual(onInterface(NAT, f.ifindex_hc, SERVER));
    expect({ packets: pub!.packets_in, bytes: pub!.bytes_in }).toEqual(onInterface(NAT, f.ifindex_hu, SERVER));
    expect({ packets: pub!.packets_out, bytes: pub!.bytes_out }).toEqual(onInterface(NAT, f.ifindex_hu, HOST_UPLINK));
    for (const x of [priv!, pub!]) expect(x.bytes_in).toBeLessThan(f.size_download * 1.1);
    expect(priv!.interfaces).toEqual([{ index: f.ifindex_hc, name: null }, { index: f.ifindex_br, name: null }]);
    expect(pub!.interfaces).toBeNull(); // one interface
  });

  it('copies read out of time order (one interface\'s packets before another\'s earlier ones, as two TPACKET_V3 rings hand blocks over): the interfaces are listed in the order the flow crossed them', async () => {
    const f = facts(ROUTED);
    const dir = tmp();
    const part = (ifindex: number) => {
      const out = join(dir, `if${ifindex}.pcap`);
      execFileSync('tshark', ['-n', '-r', ROUTED, '-Y', `sll.ifindex == ${ifindex}`, '-w', out, '-F', 'pcap'], { stdio: 'ignore' });
      return out;
    };
    const uplinkFirst = join(dir, 'uplink-first.pcap');
    // Concatenated, not merged by time: every uplink copy is read before the bridge port's earlier one.
    execFileSync('mergecap', ['-a', '-F', 'pcap', '-w', uplinkFirst, part(f.ifindex_hu), part(f.ifindex_hc)], { stdio: 'ignore' });
    const { summary, flows } = await importAndList(uplinkFirst);
    const perIface = tsharkFields(ROUTED, ['frame.number'], `sll.ifindex == ${f.ifindex_hc}`).length;
    // Nearly every copy is still recognised; not all: with 250 fingerprints remembered before their
    // copies come, two may share a slot of the direct-mapped table (why live capture reads several
    // interfaces in immediate mode: src/capture/live-capture.ts).
    expect(summary.skipped['duplicate-other-interface']).toBeGreaterThanOrEqual(perIface - 5);
    expect(flows).toHaveLength(1);
    // The SYN crossed the bridge port first (its copy there is stamped first), then the uplink.
    expect(flows[0].interfaces).toEqual([{ index: f.ifindex_hc, name: null }, { index: f.ifindex_hu, name: null }]);
  });

  it('a packet repeated on the same interface is a new packet: counted again (mergecap of a one-interface capture with itself)', async () => {
    const f = facts(ROUTED);
    const dir = tmp();
    const one = join(dir, 'bridge-port.pcap');
    const twice = join(dir, 'twice.pcap');
    execFileSync('tshark', ['-n', '-r', ROUTED, '-Y', `sll.ifindex == ${f.ifindex_hc}`, '-w', one, '-F', 'pcap'], { stdio: 'ignore' });
    execFileSync('mergecap', ['-F', 'pcap', '-w', twice, one, one], { stdio: 'ignore' });
    const { summary, flows } = await importAndList(twice);
    const base = onInterface(ROUTED, f.ifindex_hc, SERVER);
    expect(summary.skipped).toEqual({});
    expect(flows).toHaveLength(1);
    expect({ packets: flows[0].packets_in, bytes: flows[0].bytes_in }).toEqual({ packets: 2 * base.packets, bytes: 2 * base.bytes });
    expect(flows[0].interfaces).toBeNull();
  });

  it('loopback on any: each packet is captured once (libpcap drops lo\'s outgoing copy), nothing is taken for a copy', async () => {
    const file = fixture('pull-any-sll2.pcap');
    const { summary, flows } = await importAndList(file);
    expect(summary.skipped['duplicate-other-interface']).toBeUndefined();
    // tshark: every loopback TCP segment (ifindex 1) appears once.
    const lo = tsharkFields(file, ['ip.id', 'tcp.srcport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len', 'tcp.flags'], 'sll.ifindex == 1 && tcp');
    const keys = lo.map((r) => Object.values(r).map((v) => v.join(',')).join(' '));
    expect(lo.length).toBeGreaterThan(20);
    expect(new Set(keys).size).toBe(keys.length);
    const ours = flows.filter((x) => x.initiator_addr === '127.0.0.1').reduce((n, x) => n + x.packets_in + x.packets_out, 0);
    expect(ours).toBe(lo.length);
  });
});
