/**
 * Issue test (5): a real nginx in front of the fake API, both on loopback in a namespace of
 * their own (so the API can have its real port, 11434, and Ollama's default loopback bind,
 * which is where the Host check applies). One server block forwards `Host $host`, the other
 * `Host localhost:11434`; each case is captured on lo with tcpdump, imported into its own
 * store, and audited while nginx runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importFile } from '../../src/commands/import-file.js';
import { auditExposure, type ExposureReport } from '../../src/exposure/audit.js';
import { readListening } from '../../src/exposure/listeners.js';
import { openDb } from '../../src/store/open-db.js';
import { describeNeeding } from '../helpers/needs.js';
import { waitForClosed } from '../helpers/await-capture.js';
import { curl, ip, startChild, startFakeOllama, startTcpdump, stop, stopAll } from './live-helpers.js';

const NS = `oaex-n${process.pid % 100000}`;
const API_PORT = 11434;
const TRAP_PORT = 8080; // proxy_set_header Host $host
const FIXED_PORT = 8081; // proxy_set_header Host localhost:11434
const CLIENT_HOST = 'ollama.example.com';

function nginxConf(dir: string): string {
  const server = (port: number, host: string): string => `
    server {
      listen 127.0.0.1:${port};
      location / { proxy_pass http://127.0.0.1:${API_PORT}; proxy_set_header Host ${host}; }
    }`;
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${server(TRAP_PORT, '$host')}
  ${server(FIXED_PORT, `localhost:${API_PORT}`)}
}
`;
}

/** Capture on lo while curl asks through one nginx port, import into a fresh store, audit it. */
async function captureCase(dir: string, name: string, port: number): Promise<{ statuses: number[]; report: ExposureReport }> {
  const file = join(dir, `${name}.pcap`);
  const dump = await startTcpdump(NS, 'lo', file);
  const statuses = [
    curl(NS, `http://127.0.0.1:${port}/api/tags`, CLIENT_HOST),
    curl(NS, `http://127.0.0.1:${port}/api/version`, CLIENT_HOST),
  ];
  // Each request: curl to nginx and nginx to the API (nginx's upstream connections are not kept alive).
  await waitForClosed(file, 2 * statuses.length);
  await stop(dump, 'SIGINT');
  const dbPath = join(dir, `${name}.db`);
  openDb(dbPath).close();
  await importFile(dbPath, file);
  const db = openDb(dbPath, { readonly: true });
  try {
    return { statuses, report: auditExposure(db, { live: true }) };
  } finally {
    db.close();
  }
}

describeNeeding(['root', 'ip', 'tcpdump', 'curl', 'nginx'], 'exposure: nginx in front of the API and the Host-header trap', () => {
  let dir: string;
  let nginxPid: number;
  let apiPid: number;
  let trap: { statuses: number[]; report: ExposureReport };
  let fixed: { statuses: number[]; report: ExposureReport };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaex-nginx-'));
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    apiPid = (await startFakeOllama(dir, NS, '127.0.0.1', API_PORT)).pid;
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir));
    const nginx = startChild('ip', ['netns', 'exec', NS, 'nginx', '-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    nginxPid = nginx.pid!;
    await vi.waitFor(() => {
      const ports = readListening('/proc', nginxPid).map((e) => e.localPort);
      if (!ports.includes(TRAP_PORT) || !ports.includes(FIXED_PORT)) throw new Error('nginx not listening yet');
    }, { timeout: 10_000, interval: 50 });
    trap = await captureCase(dir, 'trap', TRAP_PORT);
    fixed = await captureCase(dir, 'fixed', FIXED_PORT);
  });
  afterAll(async () => {
    await stopAll(); // SIGTERM: the nginx master stops its workers before it exits
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('nginx forwarding Host $host gets 403 from the fake API; Host localhost:11434 gets through', () => {
    expect(trap.statuses).toEqual([403, 403]);
    expect(fixed.statuses).toEqual([200, 200]);
  });

  it('finds nginx in front of the API, and the client behind it', () => {
    for (const { report } of [trap, fixed]) {
      expect(report.proxies).toHaveLength(1);
      const p = report.proxies[0];
      expect(p).toMatchObject({ name: 'nginx', api_requests: 2 });
      expect(p.pids).toContain(nginxPid);
      expect(p.detected_by).toEqual(['live-procfs', 'request-relay']);
      expect(p.front).toEqual([`127.0.0.1:${report === trap.report ? TRAP_PORT : FIXED_PORT}`]);
      expect(p.clients).toEqual([expect.objectContaining({ class: 'loopback', flows: 2, clients: 1 })]);
      expect(p.clients[0].addresses[0].address).toBe('127.0.0.1');
    }
  });

  it('diagnoses the 403 as the Host check, with the proxy_set_header advice', () => {
    expect(trap.report.host_trap).toEqual([expect.objectContaining({
      via: `nginx on 127.0.0.1:${TRAP_PORT}`, host: CLIENT_HOST, requests: 2, clients: ['127.0.0.1'],
    })]);
    const f = trap.report.findings.filter((x) => x.code === 'host-check-403');
    expect(f).toHaveLength(1);
    expect(f[0].message).toContain(`requests through nginx on 127.0.0.1:${TRAP_PORT} with Host: ${CLIENT_HOST} got 403 from Ollama's host check`);
    expect(f[0].message).toContain('set `proxy_set_header Host localhost:11434` (nginx) or the equivalent');
  });

  it('reports no Host-check finding once the proxy sends Host localhost:11434', () => {
    expect(fixed.report.host_trap).toEqual([]);
    expect(fixed.report.findings.some((x) => x.code === 'host-check-403')).toBe(false);
  });

  it('the loopback API listener raises no no-auth finding', () => {
    const api = trap.report.listeners.filter((l) => l.pid === apiPid);
    expect(api).toEqual([expect.objectContaining({ address: '127.0.0.1', port: API_PORT, scope: 'loopback', api: true, host_netns: false })]);
    expect(trap.report.findings.some((x) => x.code === 'no-auth-on-network' && x.message.includes(`127.0.0.1:${API_PORT}`))).toBe(false);
  });
});
