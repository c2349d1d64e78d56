/**
 * A real API conversation on loopback, captured by tcpdump: two POST /api/generate on one
 * keep-alive connection, with unique markers in the prompts and the answers. The report's
 * evidence must keep the request and response heads and none of the markers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { writeReport } from '../../src/report/write-report.js';
import { claim, flowIds, importInto, missing, tmpDir, type Imported } from './helpers.js';
import { tsharkColumns } from '../helpers/tshark.js';

const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const tag = randomBytes(6).toString('hex');
const PROMPTS = [`PROMPT-MARKER-${tag}-one`, `PROMPT-MARKER-${tag}-two`];
const ANSWERS = [`ANSWER-MARKER-${tag}-one`, `ANSWER-MARKER-${tag}-two`];

const why = missing('tcpdump', true) ?? missing('tshark');

async function startTcpdump(file: string, port: number): Promise<ChildProcess> {
  // --immediate-mode: without it, packets still in the kernel's ring buffer are lost at SIGINT.
  const p = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-n', '-w', file, `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
  return p;
}

function post(agent: http.Agent, port: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/generate', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(why !== null)(`API bodies never reach the evidence${why ? ` (skipped: ${why})` : ''}`, () => {
  let st: Imported;
  let port: number;
  let capture: string;

  beforeAll(async () => {
    let n = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ model: 'm', response: ANSWERS[n++ % 2], done: true })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    capture = path.join(root, 'api.pcap');
    const dump = await startTcpdump(capture, port);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (const p of PROMPTS) expect(await post(agent, port, JSON.stringify({ model: 'm', prompt: p, stream: false }))).toContain('ANSWER-MARKER');
    agent.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise((r) => dump.once('exit', r));
    dump.kill('SIGINT');
    await exited;
    server.close();
    st = await importInto(root, capture);
  });
  afterAll(() => st?.db.close());

  it('captured both requests and answers on one connection', () => {
    const src = fs.readFileSync(capture);
    for (const m of [...PROMPTS, ...ANSWERS]) expect(src.includes(m)).toBe(true);
    expect(flowIds(st.db, `responder_port = ${port}`)).toHaveLength(1);
  });

  it('with the port configured as an API port: heads kept, every body cut, every packet there', () => {
    const ids = flowIds(st.db, `responder_port = ${port}`);
    const out = path.join(root, 'configured');
    const r = writeReport(st.db, out, { claims: [claim('api', ids)], coverage: null, apiPorts: [11434, port] });
    expect(r.manifest.evidence.complete).toBe(true);
    const ev = fs.readFileSync(path.join(out, 'evidence.pcapng'));
    expect(ev.includes('POST /api/generate HTTP/1.1\r\n')).toBe(true);
    expect(ev.includes('HTTP/1.1 200 OK\r\n')).toBe(true);
    for (const m of [...PROMPTS, ...ANSWERS]) expect(ev.includes(m)).toBe(false);
    expect(ev.includes(`PROMPT-MARKER-${tag}`)).toBe(false);
    expect(tsharkColumns(path.join(out, 'evidence.pcapng'), ['frame.number']).length).toBe(tsharkColumns(capture, ['frame.number']).length);
    const policy = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).evidence.policy as string;
    expect(policy).toContain(`${port}`);
  });

  it('without it, the flow is still loopback HTTP, so its bodies are cut all the same (the source holds them)', () => {
    const ids = flowIds(st.db, `responder_port = ${port}`);
    const out = path.join(root, 'default');
    writeReport(st.db, out, { claims: [claim('api', ids)], coverage: null });
    const ev = fs.readFileSync(path.join(out, 'evidence.pcapng'));
    expect(ev.includes(PROMPTS[0])).toBe(false);
    expect(ev.includes(Buffer.from('POST /api/generate'))).toBe(true);
  });
});
