/** The committed capture fixtures (fixtures/*.pcap, *.pcapng and fixtures/demo/), as absolute paths. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

const isCapture = (name: string): boolean => name.endsWith('.pcap') || name.endsWith('.pcapng');

export function fixtureFiles(): string[] {
  const list = (dir: string): string[] =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter(isCapture).sort().map((f) => path.join(dir, f)) : [];
  return [...list(FIXTURES_DIR), ...list(path.join(FIXTURES_DIR, 'demo'))];
}

export const fixture = (name: string): string => path.join(FIXTURES_DIR, name);
