/**
 * ClientHellos made by real TLS stacks (OpenSSL's s_client, Node's tls) with known SNI/ALPN:
 * the expected values are what the programs were told to send.
 */
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEnricher } from '../../src/enrich/enricher.js';
import { createDnsCache, addrKey } from '../../src/enrich/dns-cache.js';
import {
  newClientHelloInfo, parseClientHello, TLS_NEED_MORE, TLS_NOT_TLS, TLS_PARSED,
} from '../../src/enrich/tls-client-hello.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { TCP_SYN, TCP_ACK } from '../../src/decode/decoded.js';
import { describeNeeding } from '../helpers/needs.js';
import { makeFlow, recorder, run, tcp } from './helpers.js';
import { clientHelloComplete, recordFirstConnection } from './real-clients.js';

/** 60 extra ALPN names make the ClientHello big, as post-quantum key shares do. */
const MANY_ALPN = Array.from({ length: 60 }, (_, i) => `proto-${String(i + 1).padStart(3, '0')}`);

function opensslHello(args: string[]): Promise<Buffer> {
  return recordFirstConnection(
    (port) => run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], 10_000),
    (all) => clientHelloComplete(all),
  );
}

function nodeHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  return recordFirstConnection(
    (port) => new Promise<void>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, ...opts });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    }),
    (all) => clientHelloComplete(all),
  );
}

/** Splits `data` at the given offsets. */
function cut(data: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of [...at, data.length]) { out.push(data.subarray(prev, a)); prev = a; }
  return out;
}

describe('ClientHello from Node tls', () => {
  it('gives SNI, ALPN and versions', async () => {
    const hello = await nodeHello({ servername: 'Ollama.COM', ALPNProtocols: ['h2', 'http/1.1'] });
    const info = newClientHelloInfo();
    expect(parseClientHello(hello, 0, hello.length, info)).toBe(TLS_PARSED);
    expect(info.sni).toBe('ollama.com');
    expect(info.alpn).toEqual(['h2', 'http/1.1']);
    expect(info.legacyVersion).toBe(0x0303);
    // Node 20 offers TLS 1.3 and 1.2 by default (tls.DEFAULT_MIN_VERSION is TLSv1.2).
    expect(info.supportedVersions).toEqual([0x0304, 0x0303]);
  });

  it('every strict prefix needs more; corrupted copies never throw', async () => {
    const hello = await nodeHello({ servername: 'registry.ollama.ai' });
    const info = newClientHelloInfo();
    for (let n = 0; n < hello.length; n++) {
      expect(parseClientHello(hello, 0, n, info)).toBe(TLS_NEED_MORE);
    }
    // Deterministic corruption: each byte in turn set to 0xff, then to 0x00.
    for (let i = 0; i < hello.length; i++) {
      for (const v of [0xff, 0x00]) {
        const bad = Buffer.from(hello);
        bad[i] = v;
        const r = parseClientHello(bad, 0, bad.length, info);
        expect([TLS_NEED_MORE, TLS_PARSED, TLS_NOT_TLS]).toContain(r);
        // The SNI bytes themselves may change; anything reported must still be a DNS-name shape.
        if (r === TLS_PARSED && info.sni !== null) expect(info.sni).toMatch(/^[a-z0-9._-]+$/);
      }
    }
  });

  it('is not TLS when it starts with an HTTP request or an SSH banner', () => {
    const info = newClientHelloInfo();
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const ssh = Buffer.from('SSH-2.0-OpenSSH_9.2\r\n');
    expect(parseClientHello(http, 0, http.length, info)).toBe(TLS_NOT_TLS);
    expect(parseClientHello(ssh, 0, ssh.length, info)).toBe(TLS_NOT_TLS);
  });
});

