/** HTTP/1.x cases real clients rarely produce on demand, built by hand from RFC 9112's grammar. */
import { describe, expect, it } from 'vitest';
import { createEnricher } from '../../src/enrich/enricher.js';
import { HTTP_BAD, HTTP_NEED_MORE, HTTP_OK, newRequestHead, parseRequestHead, startsWithMethod } from '../../src/enrich/http.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { makeFlow, recorder, tcp } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function session(port = 11434) {
  const sink = recorder();
  const e = createEnricher(sink);
  const flow = makeFlow({ responderPort: port });
  e.onFlowOpen(flow);
  const seq = [100, 9000];
  tcp(e, flow, DIR_OUT, seq[0] - 1, Buffer.alloc(0), 1, 0x02);
  tcp(e, flow, DIR_IN, seq[1] - 1, Buffer.alloc(0), 2, 0x12);
  let t = 10;
  const send = (dir: number, s: string | Buffer): void => {
    const data = typeof s === 'string' ? b(s) : s;
    tcp(e, flow, dir, seq[dir], data, t++);
    seq[dir] += data.length;
  };
  return { sink, e, flow, send, seq };
}

describe('http head parsing', () => {
  it('recognises a method at the stream start, waiting for enough bytes', () => {
    expect(startsWithMethod(b('GE'), 0, 2)).toBe(HTTP_NEED_MORE);
    expect(startsWithMethod(b('GET /'), 0, 5)).toBe(HTTP_OK);
    expect(startsWithMethod(b('CONNEC'), 0, 6)).toBe(HTTP_NEED_MORE);
    expect(startsWithMethod(b('GETX /'), 0, 6)).toBe(HTTP_BAD);
    expect(startsWithMethod(b('\x16\x03\x01'), 0, 3)).toBe(HTTP_BAD);
    expect(startsWithMethod(b('PRI * HTTP/2.0'), 0, 14)).toBe(HTTP_BAD); // h2c preface is not HTTP/1
  });

  it('rejects two different Content-Length values (RFC 9112 §6.3) and accepts bare LF lines', () => {
    const q = newRequestHead();
    const two = b('POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n');
    expect(parseRequestHead(two, 0, two.length, q)).toBe(HTTP_BAD);
    const lf = b('GET /x HTTP/1.0\nHOST: Example.ORG\n\n');
    expect(parseRequestHead(lf, 0, lf.length, q)).toBe(HTTP_OK);
    expect(q.host).toBe('example.org');
    expect(q.version).toBe('HTTP/1.0');
    expect(q.headEnd).toBe(lf.length);
  });

  it('skips a chunked body with extensions and trailers, split anywhere, and reads the next request', () => {
    const { sink, send } = session();
    const stream = 'POST /api/create HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n' +
      'GET /api/tags HTTP/1.1\r\nHost: h\r\n\r\n';
    for (let i = 0; i < stream.length; i += 7) send(DIR_OUT, stream.slice(i, i + 7));
    send(DIR_IN, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(sink.httpRecs.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /api/create 200', 'GET /api/tags 200']);
  });

  it('stops reading a direction whose chunk framing is broken', () => {
    const { sink, send, e, flow } = session();
    send(DIR_OUT, 'POST /api/create HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    send(DIR_OUT, 'GET /api/tags HTTP/1.1\r\nHost: h\r\n\r\n');
    e.onFlowClose(flow);
    expect(sink.httpRecs.map((r) => r.path)).toEqual(['/api/create']);
  });

  it('refuses bytes that cannot open a request line before any blank line arrives', () => {
    const q = newRequestHead();
    const opaque = b('b'.repeat(200)); // no line end: waiting for a head end would rescan it with every segment
    expect(parseRequestHead(opaque, 0, opaque.length, q)).toBe(HTTP_BAD);
    expect(parseRequestHead(b('\x00\x01GET'), 0, 5, q)).toBe(HTTP_BAD);
    expect(parseRequestHead(b(' GET / HTTP/1.1'), 0, 15, q)).toBe(HTTP_BAD);
    // A token method of any registered length still waits for its head.
    expect(parseRequestHead(b('BASELINE-CONTROL /x HTTP/1.1\r\n'), 0, 30, q)).toBe(HTTP_NEED_MORE);
    expect(parseRequestHead(b('GE'), 0, 2, q)).toBe(HTTP_NEED_MORE);
  });

  it('truncates a long target to 512 characters', () => {
    const q = newRequestHead();
    const long = b(`GET /${'a'.repeat(1000)} HTTP/1.1\r\n\r\n`);
    expect(parseRequestHead(long, 0, long.length, q)).toBe(HTTP_OK);
    expect(q.target).toHaveLength(512);
  });
});

describe('http on a flow', () => {
  it('skips 100 Continue, reads a 204 without body, then a read-until-close response', () => {
    const { sink, e, flow, send } = session();
    send(DIR_OUT, 'POST /api/create HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    send(DIR_IN, 'HTTP/1.1 100 Continue\r\n\r\n');
    send(DIR_OUT, 'body');
    send(DIR_IN, 'HTTP/1.1 204 No Content\r\n\r\n');
    send(DIR_OUT, 'GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n\r\n');
    send(DIR_IN, 'HTTP/1.0 200 OK\r\n\r\n{"models":[]}');
    send(DIR_OUT, 'GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n\r\n');
    expect(sink.httpRecs.map((r) => [r.path, r.status])).toEqual([['/api/create', 204], ['/api/tags', 200]]);
    e.onFlowClose(flow);
    // The third request's response cannot be found after a body that runs to the close.
    expect(sink.httpRecs.map((r) => [r.path, r.status, r.responseTs])).toEqual([
      ['/api/create', 204, 13], ['/api/tags', 200, 15], ['/api/ps', null, null],
    ]);
    expect(flow.hostname).toBe('127.0.0.1');
  });

  it('waits for the request before reading a response that arrived first', () => {
    const { sink, flow, send, seq, e } = session();
    const req = 'GET /api/version HTTP/1.1\r\nHost: localhost\r\n\r\n';
    tcp(e, flow, DIR_OUT, seq[0] + 10, b(req.slice(10)), 20); // the first 10 bytes are late
    send(DIR_IN, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    expect(sink.httpRecs).toHaveLength(0);
    tcp(e, flow, DIR_OUT, seq[0], b(req.slice(0, 10)), 30);
    expect(sink.httpRecs).toHaveLength(1);
    expect(sink.httpRecs[0]).toMatchObject({ method: 'GET', path: '/api/version', host: 'localhost', status: 200, ts: 30 });
    expect(flow.enrich).not.toBeNull(); // more requests may come on this connection
  });

  it('follows a 407 to a retried CONNECT on the same connection', () => {
    const { sink, flow, send } = session(3128);
    send(DIR_OUT, 'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n');
    send(DIR_IN, 'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 6\r\n\r\ndenied');
    send(DIR_OUT, 'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n');
    send(DIR_IN, 'HTTP/1.1 200 OK\r\n\r\n');
    send(DIR_OUT, '\x17\x03\x03\x00\x01x'); // not a ClientHello: nothing more to learn
    expect(sink.httpRecs.map((r) => r.status)).toEqual([407, 200]);
    expect(flow.connectHost).toBe('2001:db8::1');
    expect(flow.connectPort).toBe(443);
    expect(flow.httpStatus).toBe(407);
    expect(flow.hostname).toBe('2001:db8::1');
    expect(flow.hostnameSource).toBe('connect');
    expect(flow.enrich).toBeNull();
  });

  it('stops at a 101 upgrade', () => {
    const { sink, flow, send } = session();
    send(DIR_OUT, 'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    send(DIR_IN, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
    expect(sink.httpRecs.map((r) => r.status)).toEqual([101]);
    expect(flow.enrich).toBeNull();
  });

  it('reads every request and response of a keep-alive connection, far past the 16 KiB window', () => {
    const { sink, flow, send, e, seq } = session();
    const body = 'x'.repeat(17000);
    send(DIR_OUT, `POST /api/embed HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (let i = 0; i < body.length; i += 1400) send(DIR_OUT, body.slice(i, i + 1400));
    // A streamed (chunked) answer of 100 chunks, ~60 KB, in segments that split chunks anywhere.
    const chunks = Array.from({ length: 100 }, (_, i) => `{"embedding":[${i}],"pad":"${'p'.repeat(560)}"}\n`);
    const answer = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n';
    for (let i = 0; i < answer.length; i += 1448) send(DIR_IN, answer.slice(i, i + 1448));
    send(DIR_OUT, 'GET /api/tags HTTP/1.1\r\nHost: h\r\n\r\n');
    send(DIR_IN, `HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n${'t'.repeat(20000)}`.slice(0, 1448));
    // The rest of that body is never captured (skipped by its length), and the next exchange is read.
    const lost = 20000 - (1448 - 'HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n'.length);
    expect(lost).toBeGreaterThan(16384);
    seq[DIR_IN] += lost;
    send(DIR_OUT, 'DELETE /api/delete HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}');
    send(DIR_OUT, 'POST /api/pull HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}');
    send(DIR_IN, 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(sink.httpRecs.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /api/embed 200', 'GET /api/tags 200', 'DELETE /api/delete 404']);
    e.onFlowClose(flow);
    expect(sink.httpRecs.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /api/embed 200', 'GET /api/tags 200', 'DELETE /api/delete 404', 'POST /api/pull null']);
  });

  it('gives up on a flow whose first bytes are neither TLS nor HTTP', () => {
    const { sink, flow, send } = session(22);
    send(DIR_OUT, 'SSH-2.0-OpenSSH_9.2p1\r\n');
    expect(flow.enrich).toBeNull();
    expect(sink.httpRecs).toHaveLength(0);
  });
});
