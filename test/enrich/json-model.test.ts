/**
 * The model scanner (src/enrich/json-model.ts) alone, and through the enricher on hand-built TCP
 * segments: the top-level `model` of an API request body, across segments and chunks, and nothing
 * else of the body.
 */
import { describe, expect, it } from 'vitest';
import { createEnricher } from '../../src/enrich/enricher.js';
import { modelScanBytes, modelScanDone, modelScanResult, modelScanStart, newModelScan } from '../../src/enrich/json-model.js';
import type { ModelField } from '../../src/knowledge/api-endpoints.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { isValidModelName, MODEL_STATUS_MEANINGS } from '../../src/knowledge/model-names.js';
import { mulberry32, randomInt } from '../helpers/seeded-random.js';
import { makeFlow, recorder, tcp } from './helpers.js';

const MARKER = 'PROMPT-MARKER-7f3a9c';

/** Scans `body` fed in the given pieces (byte offsets where it is cut). */
function scan(body: string | Buffer, fields: readonly ModelField[] = ['model'], cuts: number[] = [], complete = true) {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const s = newModelScan();
  modelScanStart(s, fields);
  let from = 0;
  for (const c of [...cuts, buf.length]) {
    modelScanBytes(s, buf, from, c);
    from = c;
  }
  return { ...modelScanResult(s, complete), scan: s };
}

