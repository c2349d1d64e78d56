/**
 * When bpftrace cannot run with the rights it was given, the session's why_not (and the daemon's
 * warning) must name the real cause. Measured with the previous unit's rights (uid 0 without
 * BPFTRACE_BTF, native-notes/service.md): bpftrace 0.17 wrote its memlock warning as an ERROR line
 * first, then the real error, and why_not said "couldn't set RLIMIT_MEMLOCK". The stand-in below
 * writes those two lines exactly as bpftrace 0.17 wrote them there, then exits 1.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startKernelEvents } from '../../src/attribution/os/linux/bpftrace-source.js';
import { createKernelEventIndex } from '../../src/attribution/os/linux/kernel-event-index.js';

const dir = mkdtempSync(join(tmpdir(), 'oasb-why-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MEMLOCK = 'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem';
const REAL = 'stdin:3:10-28: ERROR: Unknown struct/union: \'struct sk_buff\'';

it('bpftrace that fails after its memlock warning: the reason given is the real error', async () => {
  const tracefs = join(dir, 'tracing');
  mkdirSync(join(tracefs, 'events'), { recursive: true }); // tracefs "mounted": the failure is bpftrace's own
  const standIn = join(dir, 'bpftrace');
  writeFileSync(standIn, `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(MEMLOCK).replace(/\$/g, '\\$')} ${JSON.stringify(REAL)} >&2\nexit 1\n`);
  chmodSync(standIn, 0o755);
  const started = startKernelEvents({
    bpftrace: standIn, attachTimeoutMs: 10_000, tracefsDir: tracefs, index: createKernelEventIndex(), onExit: () => {}, onStderr: () => {},
  });
  await expect(started).rejects.toThrow(`bpftrace: ${REAL}`);
});
