import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';

const root = join(import.meta.dirname, '..', '..');

interface DemoFlow { activity: string; hostname: string | null; hostname_source: string | null; connect_host: string | null; process: { name: string } | null; ollama: boolean }

describe('demo', () => {
  // What the bundled capture holds is known from how fixtures/make/pull.sh made it (fixtures/README.md).
  it('finds the pull the capture was made of: API call, DNS, registry, CDN, proxy, runner', async () => {
    const r = await runCli('demo', '--json');
    expect(r.code).toBe(0);
    const { summary, flows } = JSON.parse(r.stdout) as { summary: { flows: number; ollama_flows: number }; flows: DemoFlow[] };
    expect(flows.length).toBe(summary.flows);
    const activities = new Set(flows.map((f) => f.activity));
    for (const a of ['api:/api/pull', 'api:/api/tags', 'api:/api/generate', 'dns', 'registry', 'blob-download', 'ollama-com', 'runner']) {
      expect(activities.has(a)).toBe(true);
    }
    const cdn = flows.find((f) => f.activity === 'blob-download')!;
    expect(cdn.hostname).toBe('dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com');
    expect(cdn.hostname_source).toBe('sni');
    expect(cdn.process?.name).toBe('ollama');
    expect(flows.some((f) => f.connect_host === 'registry.ollama.ai' && f.activity === 'registry')).toBe(true);
    // example.org traffic is someone else's.
    const example = flows.filter((f) => f.hostname === 'example.org');
    expect(example.length).toBeGreaterThan(0);
    expect(example.every((f) => !f.ollama)).toBe(true);
  });

  // The scenario (fixtures/README.md): ollama pulls from the registry and its CDN after DNS lookups,
  // calls ollama.com at start, and every API client is curl on 127.0.0.1.
  it('shows the claims verdicts the scenario implies', async () => {
    const r = await runCli('demo', '--json');
    const { claims, report } = JSON.parse(r.stdout) as { claims: { id: string; verdict: string; reason: string }[]; report: string | null };
    const verdict = (id: string) => claims.find((c) => c.id === id)?.verdict;
    expect(verdict('airgap-no-ollama-destination')).toBe('violated');
    expect(verdict('airgap-no-ollama-dns')).toBe('violated');
    expect(verdict('server-offline-unless-pull-push')).toBe('violated'); // the ollama.com call at start
    expect(verdict('api-loopback-only')).toBe('holds');
    expect(report).toBeNull();
    const text = await runCli('demo');
    expect(text.stdout).toMatch(/Claims about what Ollama sends, judged on this capture \(\d+\):/);
    expect(text.stdout).toMatch(/VIOLATED\s+airgap-no-ollama-destination/);
    expect(text.stdout).toMatch(/HOLDS\s+api-loopback-only/);
    expect(text.stdout).toContain('`ollama-audit demo --report DIR`');
  });

  it('--report DIR writes the report folder; manifest digests match sha256sum', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'oacl-demo-')), 'report');
    const r = await runCli('demo', '--report', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Report written to ${dir}`);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['evidence.pcapng', 'manifest.json', 'report.html', 'report.json', 'report.md']);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: { name: string; sha256: string }[] };
    for (const f of manifest.files) {
      const sum = spawnSync('sha256sum', [join(dir, f.name)], { encoding: 'utf8' }).stdout.split(' ')[0];
      expect(f.sha256, f.name).toBe(sum);
    }
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { claims: { id: string; verdict: string }[] | null };
    expect(json.claims?.find((c) => c.id === 'airgap-no-ollama-destination')?.verdict).toBe('violated');
  });

  // Root drops to uid 65534 to prove the demo needs no privileges.
  itNeeding(['root', 'setpriv', 'dist'], 'runs as an unprivileged user from the built CLI', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/nonexistent', process.execPath, join(root, 'bin', 'ollama-audit.js'), 'demo'], { encoding: 'utf8', cwd: '/' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('registry.ollama.ai (sni)');
    expect(r.stdout).toMatch(/Flows that involve Ollama \(\d+ of \d+\)/);
  });
});

describe('output into a pipe that closes early (`ollama-audit demo | head -n 1`)', () => {
  it('stops writing quietly: no stack trace, the command still ends normally', () => {
    const r = spawnSync('sh', ['-c', `node "${join(root, 'bin', 'ollama-audit.js')}" demo | head -n 1`], { encoding: 'utf8' });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|internal error|at .*\.js:\d+/);
  });
});
