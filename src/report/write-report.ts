/**
 * Writes a report folder: report.md, report.html, report.json, evidence.pcapng (when findings
 * have packets) and manifest.json with the SHA-256 of each. The folder is created 0700 and every
 * file 0600: the report names hosts, processes and times of this machine.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Db } from '../store/open-db.js';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
import { writeEvidenceFile } from './evidence-file.js';
import { gatherReport } from './gather.js';
import { buildManifest, evidenceForManifest, sha256File, type Manifest } from './manifest.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { ReportClaim, ReportCoverage, ReportData, ReportExposure } from './report-types.js';
import { removeIfPresent, safeOutputDir, writeNewFile } from '../store/safe-files.js';

export const REPORT_FILES = ['report.md', 'report.html', 'report.json', 'evidence.pcapng', 'manifest.json'] as const;

export interface WriteReportInput {
  /** Session ids; all sessions when absent. */
  sessions?: number[];
  /** null: claims were not evaluated (the report says so). */
  claims: ReportClaim[] | null;
  coverage: ReportCoverage | null;
  /** The exposure audit's result, rendered as given. */
  exposure?: ReportExposure;
  /** Ports whose HTTP bodies never reach the evidence file; default [11434]. */
  apiPorts?: number[];
  /** Report time; default now. */
  generatedAt?: Date;
}

export interface WriteReportResult {
  /** Absolute paths of the files written, manifest.json last. */
  files: string[];
  manifest: Manifest;
}

const pkg = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };

export function writeReport(db: Db, outDir: string, input: WriteReportInput): WriteReportResult {
  const dir = resolve(outDir);
  prepareDir(dir);
  const apiPorts = input.apiPorts?.length ? input.apiPorts : [OLLAMA_API_PORT];
  const tool = { name: pkg.name, version: pkg.version };
  const host = hostname();
  const g = gatherReport(db, {
    sessions: input.sessions, claims: input.claims, coverage: input.coverage, exposure: input.exposure,
    tool, host, generatedAt: input.generatedAt ?? new Date(),
  });
  const evidence = writeEvidenceFile(db, join(dir, 'evidence.pcapng'), g.sessionRows, g.findings, apiPorts);
  const evidenceSha = evidence.file === null ? null : sha256File(join(dir, evidence.file));
  const data: ReportData = { ...g.data, evidence };
  const names = ['report.md', 'report.html', 'report.json'];
  writePrivate(join(dir, 'report.md'), renderMarkdown(data, evidenceSha));
  writePrivate(join(dir, 'report.html'), renderHtml(data, { evidenceSha256: evidenceSha }));
  writePrivate(join(dir, 'report.json'), `${JSON.stringify(data, null, 2)}\n`);
  if (evidence.file !== null) names.push(evidence.file);
  const manifest = buildManifest(dir, names, {
    tool, host, generated_at: data.generated_at, time_range: data.time_range, sessions: data.sessions.map((s) => s.id),
    coverage: data.coverage, claims_evaluated: data.claims !== null, evidence: evidenceForManifest(evidence),
  });
  writePrivate(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { files: [...names, 'manifest.json'].map((n) => join(dir, n)), manifest };
}

/**
 * A new folder is made 0700; an existing one must be safe to write (safe-files.ts) and loses a
 * previous report's files (and a partial evidence file), so none is left stale.
 */
function prepareDir(dir: string): void {
  safeOutputDir(dir);
  for (const name of [...REPORT_FILES, 'evidence.pcapng.partial']) removeIfPresent(join(dir, name));
}

function writePrivate(path: string, text: string): void {
  writeNewFile(path, text, 0o600);
}
