/**
 * HTTP/1.x bytes made by real curl against a real Node http server, recorded by a TCP relay in
 * the middle, then fed to the enricher as the segments the relay read. Expected values are what
 * curl was told to send and what the server was told to answer.
 */
import http from 'node:http';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEnricher } from '../../src/enrich/enricher.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { describeNeeding } from '../helpers/needs.js';
import { makeFlow, recorder, run, tcp } from './helpers.js';
import { clientHelloComplete, recordFirstConnection } from './real-clients.js';

const CDN = 'https://dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com/ollama/docker/registry/v2/blobs/sha256/ab/abc/data?X-Amz-Signature=f00';
const BLOB = '/v2/library/llama3/blobs/sha256:abc';

interface Chunk { dir: number; data: Buffer }

/** Runs curl through a recording relay to a Node server; returns the relay's reads in order. */
async function recordCurlSession(curlArgs: (port: number) => string[], stdin: string): Promise<Chunk[]> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/api/generate') {
        res.end('{"response":"secret answer one"}'); // Content-Length
      } else if (req.url === '/api/chat') {
        res.write('{"message":"secret');              // chunked
        res.end(' answer two"}');
      } else if (req.method === 'HEAD') {
        res.setHeader('Content-Length', '17');       // says 17, sends none: HEAD
        res.end();
      } else if (req.url === BLOB) {
        res.writeHead(307, { Location: CDN });
        res.end('<a href="x">Temporary Redirect</a>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const chunks: Chunk[] = [];
  const relay = net.createServer((c) => {
    const up = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('data', (d) => { chunks.push({ dir: DIR_OUT, data: Buffer.from(d) }); up.write(d); });
    up.on('data', (d) => { chunks.push({ dir: DIR_IN, data: Buffer.from(d) }); c.write(d); });
    c.on('end', () => up.end());
    up.on('end', () => c.end());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  try {
    await run('curl', curlArgs((relay.address() as net.AddressInfo).port), 15_000, stdin);
  } finally {
    relay.close();
    server.close();
    server.closeAllConnections();
  }
  return chunks;
}

/** Feeds recorded chunks as TCP segments after a handshake; returns each chunk's ts. */
function feed(e: ReturnType<typeof createEnricher>, flow: ReturnType<typeof makeFlow>, chunks: Chunk[]): number[] {
  const seq = [1000, 50_000];
  tcp(e, flow, DIR_OUT, seq[0] - 1, Buffer.alloc(0), 1, 0x02);
  tcp(e, flow, DIR_IN, seq[1] - 1, Buffer.alloc(0), 2, 0x12);
  const ts: number[] = [];
  chunks.forEach((c, i) => {
    const t = 1_000_000 + i * 1000;
    ts.push(t);
    tcp(e, flow, c.dir, seq[c.dir], c.data, t);
    seq[c.dir] += c.data.length;
  });
  return ts;
}

/** ts of the chunk in which `needle` starts, within the concatenated stream of `dir`. */
function tsOf(chunks: Chunk[], ts: number[], dir: number, needle: string): number {
  const all = Buffer.concat(chunks.filter((c) => c.dir === dir).map((c) => c.data));
  const at = all.indexOf(needle);
  expect(at).toBeGreaterThanOrEqual(0);
  let off = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (chunks[i].dir !== dir) continue;
    if (at < off + chunks[i].data.length) return ts[i];
    off += chunks[i].data.length;
  }
  throw new Error('not found');
}

describeNeeding(['curl'], 'HTTP from curl through a recording relay', () => {
  let chunks: Chunk[];
  beforeAll(async () => {
    chunks = await recordCurlSession((port) => {
      const base = `http://127.0.0.1:${port}`;
      return [
        '-s', '-o', '/dev/null', '-H', 'Host: LocalHost:11434', '--data-binary', 'secret prompt one', `${base}/api/generate`,
        '--next', '-s', '-o', '/dev/null', '-H', 'Host: localhost:11434', '-H', 'Transfer-Encoding: chunked',
        '--data-binary', '@-', `${base}/api/chat`,
        '--next', '-s', '-o', '/dev/null', '-I', `${base}/`,
        '--next', '-s', '-o', '/dev/null', '-A', 'ollama/0.5.7 (amd64 linux) Go/go1.23.4', `${base}${BLOB}`,
      ];
    }, 'secret prompt two, streamed');
  });

  it('gives one record per request on the keep-alive connection, matched to its response', () => {
    // One connection: the relay saw four requests.
    expect(Buffer.concat(chunks.filter((c) => c.dir === DIR_OUT).map((c) => c.data)).toString().match(/ HTTP\/1\.1\r\n/g))
      .toHaveLength(4);
    const sink = recorder();
    const e = createEnricher(sink);
    const flow = makeFlow({ responderPort: 11434, responderAddr: Buffer.from([127, 0, 0, 1]) });
    e.onFlowOpen(flow);
    const ts = feed(e, flow, chunks);
    e.onFlowClose(flow);
    const recs = sink.httpRecs;
    expect(recs.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/api/generate', 200],
      ['POST', '/api/chat', 200],
      ['HEAD', '/', 200],
      ['GET', BLOB, 307],
    ]);
    expect(recs[0].host).toBe('localhost:11434');
    expect(recs[2].host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(recs[3].location).toBe(CDN);
    expect(recs[0].location).toBeNull();
    expect(recs[3].userAgent).toBe('ollama/0.5.7 (amd64 linux) Go/go1.23.4');
    expect(recs[0].userAgent).toMatch(/^curl\/\d/);
    expect(recs.every((r) => r.version === 'HTTP/1.1' && !r.isConnect && r.flowId === 1)).toBe(true);
    expect(recs[0].ts).toBe(tsOf(chunks, ts, DIR_OUT, 'POST /api/generate'));
    expect(recs[3].ts).toBe(tsOf(chunks, ts, DIR_OUT, `GET ${BLOB}`));
    expect(recs[3].responseTs).toBe(tsOf(chunks, ts, DIR_IN, 'HTTP/1.1 307'));
    // Bodies (users' prompts and answers) never leave the enricher.
    expect(JSON.stringify(recs)).not.toContain('secret');
    expect(flow.httpMethod).toBe('POST');
    expect(flow.httpPath).toBe('/api/generate');
    expect(flow.httpHost).toBe('localhost:11434');
    expect(flow.httpStatus).toBe(200);
    expect(flow.hostname).toBe('localhost');
    expect(flow.hostnameSource).toBe('http');
  });

  it('gives the same records when every segment is cut in two and the halves swapped', () => {
    const split: Chunk[] = [];
    for (const c of chunks) {
      const h = c.data.length >> 1;
      split.push({ dir: c.dir, data: c.data.subarray(0, h) }, { dir: c.dir, data: c.data.subarray(h) });
    }
    const sink = recorder();
    const e = createEnricher(sink);
    const flow = makeFlow({ responderPort: 11434 });
    e.onFlowOpen(flow);
    const seq = [1000, 50_000];
    tcp(e, flow, DIR_OUT, seq[0] - 1, Buffer.alloc(0), 1, 0x02);
    tcp(e, flow, DIR_IN, seq[1] - 1, Buffer.alloc(0), 2, 0x12);
    for (let i = 0; i < split.length; i += 2) {
      const [a, b] = [split[i], split[i + 1]];
      tcp(e, flow, b.dir, seq[b.dir] + a.data.length, b.data, 10 + i);
      tcp(e, flow, a.dir, seq[a.dir], a.data, 10 + i);
      seq[a.dir] += a.data.length + b.data.length;
    }
    e.onFlowClose(flow);
    expect(sink.httpRecs.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /api/generate 200', 'POST /api/chat 200', 'HEAD / 200', `GET ${BLOB} 307`,
    ]);
  });
});

describeNeeding(['curl'], 'CONNECT through a tiny proxy', () => {
  it('gives connectHost/Port, the 200, and the SNI of the tunnel\'s ClientHello', async () => {
    const reply = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n');
    let replied = false;
    const out = await recordFirstConnection(
      // curl asks the proxy for the name: nothing is resolved and nothing leaves loopback.
      (port) => run('curl', ['-s', '-o', '/dev/null', '--max-time', '5', '-x', `http://127.0.0.1:${port}`,
        'https://registry.ollama.ai/v2/library/llama3/manifests/latest'], 10_000),
      (all) => {
        const end = all.indexOf('\r\n\r\n');
        return end >= 0 && clientHelloComplete(all, end + 4);
      },
      (sock, all) => {
        if (!replied && all.includes('\r\n\r\n')) { replied = true; sock.write(reply); }
        return false;
      },
    );
    const headEnd = out.indexOf('\r\n\r\n') + 4;
    expect(out.subarray(0, headEnd).toString()).toMatch(/^CONNECT registry\.ollama\.ai:443 HTTP\/1\.1\r\n/);
    const sink = recorder();
    const e = createEnricher(sink);
    const flow = makeFlow({ responderPort: 3128 });
    e.onFlowOpen(flow);
    feed(e, flow, [
      { dir: DIR_OUT, data: out.subarray(0, headEnd) },
      { dir: DIR_IN, data: reply },
      { dir: DIR_OUT, data: out.subarray(headEnd, headEnd + 200) },
      { dir: DIR_OUT, data: out.subarray(headEnd + 200) },
    ]);
    expect(flow.connectHost).toBe('registry.ollama.ai');
    expect(flow.connectPort).toBe(443);
    expect(flow.sni).toBe('registry.ollama.ai');
    expect(flow.alpn).toContain('http/1.1');
    expect(flow.hostnameSource).toBe('sni');
    expect(flow.httpStatus).toBe(200);
    expect(flow.enrich).toBeNull();
    expect(sink.httpRecs).toHaveLength(1);
    expect(sink.httpRecs[0]).toMatchObject({
      method: 'CONNECT', path: 'registry.ollama.ai:443', isConnect: true, connectHost: 'registry.ollama.ai',
      connectPort: 443, status: 200, location: null,
    });
  });
});
