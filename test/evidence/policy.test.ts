import { describe, expect, it } from 'vitest';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { HEAD_BYTES, keepBytes, newEvidenceFlowState } from '../../src/store/evidence-policy.js';
import type { EvidencePolicy } from '../../src/settings.js';
import { decoded, HDRS, tcpPacket, type Ep } from './helpers.js';

const C: Ep = { ip: '10.0.0.1', port: 40000 };
const S: Ep = { ip: '10.0.0.2', port: 443 };
const API: Ep = { ip: '127.0.0.1', port: 11434 };
const CLI: Ep = { ip: '127.0.0.1', port: 51000 };
const API_PORTS = [11434];

/** Runs packets through keepBytes in order with one flow state; returns what each keeps. */
function keeps(policy: EvidencePolicy, pkts: { from: Ep; to: Ep; payload: Buffer | string; dir: number }[], apiPorts = API_PORTS): number[] {
  const st = newEvidenceFlowState();
  return pkts.map(({ from, to, payload, dir }) => {
    const p = tcpPacket(from, to, payload);
    return keepBytes(policy, st, dir, p, decoded(p), apiPorts);
  });
}

const out = (payload: Buffer | string) => ({ from: C, to: S, payload, dir: DIR_OUT });
const back = (payload: Buffer | string) => ({ from: S, to: C, payload, dir: DIR_IN });

describe('evidence policy: head', () => {
  it('keeps whole packets while the direction has sent under 16 KiB before them, headers after', () => {
    // 16383 bytes before the second packet: still whole; 16384 before the third: headers only.
    const got = keeps('head', [out(Buffer.alloc(HEAD_BYTES - 1)), out(Buffer.alloc(1)), out(Buffer.alloc(1000)), out(Buffer.alloc(0))]);
    expect(got).toEqual([HDRS + HEAD_BYTES - 1, HDRS + 1, HDRS, HDRS]);
  });

  it('counts each direction on its own', () => {
    const got = keeps('head', [
      out(Buffer.alloc(HEAD_BYTES)), back(Buffer.alloc(500)), out(Buffer.alloc(10)),
      back(Buffer.alloc(HEAD_BYTES - 500)), back(Buffer.alloc(7)), out(Buffer.alloc(3)),
    ]);
    expect(got).toEqual([HDRS + HEAD_BYTES, HDRS + 500, HDRS, HDRS + HEAD_BYTES - 500, HDRS, HDRS]);
  });

  it('full keeps everything off the API port; none keeps nothing', () => {
    const pkts = [out(Buffer.alloc(HEAD_BYTES)), out(Buffer.alloc(900)), back(Buffer.alloc(20000))];
    expect(keeps('full', pkts)).toEqual([HDRS + HEAD_BYTES, HDRS + 900, HDRS + 20000]);
    expect(keeps('none', pkts)).toEqual([0, 0, 0]);
  });
});

const REQ_HEAD = 'POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nContent-Length: 40\r\n\r\n';
const REQ_BODY = '{"prompt":"SECRET-PROMPT-MARKER-1234567"}';
const RESP_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n';

