// The live daemon on a forwarding host: fixtures/make/forward.sh builds container / host / internet
// namespaces (prefix oafwt-, deleted by the script on exit, also on failure) and, through its hooks,
// starts two daemons in the host namespace around the download: one on `any` (libpcap's cooked v1
// headers: no interface index), one on the bridge port and the uplink by name. tcpdump -i any
// (SLL2) records the same download: tshark counts one interface of it, the expected bytes.
// Runs bin/ollama-audit.js, which loads dist/ (npx tsc -p tsconfig.build.json).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkFields } from '../helpers/tshark.js';

const REPO = resolve(import.meta.dirname, '../..');
const P = 'oafwt-';
const SERVER = '203.0.113.20';
const CONTAINER = '192.0.2.2';

const dir = mkdtempSync(join(tmpdir(), 'oafwt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hooks(): string {
  const bin = join(REPO, 'bin/ollama-audit.js');
  const file = join(dir, 'hooks.sh');
  writeFileSync(file, `
before_download() {
  ip netns exec $H ${process.execPath} ${bin} daemon -i any --db ${dir}/any.db --evidence none >${dir}/any.log 2>&1 &
  D1=$!
  ip netns exec $H ${process.execPath} ${bin} daemon -i ${P}hc -i ${P}hu --db ${dir}/two.db --evidence none >${dir}/two.log 2>&1 &
  D2=$!
  oafx_wait_for ${dir}/any.log 'capturing on'
  oafx_wait_for ${dir}/two.log 'capturing on'
}
after_download() {
  kill -INT $D1 $D2
  wait $D1 $D2 || true
}
`);
  return file;
}

function facts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(join(dir, 'live.pcap.facts'), 'utf8').split('\n')) {
    const m = /^(\w+)=(\d+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function session(db: string): { drops: number | null; skipped: string } {
  const h = new Database(join(dir, db), { readonly: true });
  try {
    return h.prepare('SELECT drops, skipped FROM sessions').get() as { drops: number | null; skipped: string };
  } finally {
    h.close();
  }
}

function onInterface(file: string, ifindex: number, src: string): { packets: number; bytes: number } {
  const rows = tsharkFields(file, ['ip.len'], `sll.ifindex == ${ifindex} && ip.src == ${src} && tcp`);
  return { packets: rows.length, bytes: rows.reduce((n, r) => n + Number(r['ip.len'][0]), 0) };
}

async function flowsOf(db: string): Promise<{ initiator_addr: string; initiator_port: number; packets_in: number; bytes_in: number; packets_out: number; bytes_out: number; interfaces: unknown }[]> {
  const r = await runCli('flows', '--db', db, '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describeNeeding(['root', 'cap', 'tcpdump', 'tshark', 'curl', 'ethtool'], 'live daemon on a forwarding host', () => {
  it('counts the forwarded download once on -i any, and lists both interfaces when they are named', async () => {
    execFileSync('bash', [join(REPO, 'fixtures/make/forward.sh')], {
      env: { ...process.env, OAFW_PREFIX: P, OAFX_FIXTURES: dir, OAFX_WORK: join(dir, 'work'), OUT: 'live.pcap', OAFW_HOOKS: hooks(),
        // At full speed the 300 KB arrive in ~15 ms, ~1000 packets with the copies, more than the
        // daemon's capture ring holds at once (it reports the drops): the server paces the download.
        OAFW_RATE: '500000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const f = facts();
    const pcap = join(dir, 'live.pcap');
    const down = onInterface(pcap, f.ifindex_hu, SERVER);
    const up = onInterface(pcap, f.ifindex_hu, CONTAINER);
    expect(f.size_download).toBe(f.blob_bytes);

    for (const db of ['any.db', 'two.db']) {
      // Exact counts need a capture that lost nothing (a starved daemon says so in its session).
      expect(session(db).drops, `${db}: kernel drops`).toBe(0);
      const flows = (await flowsOf(join(dir, db))).filter((x) => x.initiator_addr === CONTAINER && x.initiator_port === f.local_port);
      expect(flows, db).toHaveLength(1);
      expect(flows[0].bytes_in).toBeLessThan(f.size_download * 1.1);
      if (db === 'any.db') {
        expect({ packets: flows[0].packets_in, bytes: flows[0].bytes_in }, db).toEqual(down);
        expect({ packets: flows[0].packets_out, bytes: flows[0].bytes_out }, db).toEqual(up);
        continue;
      }
      // Two devices, two libpcap handles: a copy is now and then counted again (native-notes/dedup.md,
      // Limits). Never fewer than tshark's packets on one interface, and at most 1% more.
      for (const [mine, theirs] of [[flows[0].packets_in, down.packets], [flows[0].packets_out, up.packets]]) {
        expect(mine, db).toBeGreaterThanOrEqual(theirs);
        expect(mine, db).toBeLessThanOrEqual(theirs + Math.ceil(theirs / 100));
      }
    }
    const [anyFlow] = (await flowsOf(join(dir, 'any.db'))).filter((x) => x.initiator_addr === CONTAINER);
    const [twoFlow] = (await flowsOf(join(dir, 'two.db'))).filter((x) => x.initiator_addr === CONTAINER);
    // cap opens `any` with cooked v1 headers, which carry no interface index: the copies are
    // recognised, the interfaces cannot be told.
    expect(anyFlow.interfaces).toBeNull();
    expect(twoFlow.interfaces).toEqual([{ index: 0, name: `${P}hc` }, { index: 1, name: `${P}hu` }]);

    // The copies are counted in the session, where `import` and the claims read them.
    const skipped = (db: string) => JSON.parse(session(db).skipped) as Record<string, number>;
    // `any` sees each packet on the bridge port, the bridge and the uplink; the named pair on two of them.
    // At least every copy of the download (its own counts above are exact, against tshark). A few
    // more may come from other packets that cross the same interfaces (seen: 1 to 10 of them in a
    // run, not involving the server, so not in tcpdump's filtered file); they are not the flow's.
    const download = down.packets + up.packets;
    expect(skipped('any.db')['duplicate-other-interface']).toBeGreaterThanOrEqual(2 * download);
    // On the named pair, every copy of the download is either counted as a copy or, now and then,
    // counted again in the flow (the limit above, at most 1 %): never lost. (A full suite saw 427 of
    // 431 copies skipped, the other 4 in the flow's counts.)
    const countedAgain = twoFlow.packets_in - down.packets + twoFlow.packets_out - up.packets;
    expect(skipped('two.db')['duplicate-other-interface'] + countedAgain).toBeGreaterThanOrEqual(download);
  }, 120_000);
});
