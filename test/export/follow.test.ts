/**
 * `export --follow` (issue #12) with a real writer: imports into the same store while the export
 * (the built CLI, a separate process) follows it, and a row that grows in place as a live daemon's
 * open flow does. New sessions are picked up, nothing is written twice, SIGTERM flushes and exits
 * 0, and a second run with the same --cursor starts where the first stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { CONN_STATES, flowsJson, KEEPALIVE, PULL, storeWith, tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js');

type Doc = {
  event: { dataset: string; id: string; kind: string };
  ollama_audit: { session_id?: number; flow_id?: number; claim?: { verdict: string; previous_verdict?: string } };
  rule?: { id: string };
};

interface Follower { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }

function follow(...args: string[]): Follower {
  const child = spawn(process.execPath, [BIN, 'export', '--follow', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString('utf8'); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function until(what: string, ok: () => boolean, f: Follower, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr: ${f.err()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const docsOf = (text: string): Doc[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Doc);
const flowDocs = (text: string) => docsOf(text).filter((d) => d.event.dataset === 'ollama_audit.flow');
const verdictDocs = (text: string) => docsOf(text).filter((d) => d.event.dataset === 'ollama_audit.verdict');

const tmp = tempDir('oaex-follow-');
const followers: Follower[] = [];
afterAll(() => {
  for (const f of followers) if (f.child.exitCode === null) f.child.kill('SIGKILL');
  tmp.remove();
});

describeNeeding(['dist'], 'export --follow', () => {
  let db: string;
  let cursor: string;

  beforeAll(async () => {
    db = await storeWith(tmp.dir, KEEPALIVE);
    cursor = join(tmp.dir, 'export.cursor');
  });

  itNeeding(['dist'], 'streams the flows of imports made while it runs (new sessions), verdicts that change, a row that grows, a row committed late; exits 0 at SIGTERM', async () => {
    const f = follow('--db', db, '--format', 'ecs', '--cursor', cursor);
    followers.push(f);
    const first = (await flowsJson(db)).length;
    await until('the first session', () => flowDocs(f.out()).length >= first && f.out().includes('ollama_audit.verdict'), f);

    expect((await runCli('import', CONN_STATES, '--db', db)).code).toBe(0);
    const second = (await flowsJson(db)).length;
    await until('the imported session', () => flowDocs(f.out()).length >= second, f);
    // conn-states.pcap contacts registry.ollama.ai (make/conn-states.sh): the two air-gap claims on
    // Ollama's destinations turn from inconclusive (API traffic only) to violated, written as alerts
    // once claims are judged again (at most every 10 s while following), with no new row needed.
    const changed = () => verdictDocs(f.out()).filter((d) => d.ollama_audit.claim!.previous_verdict !== undefined);
    await until('the verdict changes', () => changed().length >= 2, f, 30_000);
    expect(changed().map((d) => [d.rule!.id, d.ollama_audit.claim!.previous_verdict, d.ollama_audit.claim!.verdict, d.event.kind])).toEqual([
      ['airgap-no-ollama-destination', 'inconclusive', 'violated', 'alert'],
      ['airgap-no-ollama-dns', 'inconclusive', 'violated', 'alert'],
    ]);
    const claims = JSON.parse((await runCli('claims', '--db', db, '--json')).stdout) as { claims: { id: string; verdict: string }[] };
    expect(claims.claims.filter((c) => c.verdict === 'violated').map((c) => c.id)).toEqual(['airgap-no-ollama-destination', 'airgap-no-ollama-dns']);

    // A live flow's row grows in place (the daemon upserts open flows every second, its last packet
    // the latest of the session): written again, once.
    const grown = (await flowsJson(db)).find((x) => x.session_id === 2 && x.proto === 'tcp')!;
    const writer = new Database(db);
    writer.prepare(`UPDATE flows SET last_seen = (SELECT max(last_seen) FROM flows WHERE session_id = 2) + 1000000,
      packets_out = packets_out + 1, bytes_out = bytes_out + 52 WHERE id = ?`).run(grown.id);
    await until('the grown flow', () => flowDocs(f.out()).length >= second + 1, f);
    // A row committed a little late: its last packet is half a second before the latest one written
    // (a packet handled just after the daemon's flush of that second). Written again, once.
    const late = (await flowsJson(db)).find((x) => x.session_id === 2 && x.proto === 'udp' && x.id !== grown.id)!;
    writer.prepare(`UPDATE flows SET last_seen = (SELECT max(last_seen) FROM flows WHERE session_id = 2) - 500000,
      packets_in = packets_in + 1 WHERE id = ?`).run(late.id);
    writer.close();
    await until('the late row', () => flowDocs(f.out()).length >= second + 2, f);

    f.child.kill('SIGTERM');
    expect(await f.exit).toBe(0);
    const docs = flowDocs(f.out());
    expect(docs.length).toBe(second + 2);
    expect(new Set(docs.map((d) => d.event.id)).size).toBe(docs.length);
    const byFlow = new Map<number, number>();
    for (const d of docs) byFlow.set(d.ollama_audit.flow_id!, (byFlow.get(d.ollama_audit.flow_id!) ?? 0) + 1);
    expect([...byFlow.entries()].filter(([, n]) => n > 1).sort()).toEqual([[grown.id, 2], [late.id, 2]].sort());
    expect(byFlow.size).toBe(second);
    expect(f.err()).toBe('');
  }, 90_000);

  itNeeding(['dist'], 'a second run with the same cursor writes only what came after (a daemon restarted: a new session), and only changed verdicts', async () => {
    const before = (await flowsJson(db)).length;
    expect((await runCli('import', PULL, '--db', db)).code).toBe(0);
    const after = (await flowsJson(db)).length;
    const f = follow('--db', db, '--format', 'ecs', '--cursor', cursor);
    followers.push(f);
    await until('the new session', () => flowDocs(f.out()).length >= after - before, f);
    await new Promise((r) => setTimeout(r, 1500)); // a second look at the store finds nothing more to write
    f.child.kill('SIGTERM');
    expect(await f.exit).toBe(0);
    const docs = flowDocs(f.out());
    expect(docs.length).toBe(after - before);
    expect(new Set(docs.map((d) => d.ollama_audit.session_id))).toEqual(new Set([3]));
    const saved = JSON.parse(readFileSync(cursor, 'utf8')) as { verdicts: Record<string, string> };
    const verdicts = docsOf(f.out()).filter((d) => d.event.dataset === 'ollama_audit.verdict');
    for (const v of verdicts) expect(saved.verdicts[v.rule!.id]).toBe(v.ollama_audit.claim!.verdict);
    // The pull (make/pull.sh) has Ollama itself call the registry: two more claims break. Only these
    // changes are written; the verdicts the first run wrote are not written again.
    expect(verdicts.map((d) => [d.rule!.id, d.ollama_audit.claim!.previous_verdict, d.ollama_audit.claim!.verdict])).toEqual([
      ['server-offline-unless-pull-push', 'inconclusive', 'violated'],
      ['airgap-ollama-silent', 'inconclusive', 'violated'],
    ]);
  }, 90_000);

  itNeeding(['dist'], 'zeek: the header at once, the #close line at SIGTERM, exit 0', async () => {
    const f = follow('--db', db, '--format', 'zeek', '--session', '1');
    followers.push(f);
    await until('the header and session 1', () => f.out().split('\n').filter((l) => l && !l.startsWith('#')).length >= 1, f);
    f.child.kill('SIGTERM');
    expect(await f.exit).toBe(0);
    const lines = f.out().trimEnd().split('\n');
    expect(lines[0]).toBe('#separator \\x09');
    expect(lines.at(-1)).toMatch(/^#close\t\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
  }, 60_000);
});