describeNeeding(['openssl'], 'ClientHello from openssl s_client', () => {
  let big: Buffer;
  beforeAll(async () => {
    // ffdhe8192 puts a 1 KiB key share in (OpenSSL 3.0 sends a share for the first group only);
    // -max_send_frag 512 makes s_client split the handshake message over several TLS records.
    big = await opensslHello(['-servername', 'registry.ollama.ai', '-alpn', ['h2', 'http/1.1', ...MANY_ALPN].join(','),
      '-groups', 'ffdhe8192:x25519', '-max_send_frag', '512']);
  });

  it('reads a small one', async () => {
    const hello = await opensslHello(['-servername', 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com',
      '-alpn', 'h2,http/1.1']);
    const info = newClientHelloInfo();
    expect(parseClientHello(hello, 0, hello.length, info)).toBe(TLS_PARSED);
    expect(info.sni).toBe('dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com');
    expect(info.alpn).toEqual(['h2', 'http/1.1']);
    expect(info.recordVersion).toBe(0x0301);
  });

  it('reports no SNI when none is sent', async () => {
    const hello = await opensslHello(['-noservername']);
    const info = newClientHelloInfo();
    expect(parseClientHello(hello, 0, hello.length, info)).toBe(TLS_PARSED);
    expect(info.sni).toBeNull();
    expect(info.alpn).toBeNull();
  });

  it('reads a > 1.8 KB hello spread over several records', () => {
    expect(big.length).toBeGreaterThan(1800);
    expect(big.readUInt16BE(3)).toBe(512); // really several records
    const info = newClientHelloInfo();
    expect(parseClientHello(big, 0, big.length, info)).toBe(TLS_PARSED);
    expect(info.sni).toBe('registry.ollama.ai');
    expect(info.alpn).toEqual(['h2', 'http/1.1', ...MANY_ALPN]);
  });

  it('names the flow through the enricher from out-of-order, overlapping segments', () => {
    const sink = recorder();
    const cache = createDnsCache();
    const flow = makeFlow({ responderPort: 443 });
    cache.add(addrKey('93.184.216.34') as string, { name: 'cdn.example', aliases: [], ts: 0, ttl: 300 });
    const e = createEnricher(sink, { dnsCache: cache });
    e.onFlowOpen(flow);
    expect(flow.hostname).toBe('cdn.example');
    expect(flow.hostnameSource).toBe('dns');
    const isn = 7_000_000;
    tcp(e, flow, DIR_OUT, isn, Buffer.alloc(0), 1, TCP_SYN);
    tcp(e, flow, DIR_IN, 123, Buffer.alloc(0), 2, TCP_SYN | TCP_ACK);
    const [a, b, c, d] = cut(big, [600, 1200, 1500]);
    tcp(e, flow, DIR_OUT, isn + 1 + 1500, d, 10);
    tcp(e, flow, DIR_OUT, isn + 1 + 600, b, 11);
    // The server's bytes do not matter to a TLS flow.
    tcp(e, flow, DIR_IN, 124, Buffer.from('\x16\x03\x03\x00\x02\x02\x00'), 12);
    expect(flow.sni).toBeNull();
    tcp(e, flow, DIR_OUT, isn + 1, a, 13);
    expect(flow.sni).toBeNull(); // 1200..1500 still missing
    // A retransmission overlapping what is there and reaching into the hole.
    tcp(e, flow, DIR_OUT, isn + 1 + 1100, big.subarray(1100, 1400), 14);
    expect(flow.sni).toBeNull();
    tcp(e, flow, DIR_OUT, isn + 1 + 1200, c, 15);
    expect(flow.sni).toBe('registry.ollama.ai');
    expect(flow.alpn).toEqual(['h2', 'http/1.1', ...MANY_ALPN]);
    expect(flow.hostname).toBe('registry.ollama.ai');
    expect(flow.hostnameSource).toBe('sni');
    expect(flow.dnsName).toBe('cdn.example');
    expect(flow.enrich).toBeNull(); // done: later packets cost nothing
    expect(e.stats.clientHellos).toBe(1);
  });

  it('reports nothing while a middle segment is missing, even with a SYN-less start', () => {
    const e = createEnricher(recorder());
    const flow = makeFlow();
    e.onFlowOpen(flow);
    const [a, , c, d] = cut(big, [500, 1000, 1500]);
    const isn = 0xfffffe00; // wraps
    tcp(e, flow, DIR_OUT, isn + 1, a, 1);
    tcp(e, flow, DIR_OUT, isn + 1 + 1000, c, 2);
    tcp(e, flow, DIR_OUT, isn + 1 + 1500, d, 3);
    tcp(e, flow, DIR_OUT, isn + 1 + 1500, d, 4);
    tcp(e, flow, DIR_OUT, isn + 1 + 400, big.subarray(400, 700), 5); // grows the prefix, the hole stays
    expect(flow.sni).toBeNull();
    expect(flow.hostname).toBeNull();
    expect(flow.enrich).not.toBeNull();
    e.onFlowClose(flow);
    expect(flow.sni).toBeNull();
    expect(flow.enrich).toBeNull();
  });
});
