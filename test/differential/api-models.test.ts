/**
 * Model names in API requests, on a real capture (fixtures/api-models.pcap, made by
 * fixtures/make/models.sh: curl POSTs to an Ollama-shaped API on 127.0.0.1:11434, one forwarded to a
 * stand-in ollama.com over TLS). tshark decodes each request body (dechunked) and Node's own JSON
 * parser names its top-level model: the store must hold exactly that model for each request, except
 * past the first 8 KiB (not looked for, and said so). Every prompt holds a marker: it is in the
 * capture, and nowhere in the store file, the evidence segments, the report's files, `flows --json`
 * or `claims --json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { httpRequests } from '../../src/store/read/report-rows.js';
import type { FlowRecord } from '../../src/store/read/flows.js';
import { createEvidenceWriter } from '../../src/store/evidence-writer.js';
import { MODEL_SCAN_LIMIT } from '../../src/knowledge/model-names.js';
import { describeNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { tsharkFields, tsharkSni } from '../helpers/tshark.js';
import { tmpDir, writeEvidenceFrom } from '../evidence/helpers.js';
import { fixture } from './fixture-files.js';
import { filesUnder } from '../helpers/files-under.js';

const FILE = fixture('api-models.pcap');
/** The marker fixtures/make/models.sh put in every prompt. */
const MARKER = 'ZQXMARKER-prompt-5d1e9b';
const root = tmpDir('oa-models-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

interface Expected { port: number; path: string; model: string | null; status: string }

/**
 * tshark's view: each request's client port, path and dechunked body; the model Node's JSON.parse
 * finds at its top level (`model`, or `name` for /api/pull), unless it ends past MODEL_SCAN_LIMIT bytes.
 */
function expectedFromTshark(): Expected[] {
  const opts = ['-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'http.dechunk_body:TRUE'];
  return tsharkFields(FILE, ['tcp.srcport', 'http.request.uri', 'http.file_data'], 'http.request', opts).map((r) => {
    const body = r['http.file_data'][0];
    const json = JSON.parse(body) as { model?: string; name?: string };
    const model = json.model ?? (r['http.request.uri'][0] === '/api/pull' ? json.name : undefined) ?? null;
    const end = model === null ? -1 : body.indexOf(JSON.stringify(model)) + JSON.stringify(model).length;
    const inReach = model !== null && Buffer.byteLength(body.slice(0, end)) <= MODEL_SCAN_LIMIT;
    return {
      port: Number(r['tcp.srcport'][0]), path: r['http.request.uri'][0],
      model: inReach ? model : null, status: inReach ? 'found' : model === null ? 'absent' : 'past-limit',
    };
  });
}

describeNeeding(['tshark'], 'model names in API requests (api-models.pcap)', () => {
  const db = path.join(root, 'store', 'audit.db');
  let flows: FlowRecord[];
  let expected: Expected[];

  beforeAll(async () => {
    fs.mkdirSync(path.dirname(db), { mode: 0o700 });
    const imported = await runCli('import', FILE, '--db', db);
    expect(imported.code, imported.stderr).toBe(0);
    const listed = await runCli('flows', '--db', db, '--json');
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(MARKER);
    flows = JSON.parse(listed.stdout) as FlowRecord[];
    expected = expectedFromTshark();
  });

  it('the capture holds the marker in the requests tshark sees, and five model requests', () => {
    expect(fs.readFileSync(FILE).includes(MARKER)).toBe(true);
    expect(expected.map((e) => [e.path, e.status])).toEqual([
      ['/api/chat', 'found'], ['/api/generate', 'found'], ['/api/generate', 'past-limit'], ['/api/pull', 'found'], ['/v1/chat/completions', 'found'],
    ]);
  });

  it('stores per request the model tshark + JSON.parse find, and says past-limit for the one after 8 KiB', () => {
    const store = openDb(db);
    try {
      const rows = [...httpRequests(store, [1])];
      const portOf = new Map(flows.map((f) => [f.id, f.initiator_port]));
      const stored = rows.map((h) => ({ port: portOf.get(h.flow_id!)!, path: h.path!, model: h.model, status: h.model_status! }));
      expect(stored).toEqual(expected);
    } finally {
      store.close();
    }
  });

  it('flows --json gives each API flow the models its requests named, and counts the unknown one', () => {
    for (const e of expected) {
      const f = flows.find((x) => x.initiator_port === e.port && x.responder_port === 11434)!;
      expect(f.activity).toBe(`api:${e.path}`);
      expect(f.models).toEqual(e.model === null ? [] : [e.model]);
      expect(f.models_unknown).toBe(e.status === 'found' || e.status === 'absent' ? 0 : 1);
    }
    const tls = flows.filter((f) => f.responder_port === 443);
    expect(tls.map((f) => [f.sni, f.models, f.models_unknown])).toEqual([['ollama.com', null, null]]);
  });

  it('the claims chain says the cloud-model request caused the flow to ollama.com (which tshark names by SNI)', async () => {
    expect(tsharkSni(FILE).map((s) => s.sni)).toEqual(['ollama.com']);
    const json = await runCli('claims', '--db', db, '--json');
    expect(json.stdout).not.toContain(MARKER);
    const chains = (JSON.parse(json.stdout) as { chains: { request: { path: string; model: string | null; model_status: string | null; cloud_model: boolean }; caused: { hostname: string }[] }[] }).chains;
    const chat = chains.find((c) => c.request.path === '/api/chat')!;
    expect(chat.request).toMatchObject({ model: 'gpt-oss:120b-cloud', cloud_model: true });
    expect(chat.caused.map((c) => c.hostname)).toEqual(['ollama.com']);
    expect(chains.filter((c) => c.request.cloud_model).length).toBe(1);
    // The request whose model lies past 8 KiB says so rather than passing for one that named none.
    expect(chains.map((c) => c.request.model_status)).toEqual(expected.map((e) => e.status));
    const text = await runCli('claims', '--db', db);
    expect(text.stdout).toContain('request for gpt-oss:120b-cloud (a cloud model) caused a flow to ollama.com');
    expect(text.stdout).toContain('request (model not known: past-limit) caused no flow');
    expect(text.stdout).not.toContain(MARKER);
  });

  it('the marker is nowhere in the store file, the report files or the evidence segments', async () => {
    const out = path.join(root, 'report');
    const rep = await runCli('report', '--db', db, '--out', out);
    expect(rep.code, rep.stderr).toBeLessThan(2);
    const reportFiles = filesUnder(out);
    // No claim is violated by a flow here, so there is no evidence.pcapng of findings: the evidence
    // segments below are what a daemon would keep of these packets.
    expect(reportFiles.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['report.md', 'report.html', 'report.json', 'manifest.json']));
    // The report names the models (so the check below is of files that carry request data).
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toContain('gpt-oss:120b-cloud (cloud)');
    const reportJson = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { http: { model: string | null }[] };
    expect(reportJson.http.map((h) => h.model)).toEqual(expected.map((e) => e.model));

    const segments: string[] = [];
    for (const policy of ['head', 'full'] as const) {
      const w = createEvidenceWriter({ dir: path.join(root, `evidence-${policy}`), policy, session: policy });
      writeEvidenceFrom(FILE, w);
      segments.push(...w.segments().map((s) => s.path));
    }
    expect(segments.length).toBeGreaterThanOrEqual(2);
    // The heads are kept: the evidence is of the API requests, without their bodies.
    for (const s of segments) expect(fs.readFileSync(s).includes('POST /api/chat HTTP/1.1')).toBe(true);

    const storeFiles = filesUnder(path.dirname(db));
    expect(storeFiles.some((f) => f.endsWith('audit.db'))).toBe(true);
    for (const f of [...storeFiles, ...reportFiles, ...segments]) {
      expect(fs.readFileSync(f).includes(MARKER), f).toBe(false);
    }
  });
});
