/**
 * The configuration snippets of docs/fleet.md are what users paste: the Prometheus one must load in
 * a real Prometheus's own checker (`promtool check config`, which also loads the rule file it names),
 * and the Filebeat one must at least be well-formed YAML with the keys the text relies on. (Vector's
 * TOML is not checked here: Vector is not packaged by Debian.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import { itNeeding } from '../helpers/needs.js';
import { SERVICE_USER } from '../../src/service/systemd-unit.js';

const REPO = join(import.meta.dirname, '../..');
const FLEET = readFileSync(join(REPO, 'docs/fleet.md'), 'utf8');

/** The fenced yaml blocks of the document, in order. */
function yamlBlocks(): string[] {
  return [...FLEET.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

itNeeding(['promtool'], 'the prometheus.yml snippet passes promtool check config with docs/alerts.yml as its rule file', () => {
  const config = yamlBlocks().find((b) => b.includes('scrape_configs:'));
  expect(config).toBeDefined();
  expect(config).toContain('/etc/prometheus/rules/ollama-audit.yml');
  const dir = mkdtempSync(join(tmpdir(), 'oa-fleet-'));
  try {
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, config!.replace('/etc/prometheus/rules/ollama-audit.yml', join(REPO, 'docs/alerts.yml')));
    const r = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: .*rules? found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('the filebeat.yml snippet is YAML that reads the events file as NDJSON and makes the document id from host and event id', () => {
  const beat = yamlBlocks().find((b) => b.includes('filebeat.inputs:'));
  expect(beat).toBeDefined();
  const doc = parse(beat!) as Record<string, unknown>;
  const input = (doc['filebeat.inputs'] as Record<string, unknown>[])[0];
  expect(input.type).toBe('filestream');
  expect(input.paths).toEqual(['/var/log/ollama-audit/events.ndjson']);
  const fingerprint = (input.processors as Record<string, { fields: string[]; target_field: string }>[]).find((p) => p.fingerprint)!.fingerprint;
  expect(fingerprint).toEqual({ fields: ['host.name', 'event.id'], target_field: '@metadata._id' });
  expect(FLEET).toContain('StandardOutput=append:/var/log/ollama-audit/events.ndjson');
});

it('the exporter unit runs as the daemon\'s user, whose 0700 state folder holds the store and the cursor', () => {
  const unit = /```ini\n([\s\S]*?)```/.exec(FLEET)?.[1] ?? '';
  expect(unit).toContain('--cursor /var/lib/ollama-audit/');
  expect(unit).toMatch(new RegExp(`^User=${SERVICE_USER}$`, 'm'));
  expect(unit).toMatch(new RegExp(`^Group=${SERVICE_USER}$`, 'm'));
});
