/**
 * `daemon --metrics` scraped by a real Prometheus (Debian's package, started here with its own
 * config and data folder, scrape and rule interval 1 s, listening on loopback in the namespace),
 * while the fake `ollama` of the test internet (test/live/e2e/netns.ts, namespaces oasv-host and
 * oasv-inet) pulls a model from the fake registry and CDN. What the test reads back through
 * Prometheus' HTTP query API is checked against the scenario's own facts: the fake ollama's
 * socket log says it connected to the registry and the CDN, so the air-gap claims must read
 * violated; the flows it logged must be the Ollama flows counted per activity. A real scrape
 * passes `promtool check metrics`; docs/alerts.yml passes `promtool check rules`, is loaded into
 * this Prometheus, and its claim alert fires for the violated claim.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import {
  ADDR, INTERNET_NEEDS, REPO, buildInternet, inHost, pullViaApi, readSocketLog, sh, startDaemon, teardownInternet, type Internet, type Kid,
} from '../live/e2e/netns.js';

const PREFIX = 'oasv-';
const METRICS = '127.0.0.1:9464';
const PROMETHEUS = '127.0.0.1:9090';
const NEEDS = [...INTERNET_NEEDS, 'cap', 'dist', 'curl', 'prometheus', 'promtool'];
const ALERTS = join(REPO, 'docs/alerts.yml');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Vector { metric: Record<string, string>; value: [number, string] }

let dir: string;
let net: Internet;
let daemon: Kid;
let prometheus: Kid;

/** curl in the host namespace (the daemon and Prometheus listen on its loopback). */
function getInHost(url: string): string {
  return sh('ip', ['netns', 'exec', net.hostNs, 'curl', '-sS', '--fail', url]);
}

function query(promql: string): Vector[] {
  const body = JSON.parse(getInHost(`http://${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(promql)}`)) as { status: string; data: { result: Vector[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

async function eventually<T>(what: string, read: () => T, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = read();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}\ndaemon: ${daemon.stderr()}`);
    await sleep(500);
    v = read();
  }
  return v;
}

const claimValue = (id: string) => query(`ollama_audit_claim_violated{claim="${id}"}`).map((r) => Number(r.value[1]));

describeNeeding(NEEDS, 'daemon --metrics scraped by a real Prometheus during a pull', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), PREFIX));
    net = await buildInternet(dir, { prefix: PREFIX, blobBytes: 1024 * 1024, dnsDelayMs: 25 });
    daemon = await startDaemon(net, ['--db', join(dir, 'audit.db'), '--evidence', 'none', '--metrics', METRICS]);
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      `rule_files: [${JSON.stringify(ALERTS)}]`,
      'scrape_configs:', '  - job_name: ollama-audit', '    static_configs:', `      - targets: ["${METRICS}"]`, '',
    ].join('\n'));
    prometheus = inHost(net, 'prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=${PROMETHEUS}`, '--log.level=warn']);
    await eventually('Prometheus to scrape the daemon', () => {
      try { return query('up{job="ollama-audit"}'); } catch { return []; }
    }, (r) => r.length === 1 && r[0].value[1] === '1');
  }, 120_000);
  afterAll(() => {
    teardownInternet(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a scrape passes promtool check metrics, and docs/alerts.yml passes promtool check rules', () => {
    const text = getInHost(`http://${METRICS}/metrics`);
    expect(text).toMatch(/^ollama_audit_packets_total \d+$/m);
    const metrics = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(metrics.stdout + metrics.stderr).toBe('');
    expect(metrics.status).toBe(0);
    const rules = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: 8 rules found/);
  });

  it('the pull shows in Prometheus: air-gap claims violated, the Ollama flows counted per activity, the alert firing', async () => {
    // Before the pull nothing of Ollama's left the host: no air-gap claim reads violated.
    expect(claimValue('airgap-no-ollama-destination').filter((v) => v === 1)).toEqual([]);
    const pull = await pullViaApi(net, { model: 'tinyllama' });
    const done = await pull.done;
    expect(done.output).toMatch(/"status":"success"/);
    const connects = readSocketLog(net.ollamaLog).filter((e) => e.event === 'connect');
    const registry = connects.filter((e) => e.remoteAddress === ADDR.registry).length;
    const cdn = connects.filter((e) => e.remoteAddress === ADDR.cdn).length;
    expect(registry).toBeGreaterThan(0);
    expect(cdn).toBeGreaterThan(0);

    await eventually('the destination claim to read violated', () => claimValue('airgap-no-ollama-destination'), (v) => v.length === 1 && v[0] === 1);
    expect(claimValue('airgap-ollama-silent')).toEqual([1]);
    // The same claim is not also inconclusive.
    expect(query('ollama_audit_claim_inconclusive{claim="airgap-no-ollama-destination"}').map((r) => r.value[1])).toEqual(['0']);

    // Closed Ollama flows per activity, as Prometheus stored them, equal the connections the fake ollama logged.
    const ollamaFlows = (activity: string) => query(`ollama_audit_flows_total{activity="${activity}",ollama="true"}`).map((r) => Number(r.value[1]))[0] ?? 0;
    await eventually('the registry and CDN flows to be counted', () => [ollamaFlows('registry'), ollamaFlows('blob-download')], (v) => v[0] === registry && v[1] === cdn);

    const alerts = await eventually('the claim alert to fire', () => (JSON.parse(getInHost(`http://${PROMETHEUS}/api/v1/alerts`)) as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    }).data.alerts.filter((a) => a.labels.alertname === 'OllamaAuditClaimViolated' && a.state === 'firing').map((a) => a.labels.claim).sort(),
    (v) => v.includes('airgap-no-ollama-destination'));
    expect(alerts).toContain('airgap-ollama-silent');

    // Counters Prometheus read grew with the transfer: at least the blob's bytes were captured.
    expect(Number(query('ollama_audit_captured_bytes_total')[0].value[1])).toBeGreaterThan(1024 * 1024);
  });
});
