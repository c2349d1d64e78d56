/**
 * Run unprivileged (as nobody), /proc/<pid>/fd of other users' processes is unreadable. The
 * attributor must still find its own user's sockets, count the rest as unreadable/unowned, and
 * never throw. The code is bundled (esbuild, which vitest already brings) so a plain `node`
 * running as nobody can load it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { NODE } from './procfs-helpers.js';

const CHILD = `import { createProcfsAttributor } from './attributor.mjs';
import net from 'node:net';
const [rootListen, rootClient] = process.argv.slice(2).map(Number);
const lo = Buffer.from([127, 0, 0, 1]);
const s = net.createServer((c) => c.on('error', () => {}));
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1', () => {
    const a = createProcfsAttributor();
    const mine = a.lookup(6, lo, c.localPort, lo, s.address().port);
    const theirs = a.lookup(6, lo, rootClient, lo, rootListen);
    setTimeout(() => {
      console.log(JSON.stringify({ mine: mine && mine.pid, theirs: a.lookup(6, lo, rootClient, lo, rootListen), first: theirs, stats: a.stats() }));
      a.close(); process.exit(0);
    }, 50);
  });
});`;

describeNeeding(['root', 'setpriv'], 'unprivileged run (root drops to nobody)', () => {
  let dir: string;
  let server: Server;
  let client: Socket;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaat-unpriv-'));
    chmodSync(dir, 0o755);
    const esbuild = join(process.cwd(), 'node_modules', '.bin', 'esbuild');
    const b = spawnSync(esbuild, ['src/attribution/procfs-attributor.ts', '--bundle', '--platform=node', '--format=esm',
      `--outfile=${join(dir, 'attributor.mjs')}`, '--log-level=error'], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`esbuild: ${b.stderr}`);
    server = createServer((c) => c.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = await new Promise<Socket>((r) => {
      const c = connect((server.address() as { port: number }).port, '127.0.0.1', () => r(c));
    });
  });
  afterAll(() => {
    client?.destroy();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds its own sockets, counts root-owned ones as unreadable, does not throw', () => {
    const port = (server.address() as { port: number }).port;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, '--input-type=module', '-e', CHILD,
      String(port), String(client.localPort)], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { mine: number | null; theirs: unknown; first: unknown; stats: { unreadablePids: number; unownedSockets: number } };
    expect(out.mine).toBe(r.pid); // setpriv execs node: same pid
    expect(out.first).toBeNull();
    expect(out.theirs).toBeNull(); // the root socket has no owner a nobody process can see
    expect(out.stats.unreadablePids).toBeGreaterThan(0);
    expect(out.stats.unownedSockets).toBeGreaterThan(0);
  });
});
