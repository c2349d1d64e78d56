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

/**
 * The fixtures where each packet is in the file once. The forwarding captures (forward-*) hold a
 * packet once per interface it crossed: tshark counts every copy, we count one, so they are
 * compared per interface in test/pipeline/forward-dedup.test.ts instead.
 */
export function singleCopyFixtures(): string[] {
  return fixtureFiles().filter((f) => !/\/forward-[^/]*$/.test(f));
}
