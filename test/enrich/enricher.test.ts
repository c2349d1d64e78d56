import { describe, expect, it } from 'vitest';
import { addrKey, createDnsCache } from '../../src/enrich/dns-cache.js';
import { createEnricher } from '../../src/enrich/enricher.js';
import { offerHostname, splitHostPort } from '../../src/enrich/naming.js';
import { IPPROTO } from '../../src/decode/decoded.js';
import { DIR_IN, DIR_OUT } from '../../src/flows/flow.js';
import { makeFlow, recorder, tcp, udp } from './helpers.js';

describe('naming precedence', () => {
  it('sni > connect > http > dns, whatever the order they come in', () => {
    const f = makeFlow();
    offerHostname(f, 'http', 'from-host');
    offerHostname(f, 'dns', 'from-dns');
    expect([f.hostname, f.hostnameSource]).toEqual(['from-host', 'http']);
    offerHostname(f, 'sni', 'from-sni');
    offerHostname(f, 'connect', 'from-connect');
    offerHostname(f, 'sni', 'second-sni');
    expect([f.hostname, f.hostnameSource]).toEqual(['from-sni', 'sni']);
  });

  it('splits host and port as written in Host and CONNECT', () => {
    expect(splitHostPort('registry.ollama.ai:443')).toEqual({ host: 'registry.ollama.ai', port: 443 });
    expect(splitHostPort('localhost')).toEqual({ host: 'localhost', port: NaN });
    expect(splitHostPort('[::1]:11434')).toEqual({ host: '::1', port: 11434 });
    expect(splitHostPort('::1')).toEqual({ host: '::1', port: NaN });
    expect(splitHostPort('h:99999')).toEqual({ host: 'h', port: NaN });
  });
});

describe('enricher', () => {
  it('watches nothing on a UDP flow that is not DNS-shaped, or ICMP, but still names them from DNS', () => {
    const cache = createDnsCache();
    cache.add(addrKey('93.184.216.34') as string, { name: 'example.com', aliases: [], ts: 0, ttl: 60 });
    const sink = recorder();
    const e = createEnricher(sink, { dnsCache: cache });
    const quic = makeFlow({ proto: IPPROTO.UDP, responderPort: 443 });
    const ping = makeFlow({ id: 2, proto: IPPROTO.ICMP, responderPort: 0 });
    e.onFlowOpen(quic);
    e.onFlowOpen(ping);
    expect(quic.enrich).toBeNull();
    expect(ping.enrich).toBeNull();
    expect([quic.hostname, quic.hostnameSource, quic.dnsName]).toEqual(['example.com', 'dns', 'example.com']);
    udp(e, quic, DIR_OUT, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 5);
    expect(sink.httpRecs).toHaveLength(0);
  });

  it('treats mDNS (5353) as DNS and reads its unsolicited announcements', async () => {
    const dnsPacket = (await import('dns-packet')).default;
    const e = createEnricher(recorder());
    const f = makeFlow({ proto: IPPROTO.UDP, initiatorPort: 5353, responderPort: 5353 });
    e.onFlowOpen(f);
    udp(e, f, DIR_OUT, dnsPacket.encode({ type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER,
      answers: [{ type: 'A', name: 'printer.local', ttl: 120, data: '192.168.1.50' }] }), 10);
    expect(e.dnsCache.nameFor(Buffer.from([192, 168, 1, 50]), 4, 20)).toBe('printer.local');
  });

  it('ignores packets once a flow is done, and tolerates a flow it was never told about', () => {
    const sink = recorder();
    const e = createEnricher(sink);
    const f = makeFlow({ responderPort: 80 });
    e.onFlowOpen(f);
    tcp(e, f, DIR_OUT, 1, Buffer.from('SSH-2.0-x\r\n'), 1);
    expect(f.enrich).toBeNull();
    tcp(e, f, DIR_OUT, 12, Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), 2);
    const stranger = makeFlow({ id: 9, enrich: undefined });
    tcp(e, stranger, DIR_IN, 1, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), 3);
    e.onFlowClose(stranger);
    expect(sink.httpRecs).toHaveLength(0);
    expect(f.hostname).toBeNull();
  });

  it('gives up on a server-speaks-first flow once the server has filled its head', () => {
    const e = createEnricher(recorder());
    const f = makeFlow({ responderPort: 25 });
    e.onFlowOpen(f);
    const banner = Buffer.alloc(1400, 0x41);
    for (let i = 0; i < 12; i++) tcp(e, f, DIR_IN, 1 + i * 1400, banner, i);
    expect(f.enrich).toBeNull();
  });
});
