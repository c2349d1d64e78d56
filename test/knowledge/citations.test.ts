/**
 * The knowledge base cites docs/ollama-network.md, inside the repository: every citation
 * `docs/ollama-network.md#anchor` in src/, docs/ and README.md names a heading that exists there
 * (GitHub's anchor of it), and nothing cites a file outside the repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const DOC = join(REPO, 'docs', 'ollama-network.md');

function textFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? textFiles(p) : /\.(ts|js|md)$/.test(p) ? [p] : [];
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

const anchors = new Set([...readFileSync(DOC, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
const sources = [...textFiles(join(REPO, 'src')), ...textFiles(join(REPO, 'docs')), join(REPO, 'README.md')];

describe('citations of docs/ollama-network.md', () => {
  it('every cited section exists in the document', () => {
    const cited: { file: string; anchor: string }[] = [];
    for (const file of sources) {
      for (const m of readFileSync(file, 'utf8').matchAll(/ollama-network\.md#([a-z0-9_-]+)/g)) cited.push({ file: relative(REPO, file), anchor: m[1] });
    }
    // destinations, processes, API endpoints, claims (2), Host check and OLLAMA_HOST (listening)
    expect(cited.length).toBeGreaterThanOrEqual(7);
    expect(cited.filter((c) => !anchors.has(c.anchor))).toEqual([]);
  });

  it('nothing cites the notes outside the repository they were copied from', () => {
    const outside = sources.filter((f) => f !== DOC && /\.\.\/shared\/|OLLAMA-NETWORK\.md/.test(readFileSync(f, 'utf8')));
    expect(outside.map((f) => relative(REPO, f))).toEqual([]);
  });

  it('says where the document came from and when', () => {
    expect(readFileSync(DOC, 'utf8').split('\n')[0]).toMatch(/Provenance: .*OLLAMA-NETWORK\.md.*2026-11-30/);
  });
});
