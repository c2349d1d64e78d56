import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates `dir` and any missing parents with mode 0700 (captures, evidence and reports are private).
 * Each level is made by hand: Node's recursive mkdirSync spins forever where mkdir answers ENOENT
 * for a parent that exists (seen under /proc in a gVisor sandbox); here such an error is thrown.
 */
export function makePrivateDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d, { mode: 0o700 });
}
