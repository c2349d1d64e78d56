/**
 * Writes a report folder: report.md, report.html, report.json, evidence.pcapng (when findings
 * have packets) and manifest.json with the SHA-256 of each. The folder is created 0700 and every
 * file 0600: the report names hosts, processes and times of this machine.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Db } from '../store/open-db.js';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
import { writeEvidenceFile } from './evidence-file.js';
import { gatherReport, streamedRows } from './gather.js';
import { buildManifest, evidenceForManifest, sha256File, type Manifest } from './manifest.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { ReportClaim, ReportCoverage, ReportData, ReportExposure, ReportFlow, ReportHttp } from './report-types.js';
import { jsonArrayPieces } from '../text/json-stream.js';
import { createExclusive, makeStagingDir, removeIfPresent, removeStagingDir, safeOutputDir, writeNewFile } from '../store/safe-files.js';

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

/**
 * Writes the whole report into a private staging folder beside `outDir` and moves it into place
 * only once every file is written: a report completes or leaves nothing (a full disk or a
 * failure midway removes the staging folder and leaves an earlier report as it was).
 */
export function writeReport(db: Db, outDir: string, input: WriteReportInput): WriteReportResult {
  const dir = resolve(outDir);
  const exists = fs.existsSync(dir);
  if (exists) safeOutputDir(dir);
  const staging = makeStagingDir(dir);
  try {
    const { names, manifest } = writeFiles(db, staging, input);
    const files = [...names, 'manifest.json'];
    moveIntoPlace(staging, dir, exists, files);
    return { files: files.map((n) => join(dir, n)), manifest };
  } catch (err) {
    removeStagingDir(staging);
    throw err;
  }
}

function writeFiles(db: Db, dir: string, input: WriteReportInput): { names: string[]; manifest: Manifest } {
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
  writeReportJson(join(dir, 'report.json'), data, streamedRows(db, g));
  if (evidence.file !== null) names.push(evidence.file);
  const manifest = buildManifest(dir, names, {
    tool, host, generated_at: data.generated_at, time_range: data.time_range, sessions: data.sessions.map((s) => s.id),
    coverage: data.coverage, claims_evaluated: data.claims !== null, evidence: evidenceForManifest(evidence),
  });
  writePrivate(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { names, manifest };
}

/**
 * A new folder: the staging folder is renamed to it. An existing one (safe-files rules) loses a
 * previous report's files, then gets the new ones by rename, manifest.json last; other files in
 * it stay.
 */
function moveIntoPlace(staging: string, dir: string, exists: boolean, files: readonly string[]): void {
  if (!exists) {
    fs.renameSync(staging, dir);
    return;
  }
  for (const name of [...REPORT_FILES, 'evidence.pcapng.partial']) removeIfPresent(join(dir, name));
  for (const name of files) fs.renameSync(join(staging, name), join(dir, name));
  removeStagingDir(staging);
}


/** report.json as JSON.stringify(data, null, 2) would write it, with every flow and HTTP request read one at a time. */
function writeReportJson(path: string, data: ReportData, rows: { flows: Iterable<ReportFlow>; http: Iterable<ReportHttp> }): void {
  // Marks where the big arrays go; random, so no captured text can be taken for one.
  const mark = `streamed-${randomBytes(16).toString('hex')}`;
  const [head, middle, tail] = JSON.stringify({ ...data, flows: mark, http: mark }, null, 2).split(`"${mark}"`);
  const fd = createExclusive(path, 0o600);
  try {
    const out = new SyncChunks(fd);
    out.write(head);
    for (const piece of jsonArrayPieces(rows.flows, '  ')) out.write(piece);
    out.write(middle);
    for (const piece of jsonArrayPieces(rows.http, '  ')) out.write(piece);
    out.write(`${tail}\n`);
    out.flush();
  } finally {
    fs.closeSync(fd);
  }
}

/** Pieces of text written to a file in chunks of about 64 KiB. */
class SyncChunks {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly fd: number) {}
  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 64 * 1024) this.flush();
  }
  flush(): void {
    fs.writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

function writePrivate(path: string, text: string): void {
  writeNewFile(path, text, 0o600);
}