describe('model scanner', () => {
  it('reads the top-level model string and stops there', () => {
    const body = `{"model":"llama3.2:3b","prompt":"${MARKER}","stream":false}`;
    const r = scan(body);
    expect(r).toMatchObject({ model: 'llama3.2:3b', status: 'found' });
    expect(modelScanDone(r.scan)).toBe(true);
    expect(r.scan.seen).toBe(body.indexOf(',"prompt"')); // nothing after the model's closing quote was looked at
  });

  it('finds the same model whichever byte the body is split at, and byte by byte', () => {
    const body = `{"options":{"temperature":0.1},"messages":[{"role":"user","content":"a \\"b\\" ${MARKER}"}],"model":"gpt-oss:120b-cloud"}`;
    for (let cut = 0; cut <= body.length; cut++) {
      expect(scan(body, ['model'], [cut]).model, `cut at ${cut}`).toBe('gpt-oss:120b-cloud');
    }
    expect(scan(body, ['model'], Array.from({ length: body.length }, (_, i) => i)).model).toBe('gpt-oss:120b-cloud');
  });

  it('follows escapes: a quoted "model" inside a string is not a key, an escaped key or value is decoded', () => {
    expect(scan('{"prompt":"say \\"model\\": \\"evil\\" \\\\","model":"good"}').model).toBe('good');
    expect(scan('{"mod\\u0065l":"library\\/llama3"}').model).toBe('library/llama3');
    // Go's encoding/json matches keys without regard to ASCII case.
    expect(scan('{"Model":"qwen3"}').model).toBe('qwen3');
    expect(scan('{"models":"x","mode":"y","model ":"z"}')).toMatchObject({ model: null, status: 'absent' });
  });

  it('does not count a model nested in another object or array', () => {
    expect(scan('{"options":{"model":"evil"},"messages":[{"model":"evil2"}],"stream":true}')).toMatchObject({ model: null, status: 'absent' });
    expect(scan('{"options":{"model":"evil"},"tools":[[{"model":"e"}],"model"],"model":"good"}').model).toBe('good');
    expect(scan('["model","evil"]')).toMatchObject({ model: null, status: 'not-json' });
  });

  it('does not look past MODEL_SCAN_LIMIT bytes: a 9 KiB prompt before the model leaves it not found, and says so', () => {
    const r = scan(`{"prompt":"${'p'.repeat(9 * 1024)}","model":"llama3.2"}`);
    expect(r).toMatchObject({ model: null, status: 'past-limit' });
    expect(r.scan.seen).toBe(8192);
  });

  it('keeps no hostile name: control characters (raw or escaped), quotes, spaces, non-ASCII, too long', () => {
    for (const v of ['llama\\u001b[31m', 'a\\nb', 'x\\u0000', 'two words', 'caf\\u00e9', 'é', 'x'.repeat(257), '../../etc', '\\"quoted\\"']) {
      expect(scan(`{"model":"${v}","prompt":"${MARKER}"}`), v).toMatchObject({ model: null, status: 'invalid' });
    }
    // A raw control character is not JSON at all.
    expect(scan('{"model":"a\u0007b"}')).toMatchObject({ model: null, status: 'not-json' });
    expect(scan(`{"model":"${'x'.repeat(256)}"}`).model).toBe('x'.repeat(256));
  });

  it('takes the names Ollama accepts: host, port, namespace, tag, build, digest', () => {
    for (const v of ['myreg.example:5000/ns/model:tag', 'hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M', 'llama3+Q4_0', 'x@sha256-0123abcd', 'kimi-k2:1t-cloud']) {
      expect(scan(`{"model":"${v}"}`).model).toBe(v);
    }
  });

  it('reads `name` only where the route takes it, and prefers `model`', () => {
    expect(scan('{"name":"tinyllama"}', ['model', 'name'])).toMatchObject({ model: 'tinyllama', status: 'found' });
    expect(scan('{"name":"old","model":"new"}', ['model', 'name']).model).toBe('new');
    expect(scan('{"name":"tinyllama"}', ['model'])).toMatchObject({ model: null, status: 'absent' });
    // An empty model is unset for the server, which then uses name.
    expect(scan('{"model":"","name":"tinyllama"}', ['model', 'name']).model).toBe('tinyllama');
  });

  it('says why there is no model: not a string, null, not JSON, no body, body not seen whole', () => {
    expect(scan('{"model":5}')).toMatchObject({ model: null, status: 'not-a-string' });
    expect(scan('{"model":{"x":"y"}}')).toMatchObject({ model: null, status: 'not-a-string' });
    expect(scan('{"model":null,"prompt":"x"}')).toMatchObject({ model: null, status: 'absent' });
    expect(scan('model=llama3.2')).toMatchObject({ model: null, status: 'not-json' });
    expect(scan('{"a":[}, "model":"x"}')).toMatchObject({ model: null, status: 'not-json' });
    expect(scan('')).toMatchObject({ model: null, status: 'absent' });
    expect(scan('{"prompt":"x", "mo', ['model'], [], false)).toMatchObject({ model: null, status: 'unread' });
    expect(scan('{"prompt":"x"', ['model'], [], true)).toMatchObject({ model: null, status: 'not-json' });
    expect(scan(`${'['.repeat(40)}`)).toMatchObject({ model: null, status: 'not-json' });
  });

  it('agrees with JSON.parse on mutated bodies, and never throws or keeps an invalid name', () => {
    const rand = mulberry32(11);
    const base = Buffer.from(JSON.stringify({ options: { model: 'n' }, messages: [{ content: 'a"b\\c' }], model: 'llama3.2:3b', stream: true }));
    const statuses = Object.keys(MODEL_STATUS_MEANINGS);
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(base);
      for (let k = 0; k < 1 + randomInt(rand, 3); k++) body[randomInt(rand, body.length)] = randomInt(rand, 128);
      const r = scan(body, ['model'], [randomInt(rand, body.length)]);
      expect(statuses).toContain(r.status);
      if (r.model !== null) expect(isValidModelName(r.model)).toBe(true);
      let parsed: unknown;
      try { parsed = JSON.parse(body.toString('latin1')); } catch { continue; }
      // Valid JSON: the scanner sees the top-level model JSON.parse sees (keys matched as Go does, without case).
      checked++;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) { expect(r.status).toBe('not-json'); continue; }
      const keys = Object.keys(parsed).filter((k) => /^model$/i.test(k));
      const value = keys.length === 1 ? (parsed as Record<string, unknown>)[keys[0]] : undefined;
      if (keys.length === 0) expect(r.status).toBe('absent');
      if (typeof value === 'string' && isValidModelName(value)) expect(r).toMatchObject({ model: value, status: 'found' });
      if (typeof value === 'number' || typeof value === 'boolean') expect(r.status).toBe('not-a-string');
    }
    expect(checked).toBeGreaterThan(300); // enough mutated bodies stayed valid JSON to compare
  });

  it('copies nothing of the body but the model value', () => {
    const r = scan(`{"prompt":"${MARKER}","model":"m1"}`);
    expect(r.scan.val.includes(Buffer.from(MARKER))).toBe(false);
    expect(JSON.stringify(r)).not.toContain(MARKER);
  });
});

