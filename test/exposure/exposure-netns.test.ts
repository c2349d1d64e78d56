/**
 * Issue test (4): the API bound to every interface in a namespace of its own, a client in a
 * second namespace over a veth pair. The audit must judge the listener `all-interfaces`, read
 * OLLAMA_HOST/OLLAMA_ORIGINS from its environment, flag `no-auth-on-network`, and (from a
 * tcpdump capture of the veth imported into a fresh store) count the client as private.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile } from '../../src/commands/import-file.js';
import { auditExposure, type ExposureReport } from '../../src/exposure/audit.js';
import { runExposure } from '../../src/commands/exposure-command.js';
import { openDb } from '../../src/store/open-db.js';
import { describeNeeding } from '../helpers/needs.js';
import { waitForClosed } from '../helpers/await-capture.js';
import { curl, ip, startFakeOllama, startTcpdump, stop, stopAll } from './live-helpers.js';

const ID = process.pid % 100000;
const NS_A = `oaex-a${ID}`;
const NS_B = `oaex-b${ID}`;
const VA = `oaex-va${ID}`;
const VB = `oaex-vb${ID}`;
const SERVER = '10.213.5.1';
const CLIENT = '10.213.5.2';
const PORT = 11500;
const ORIGINS = 'http://app.example.test,https://ui.example.test';

describeNeeding(['root', 'ip', 'tcpdump', 'curl'], 'exposure: API on every interface, client from another namespace', () => {
  let dir: string;
  let pid: number;
  let report: ExposureReport;
  let dbPath: string;
  const statuses: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaex-ns-'));
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
    ip('link', 'add', VA, 'type', 'veth', 'peer', 'name', VB);
    ip('link', 'set', VA, 'netns', NS_A);
    ip('link', 'set', VB, 'netns', NS_B);
    ip('-n', NS_A, 'addr', 'add', `${SERVER}/24`, 'dev', VA);
    ip('-n', NS_B, 'addr', 'add', `${CLIENT}/24`, 'dev', VB);
    for (const [ns, dev] of [[NS_A, VA], [NS_B, VB]]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    pid = (await startFakeOllama(dir, NS_A, '0.0.0.0', PORT, { OLLAMA_HOST: `0.0.0.0:${PORT}`, OLLAMA_ORIGINS: ORIGINS })).pid;
    const file = join(dir, 'veth.pcap');
    const dump = await startTcpdump(NS_A, VA, file);
    statuses.push(curl(NS_B, `http://${SERVER}:${PORT}/api/tags`));
    statuses.push(curl(NS_B, `http://${SERVER}:${PORT}/`));
    statuses.push(curl(NS_B, `http://${SERVER}:${PORT}/api/tags`, 'ollama.example.com'));
    await waitForClosed(file, statuses.length);
    await stop(dump, 'SIGINT');
    dbPath = join(dir, 'audit.db');
    openDb(dbPath).close(); // importFile wants a migrated store
    await importFile(dbPath, file);
    const db = openDb(dbPath, { readonly: true });
    try {
      report = auditExposure(db, { live: true });
    } finally {
      db.close();
    }
  });
  afterAll(async () => {
    await stopAll();
    for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the fake API answered (a non-loopback listener has no Host check)', () => {
    expect(statuses).toEqual([200, 200, 200]);
  });

  it('judges the listener all-interfaces, in its own namespace, on the API port', () => {
    const mine = report.listeners.filter((l) => l.pid === pid);
    expect(mine).toEqual([expect.objectContaining({ address: '0.0.0.0', port: PORT, scope: 'all-interfaces', api: true, host_netns: false, comm: 'ollama' })]);
    expect(report.api_ports).toContain(PORT);
  });

  it('reads OLLAMA_HOST and OLLAMA_ORIGINS from /proc/<pid>/environ', () => {
    const p = report.processes.find((x) => x.pid === pid)!;
    expect(p.role).toBe('server');
    expect(p.env).toEqual({ readable: true, unreadable_reason: null, ollama_host: `0.0.0.0:${PORT}`, ollama_origins: ORIGINS });
    expect(p.ollama_host).toMatchObject({ host: '0.0.0.0', port: PORT, scope: 'all-interfaces' });
  });

  it('flags no-auth-on-network for it', () => {
    const f = report.findings.find((x) => x.code === 'no-auth-on-network' && x.message.includes(`pid ${pid}`));
    expect(f).toMatchObject({ severity: 'high' });
    expect(f!.message).toContain(`0.0.0.0:${PORT}`);
    expect(f!.message).toContain('no Host check and no authentication');
  });

  it('counts the client from the other namespace as private, from the capture', () => {
    expect(report.clients.map((g) => g.class)).toEqual(['private']);
    const g = report.clients[0];
    expect(g).toMatchObject({ flows: 3, clients: 1 });
    expect(g.addresses).toEqual([expect.objectContaining({ address: CLIENT, flows: 3 })]);
    expect(g.bytes_out).toBeGreaterThan(0);
    expect(g.bytes_in).toBeGreaterThan(0);
    expect(report.findings.some((x) => x.code === 'api-clients-private' && x.message.includes(CLIENT))).toBe(true);
  });

  it('sees no Host-check 403 and no proxy', () => {
    expect(report.host_trap).toEqual([]);
    // A proxy running elsewhere on this host may be named live; none relayed to this API.
    expect(report.proxies.filter((p) => p.detected_by.some((d) => d !== 'live-procfs'))).toEqual([]);
  });

  it('exposure --json prints the same report and exits 1 (a high finding); from the store alone still 1 (a private client is medium)', () => {
    let text = '';
    const out = { write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WritableStream;
    expect(runExposure({ db: dbPath, json: true }, out)).toBe(1);
    expect(runExposure({ db: dbPath, json: true, live: false, apiPort: [PORT] }, { write: () => true } as unknown as NodeJS.WritableStream)).toBe(1);
    const j = JSON.parse(text) as ExposureReport;
    expect(j.listeners.some((l) => l.pid === pid && l.scope === 'all-interfaces')).toBe(true);
    expect(j.clients[0].addresses[0].address).toBe(CLIENT);
    let human = '';
    runExposure({ db: dbPath }, { write: (s: string) => { human += s; return true; } } as unknown as NodeJS.WritableStream);
    expect(human).toContain(`0.0.0.0:${PORT}  all-interfaces  API  ollama pid ${pid}`);
  });
});