describe('evidence policy: the Ollama API port never keeps bodies', () => {
  for (const policy of ['head', 'full'] as const) {
    it(`${policy}: request and response heads kept through CRLFCRLF, bodies cut, per direction`, () => {
      const req = { from: CLI, to: API, dir: DIR_OUT };
      const resp = { from: API, to: CLI, dir: DIR_IN };
      const got = keeps(policy, [
        { ...req, payload: REQ_HEAD + REQ_BODY.slice(0, 10) },
        { ...req, payload: REQ_BODY.slice(10) },
        { ...resp, payload: RESP_HEAD + '2a\r\n{"response":"SECRET-ANSWER"}' },
        { ...resp, payload: '\r\n0\r\n\r\n' },
        { ...req, payload: REQ_HEAD + REQ_BODY }, // a second request on the keep-alive connection
      ]);
      expect(got).toEqual([HDRS + REQ_HEAD.length, HDRS, HDRS + RESP_HEAD.length, HDRS, HDRS]);
    });
  }

  it('a later IP fragment on the API port keeps only its IP header (no head parser can place its bytes)', () => {
    for (const policy of ['head', 'full'] as const) {
      const p = tcpPacket(CLI, API, REQ_HEAD + REQ_BODY);
      const d = decoded(p);
      // The same bytes as the data of a later fragment: no transport header, all of it payload.
      const ipEnd = d.srcOff - 12 + 20;
      Object.assign(d, { fragment: 2, payloadOff: ipEnd, payloadLen: p.off + p.caplen - ipEnd, payloadWireLen: p.off + p.caplen - ipEnd });
      expect(keepBytes(policy, newEvidenceFlowState(), DIR_OUT, p, d, API_PORTS)).toBe(ipEnd - p.off);
    }
  });

  it('a head split across packets (even inside CRLFCRLF) is kept whole, up to its end', () => {
    const head = REQ_HEAD.slice(0, -3); // ends with "\r"; "\n\r\n" starts the next packet
    const got = keeps('full', [
      { from: CLI, to: API, dir: DIR_OUT, payload: head },
      { from: CLI, to: API, dir: DIR_OUT, payload: '\n\r\n' + REQ_BODY },
    ]);
    expect(got).toEqual([HDRS + head.length, HDRS + 3]);
  });

  it('a CR inside a line does not end the head early', () => {
    const weird = 'GET / HTTP/1.1\r\nX: a\r\r\n\r\nBODY';
    const got = keeps('head', [{ from: CLI, to: API, dir: DIR_OUT, payload: weird }]);
    expect(got).toEqual([HDRS + weird.length - 4]);
  });

  it('configured API ports count too, at either end; bytes there that open no HTTP message keep headers only', () => {
    const alt: Ep = { ip: '10.0.0.9', port: 8081 };
    const got = keeps('full', [
      { from: alt, to: C, dir: DIR_IN, payload: 'HTTP/1.1 200 OK\r\n\r\nbody' },
      { from: C, to: alt, dir: DIR_OUT, payload: Buffer.alloc(HEAD_BYTES) },
      { from: C, to: alt, dir: DIR_OUT, payload: Buffer.alloc(10) },
    ], [11434, 8081]);
    expect(got).toEqual([HDRS + 'HTTP/1.1 200 OK\r\n\r\n'.length, HDRS, HDRS]);
  });

  for (const policy of ['head', 'full'] as const) {
    it(`${policy}: bytes that do not parse as HTTP keep headers only, from the first packet on, in both directions`, () => {
      const req = { from: CLI, to: API, dir: DIR_OUT };
      const resp = { from: API, to: CLI, dir: DIR_IN };
      const marker = 'PROMPT-MARKER-not-http\n';
      expect(keeps(policy, [{ ...req, payload: marker }, { ...req, payload: REQ_HEAD }, { ...resp, payload: 'HTTP/1.1 400 Bad Request\r\n\r\n' }]))
        .toEqual([HDRS, HDRS, HDRS + 'HTTP/1.1 400 Bad Request\r\n\r\n'.length]);
      // Words before a line end that are no request line; a known method without HTTP/1.x; a TLS ClientHello.
      for (const first of ['hello PROMPT MARKER\r\n\r\n', 'POST PROMPT-MARKER\r\n\r\n', Buffer.from('16030100a5010000a10303', 'hex'), 'PO']) {
        expect(keeps(policy, [{ ...req, payload: first }, { ...req, payload: 'more PROMPT-MARKER' }]), String(first)).toEqual([HDRS, HDRS]);
      }
      expect(keeps(policy, [{ ...resp, payload: 'HTTP/9 PROMPT\r\n\r\n' }])).toEqual([HDRS]);
    });
  }

  it('the check waits for the first packet with captured payload (one the snapshot length cut to headers says nothing)', () => {
    const st = newEvidenceFlowState();
    const cut = tcpPacket(CLI, API, 'PROMPT-MARKER not http\n');
    const dc = decoded(cut);
    Object.assign(dc, { payloadLen: 0 }); // the capture kept none of its payload; the wire carried it
    expect(keepBytes('full', st, DIR_OUT, cut, dc, API_PORTS)).toBe(HDRS);
    const next = tcpPacket(CLI, API, 'more PROMPT-MARKER\n');
    expect(keepBytes('full', st, DIR_OUT, next, decoded(next), API_PORTS)).toBe(HDRS);
  });

  it('a head whose request line goes on past the first packet still counts once it shows a method and a space', () => {
    const long = `GET /api/tags?${'x'.repeat(100)}`;
    const rest = ' HTTP/1.1\r\nHost: h\r\n\r\n';
    expect(keeps('full', [{ from: CLI, to: API, dir: DIR_OUT, payload: long }, { from: CLI, to: API, dir: DIR_OUT, payload: rest + 'BODY' }]))
      .toEqual([HDRS + long.length, HDRS + rest.length]);
  });

  it('without the port in apiPorts the same bytes from a LAN client are kept whole under full (the port rule is what cuts)', () => {
    const lanApi: Ep = { ip: '192.168.1.20', port: 11434 };
    const lanCli: Ep = { ip: '192.168.1.77', port: 51000 };
    const got = keeps('full', [{ from: lanCli, to: lanApi, dir: DIR_OUT, payload: REQ_HEAD + REQ_BODY }], []);
    expect(got).toEqual([HDRS + REQ_HEAD.length + REQ_BODY.length]);
    expect(keeps('full', [{ from: lanCli, to: lanApi, dir: DIR_OUT, payload: REQ_HEAD + REQ_BODY }])).toEqual([HDRS + REQ_HEAD.length]);
  });
});

describe('evidence policy: loopback HTTP on any port (server <-> runner, local API clients)', () => {
  for (const policy of ['head', 'full'] as const) {
    it(`${policy}: a runner's POST /completion on an ephemeral loopback port keeps heads, never bodies`, () => {
      const SERVER: Ep = { ip: '127.0.0.1', port: 50560 };
      const RUNNER: Ep = { ip: '127.0.0.1', port: 41107 };
      const head = 'POST /completion HTTP/1.1\r\nHost: 127.0.0.1:41107\r\nContent-Length: 40\r\n\r\n';
      const got = keeps(policy, [
        { from: SERVER, to: RUNNER, dir: DIR_OUT, payload: head + REQ_BODY },
        { from: RUNNER, to: SERVER, dir: DIR_IN, payload: 'HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n{"content":"SECRET-ANSWER"}' },
      ], []);
      expect(got).toEqual([HDRS + head.length, HDRS + 'HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n'.length]);
    });
  }

  it('a flow with one non-loopback end is judged by the port rule as before', () => {
    const lan: Ep = { ip: '192.168.1.5', port: 41107 };
    const got = keeps('full', [{ from: CLI, to: lan, dir: DIR_OUT, payload: 'POST /completion HTTP/1.1\r\n\r\n' + REQ_BODY }], []);
    expect(got).toEqual([HDRS + 'POST /completion HTTP/1.1\r\n\r\n'.length + REQ_BODY.length]);
  });
});