/** One plaintext HTTP connection to `port` fed segment by segment through the enricher. */
function session(port = 11434) {
  const sink = recorder();
  const e = createEnricher(sink);
  const flow = makeFlow({ responderPort: port, initiatorAddr: Buffer.from([127, 0, 0, 1]), responderAddr: Buffer.from([127, 0, 0, 1]) });
  e.onFlowOpen(flow);
  const seq = [100, 9000];
  tcp(e, flow, DIR_OUT, seq[0] - 1, Buffer.alloc(0), 1, 0x02);
  tcp(e, flow, DIR_IN, seq[1] - 1, Buffer.alloc(0), 2, 0x12);
  let t = 10;
  const send = (dir: number, data: string | Buffer, mss = 1460, skip = false): void => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (let o = 0; o < buf.length; o += mss) {
      if (!skip || o === 0) tcp(e, flow, dir, seq[dir] + o, buf.subarray(o, Math.min(buf.length, o + mss)), t++);
    }
    seq[dir] += buf.length;
  };
  return { sink, e, flow, send };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}';

function post(path: string, body: string, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function chunked(path: string, body: string, size: number): string {
  let out = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nTransfer-Encoding: chunked\r\n\r\n`;
  for (let o = 0; o < body.length; o += size) {
    const c = body.slice(o, o + size);
    out += `${c.length.toString(16)};ext=1\r\n${c}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

describe('model of API requests through the enricher', () => {
  it('reads it from a body spread over many segments, on every request of a keep-alive connection', () => {
    const { sink, e, flow, send } = session();
    const long = `{"messages":[{"role":"user","content":"${MARKER}${'q'.repeat(6000)}"}],"model":"llama3.2"}`;
    send(DIR_OUT, post('/api/chat', long), 7); // 7-byte segments: the model straddles several
    send(DIR_IN, OK);
    send(DIR_OUT, 'GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n');
    send(DIR_IN, OK);
    send(DIR_OUT, post('/api/pull', '{"name":"tinyllama","stream":false}'));
    send(DIR_IN, OK);
    send(DIR_OUT, post('/v1/chat/completions', `{"model":"gpt-oss:120b-cloud","messages":[{"role":"user","content":"${MARKER}"}]}`));
    send(DIR_IN, OK);
    e.onFlowClose(flow);
    expect(sink.httpRecs.map((r) => [r.path, r.model, r.modelStatus])).toEqual([
      ['/api/chat', 'llama3.2', 'found'],
      ['/api/tags', null, null],
      ['/api/pull', 'tinyllama', 'found'],
      ['/v1/chat/completions', 'gpt-oss:120b-cloud', 'found'],
    ]);
    expect(JSON.stringify(sink.httpRecs)).not.toContain(MARKER);
  });

  it('reads it from a chunked body whose chunks split the JSON anywhere', () => {
    const body = `{"prompt":"${MARKER}","model":"qwen3:8b","stream":true}`;
    for (const size of [1, 3, 10, 64]) {
      const { sink, e, flow, send } = session();
      send(DIR_OUT, chunked('/api/generate', body, size), 5);
      send(DIR_IN, OK);
      send(DIR_OUT, post('/api/show', '{"model":"after-chunked"}'));
      send(DIR_IN, OK);
      e.onFlowClose(flow);
      expect(sink.httpRecs.map((r) => r.model), `chunks of ${size}`).toEqual(['qwen3:8b', 'after-chunked']);
    }
  });

  it('says past-limit for a model after 8 KiB, unread for a body lost in the capture, and reads no model off the API port', () => {
    const { sink, e, flow, send } = session();
    send(DIR_OUT, post('/api/generate', `{"prompt":"${'p'.repeat(9 * 1024)}","model":"llama3.2"}`));
    send(DIR_IN, OK);
    send(DIR_OUT, post('/api/embed', `{"input":"${'i'.repeat(4000)}","model":"nomic-embed-text"}`), 1000, true); // only the first segment captured
    send(DIR_IN, OK);
    e.onFlowClose(flow);
    expect(sink.httpRecs.map((r) => [r.model, r.modelStatus])).toEqual([[null, 'past-limit'], [null, 'unread']]);

    const other = session(8080);
    other.send(DIR_OUT, post('/api/generate', '{"model":"llama3.2"}'));
    other.send(DIR_IN, OK);
    other.e.onFlowClose(other.flow);
    expect(other.sink.httpRecs.map((r) => [r.model, r.modelStatus])).toEqual([[null, null]]);
  });

  it('a request still waiting for its body when the connection ends says unread, and a POST without a body says absent', () => {
    const { sink, e, flow, send } = session();
    send(DIR_OUT, post('/api/delete', ''));
    send(DIR_IN, OK);
    send(DIR_OUT, post('/api/chat', `{"messages":[],"model":"x"}`).slice(0, -10));
    e.onFlowClose(flow);
    expect(sink.httpRecs.map((r) => [r.path, r.model, r.modelStatus])).toEqual([['/api/delete', null, 'absent'], ['/api/chat', null, 'unread']]);
  });
});
