// Big-store readers (issue #9 item 5): builds a 1,000,000-flow store in seconds (the real API flow
// of fixtures/api-keepalive.pcap imported, then copied by SQL: bench/clone-flows.mjs), then times
// `flows --json > /dev/null`, `flows > /dev/null`, `report --out DIR`, `claims --json`, `verify --db`
// and `exposure --json`, each once, with peak RSS from /usr/bin/time -f %M. Run after `npm run build`:
//   node bench/big-store.mjs [flows] [--before DIR]
// --before DIR: also run each command with the CLI of another built checkout (e.g. main's, made with
// `git worktree add DIR main` and `npx tsc -p tsconfig.build.json` there), on the same store, in the
// same run: the "before" rows of bench/RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cloneFlows } from './clone-flows.mjs';

const ROOT = join(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { before: { type: 'string' } } });
const COPIES = Number(positionals[0] ?? 1_000_000) - 1;
const clis = [['this tree', join(ROOT, 'bin', 'ollama-audit.js')]];
if (values.before) clis.unshift(['before', join(values.before, 'bin', 'ollama-audit.js')]);
const dir = mkdtempSync(join(tmpdir(), 'oa-big-store-'));
try {
  const db = join(dir, 'big.db');
  execFileSync('node', [clis.at(-1)[1], 'import', join(ROOT, 'fixtures', 'api-keepalive.pcap'), '--db', db], { stdio: 'ignore' });
  let t0 = performance.now();
  const flows = cloneFlows(db, COPIES);
  console.log(`store: ${flows} flows, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const runs = [
    ['flows --json > /dev/null', ['flows', '--json', '--db', db]],
    ['flows > /dev/null', ['flows', '--db', db]],
    ['report --out DIR', ['report', '--db', db, '--out', join(dir, 'report')]],
    ['claims --json > /dev/null', ['claims', '--json', '--db', db]],
    ['verify --db > /dev/null', ['verify', '--db', db]],
    ['exposure --json > /dev/null', ['exposure', '--json', '--db', db]],
  ];
  console.log('| command | code | wall s | peak RSS MB | exit |\n|---|---|---|---|---|');
  for (const [name, args] of runs) {
    for (const [code, cli] of clis) {
      rmSync(join(dir, 'report'), { recursive: true, force: true });
      const timeFile = join(dir, 'time');
      t0 = performance.now();
      const r = spawnSync('/usr/bin/time', ['-o', timeFile, '-f', '%M', 'node', cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      // verify exits 2 with its reason on stderr here (no off-host interface, no processes): expected.
      if (r.status === null || r.status > 2 || /heap/i.test(r.stderr)) console.log(r.stderr.trim().split('\n').slice(0, 3).join('\n'));
      const wall = (performance.now() - t0) / 1000;
      const rssMb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) / 1024;
      console.log(`| \`ollama-audit ${name}\` | ${code} | ${wall.toFixed(1)} | ${rssMb.toFixed(0)} | ${r.status ?? r.signal} |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
