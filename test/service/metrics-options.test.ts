/**
 * `daemon --metrics`: the address is validated (an IP literal and a port; no names, no lookups),
 * and a port already in use stops the daemon before it captures anything: one line, exit 2, no
 * store written.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let held: Server;
let port: number;

describe('daemon --metrics', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oasv-metrics-'));
    held = createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    port = (held.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => held.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a port in use: exit 2 with one line, before capture starts (no store created)', async () => {
    const db = join(dir, 'in-use.db');
    const r = await runCli('daemon', '--db', db, '-i', 'lo', '--metrics', `127.0.0.1:${port}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ollama-audit: --metrics 127.0.0.1:${port}: that port is already in use (another daemon or exporter?): choose another port\n`);
    expect(existsSync(db)).toBe(false);
  });

  it('a bare port is the same port on loopback (also in use)', async () => {
    const r = await runCli('daemon', '--db', join(dir, 'bare.db'), '-i', 'lo', '--metrics', String(port));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`--metrics 127\\.0\\.0\\.1:${port}: that port is already in use`));
  });

  for (const bad of ['localhost:9464', '0', '65536', '9464x', '[127.0.0.1]:9464', '::1:9464', '1.2.3.4:', '']) {
    it(`refuses --metrics ${JSON.stringify(bad)}: one line, exit 2`, async () => {
      const r = await runCli('daemon', '--db', join(dir, 'bad.db'), '--metrics', bad);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--metrics.*expected \[ADDR:\]PORT/);
      expect(existsSync(join(dir, 'bad.db'))).toBe(false);
    });
  }
});
