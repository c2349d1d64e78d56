// Big-store readers (issue #9 item 5): builds a 1,000,000-flow store in seconds (the real API flow
// of fixtures/api-keepalive.pcap imported, then copied by SQL: bench/clone-flows.mjs), then times
// `flows --json > /dev/null`, `flows > /dev/null` and `report --out DIR`, each once, with peak RSS
// from /usr/bin/time -f %M. Run after `npm run build`: node bench/big-store.mjs [flows]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneFlows } from './clone-flows.mjs';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'ollama-audit.js');
const COPIES = Number(process.argv[2] ?? 1_000_000) - 1;
const dir = mkdtempSync(join(tmpdir(), 'oa-big-store-'));
try {
  const db = join(dir, 'big.db');
  execFileSync('node', [CLI, 'import', join(ROOT, 'fixtures', 'api-keepalive.pcap'), '--db', db], { stdio: 'ignore' });
  let t0 = performance.now();
  const flows = cloneFlows(db, COPIES);
  console.log(`store: ${flows} flows, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const runs = [
    ['flows --json > /dev/null', ['flows', '--json', '--db', db]],
    ['flows > /dev/null', ['flows', '--db', db]],
    ['report --out DIR', ['report', '--db', db, '--out', join(dir, 'report')]],
  ];
  console.log('| command | wall s | peak RSS MB | exit |\n|---|---|---|---|');
  for (const [name, args] of runs) {
    const timeFile = join(dir, 'time');
    t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-o', timeFile, '-f', '%M', 'node', CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    const wall = (performance.now() - t0) / 1000;
    const rssMb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) / 1024;
    console.log(`| \`ollama-audit ${name}\` | ${wall.toFixed(1)} | ${rssMb.toFixed(0)} | ${r.status} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
