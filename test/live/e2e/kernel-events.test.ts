/**
 * Issue #14's lab, end to end: in the host namespace a process named `ollama` makes 50 HTTP GETs
 * to example.org, each after its own getaddrinfo lookup; DNS answers after ~1 ms and the web
 * server at once, so each connection lives a few ms. The daemon captures it twice: with
 * `--attribution procfs` (measured: most of these are gone before /proc can be read) and with
 * `--attribution ebpf`, which must name the process of every one of them, its DNS lookups too.
 * The expected flows are the client's own log (its local ports), not the daemon's output.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../../helpers/needs.js';
import { runCli } from '../../helpers/run-cli.js';
import { ADDR, INTERNET_NEEDS, buildInternet, inHost, startDaemon, teardownInternet, type Internet } from './netns.js';

const PREFIX = 'oakev-';
const N = 50;
const CLIENTS = join(import.meta.dirname, 'host/clients.mjs');

interface JsonFlow {
  proto: string; initiator_port: number; responder_addr: string; responder_port: number; activity: string;
  process: { pid: number; name: string } | null;
}

interface ClientLine { pid: number; localPort?: number; ms?: number; done?: boolean }

interface Run { flows: JsonFlow[]; client: ClientLine[]; attribution: Record<string, unknown> | null; stderr: string }

describeNeeding([...INTERNET_NEEDS, 'cap', 'dist', 'bpftrace'], 'connections of a few ms, attributed from kernel socket events (root, bpftrace)', () => {
  let net: Internet;
  const dir = mkdtempSync(join(tmpdir(), 'oa-kev-e2e-'));

  beforeAll(async () => {
    net = await buildInternet(dir, { prefix: PREFIX, blobBytes: 1024, dnsDelayMs: 1, webDelayMs: 0 });
  }, 120_000);
  afterAll(() => {
    teardownInternet(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  async function capture(mode: 'procfs' | 'ebpf'): Promise<Run> {
    const db = join(dir, `${mode}.db`);
    const daemon = await startDaemon(net, ['--db', db, '--evidence', 'none', '--attribution', mode]);
    // Kernel events come up in the background; the session records when they are on.
    let attribution: Record<string, unknown> | null = null;
    for (let i = 0; i < 100 && (attribution === null || (mode === 'ebpf' && attribution.method !== 'kernel-events+procfs')); i++) {
      await new Promise((r) => setTimeout(r, 200));
      const s = await runCli('sessions', '--db', db, '--json');
      attribution = (JSON.parse(s.stdout) as { coverage: { attribution_sources: Record<string, unknown> | null } }[])[0]?.coverage.attribution_sources ?? null;
    }
    // The client is the fake ollama's binary (a copy of node named ollama): comm `ollama`.
    const client = inHost(net, net.ollamaExe, [CLIENTS, 'web', String(N)]);
    await client.exited;
    await new Promise((r) => setTimeout(r, 1500));
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    const flows = JSON.parse((await runCli('flows', '--db', db, '--json')).stdout) as JsonFlow[];
    const lines = client.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ClientLine);
    return { flows, client: lines, attribution, stderr: daemon.stderr() };
  }

  function count(run: Run) {
    const pid = run.client[0]!.pid;
    const conns = run.client.filter((l) => !l.done);
    const web = conns.map((l) => run.flows.find((f) => f.proto === 'tcp' && f.initiator_port === l.localPort && f.responder_addr === ADDR.web));
    const dns = run.flows.filter((f) => f.proto === 'udp' && f.responder_addr === ADDR.dns && f.responder_port === 53);
    return {
      conns: conns.length,
      medianMs: conns.map((l) => l.ms!).sort((a, b) => a - b)[conns.length >> 1] ?? NaN,
      webSeen: web.filter(Boolean).length,
      webAttributed: web.filter((f) => f?.process?.pid === pid && f.process.name === 'ollama').length,
      dnsSeen: dns.length,
      dnsAttributed: dns.filter((f) => f.process?.pid === pid && f.process.name === 'ollama').length,
    };
  }

  it(`names the process of ${N} connections of a few ms and of their DNS lookups`, async () => {
    const procfs = count(await capture('procfs'));
    const run = await capture('ebpf');
    const ebpf = count(run);
    console.log(`procfs: ${procfs.webAttributed}/${procfs.webSeen} web, ${procfs.dnsAttributed}/${procfs.dnsSeen} DNS (median connection ${procfs.medianMs.toFixed(1)} ms); `
      + `ebpf: ${ebpf.webAttributed}/${ebpf.webSeen} web, ${ebpf.dnsAttributed}/${ebpf.dnsSeen} DNS (median ${ebpf.medianMs.toFixed(1)} ms); sources ${JSON.stringify(run.attribution)}`);
    expect(run.attribution).toMatchObject({ method: 'kernel-events+procfs', mode: 'ebpf', why_not: null });
    expect(ebpf.conns).toBe(N);
    expect(ebpf.webSeen).toBe(N);
    expect(ebpf.webAttributed).toBe(N);
    // getaddrinfo asks for A and AAAA: at least one lookup per connection, each one ollama's.
    expect(ebpf.dnsSeen).toBeGreaterThanOrEqual(N);
    expect(ebpf.dnsAttributed).toBe(ebpf.dnsSeen);
    expect(run.stderr).not.toMatch(/procfs only/);
  }, 240_000);
});
