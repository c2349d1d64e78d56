import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
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

  // Root drops to uid 65534 to prove the demo needs no privileges.
  itNeeding(['root', 'setpriv', 'dist'], 'runs as an unprivileged user from the built CLI', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/nonexistent', process.execPath, join(root, 'bin', 'ollama-audit.js'), 'demo'], { encoding: 'utf8', cwd: '/' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('registry.ollama.ai (sni)');
    expect(r.stdout).toMatch(/Flows that involve Ollama \(\d+ of \d+\)/);
  });
});
