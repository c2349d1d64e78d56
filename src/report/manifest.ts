/**
 * manifest.json: what a report folder holds and how to check it was not altered: the SHA-256
 * of every other file (as `sha256sum` prints it), which tool made it, on which host, over which
 * time range, and what the capture could see.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { EvidenceSummary, ReportCoverage } from './report-types.js';

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: 'ollama-audit-manifest/1';
  tool: { name: string; version: string };
  host: string;
  generated_at: string;
  time_range: { start: string | null; end: string | null };
  sessions: number[];
  coverage: ReportCoverage | null;
  claims_evaluated: boolean;
  evidence: { file: string | null; packets: number; complete: boolean; warnings: string[] };
  files: ManifestFile[];
}

export type ManifestInput = Omit<Manifest, 'format' | 'files'>;

/** Hex SHA-256 of a file, read in chunks (an evidence file may be large). */
export function sha256File(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(path, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function buildManifest(dir: string, names: readonly string[], input: ManifestInput): Manifest {
  const files = names.map((name) => {
    const path = join(dir, name);
    return { name, bytes: fs.statSync(path).size, sha256: sha256File(path) };
  });
  return { format: 'ollama-audit-manifest/1', ...input, files };
}

export function evidenceForManifest(e: EvidenceSummary): Manifest['evidence'] {
  return { file: e.file, packets: e.packets, complete: e.complete, warnings: e.warnings };
}
