import { describe, expect, it } from 'vitest';
import type { Flow } from '../../src/flows/flow.js';
import { TCP_STATE_ESTABLISHED, TCP_STATE_SYN, TCP_STATE_SYNACK } from '../../src/flows/flow.js';
import { classifyFlow } from '../../src/classify/classify.js';
import { makeFlow } from '../helpers/make-flow.js';

const LAN_HOST = Buffer.from([192, 168, 1, 20]);
const LAN_PEER = Buffer.from([192, 168, 1, 77]);
const REMOTE = Buffer.from([104, 21, 75, 227]);
const LO4 = Buffer.from([127, 0, 0, 1]);
const LO6 = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const RESOLVER = Buffer.from([192, 168, 1, 1]);

/** A TCP flow from this host to a remote HTTPS server; override what a case needs. */
function flow(over: Partial<Flow> = {}): Flow {
  return makeFlow({
    initiatorAddr: LAN_HOST, responderAddr: REMOTE, initiatorPort: 51234, responderPort: 443,
    firstSeen: 1_700_000_000_000_000, lastSeen: 1_700_000_001_000_000, bytesOut: 1500, bytesIn: 9000,
    payloadOut: 900, payloadIn: 8000, tcpState: TCP_STATE_SYN | TCP_STATE_SYNACK | TCP_STATE_ESTABLISHED,
    communityId: '1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    ...over,
  });
}

function tls(host: string, over: Partial<Flow> = {}): Flow {
  return flow({ hostname: host, hostnameSource: 'sni', sni: host, alpn: ['h2', 'http/1.1'], ...over });
}

const SERVER = { pid: 812, name: 'ollama', exe: '/usr/local/bin/ollama' };

describe('registry and blob CDN', () => {
  it('TLS to registry.ollama.ai is registry, citing the source', () => {
    const c = classifyFlow(tls('registry.ollama.ai'));
    expect(c.activity).toBe('registry');
    expect(c.ollama).toBe(true);
    expect(c.reason).toContain('TLS SNI registry.ollama.ai');
    expect(c.reason).toContain('[src] types/model/name.go');
  });

  it('a name learned only from DNS still counts', () => {
    const c = classifyFlow(flow({ hostname: 'Registry.Ollama.AI.', hostnameSource: 'dns', dnsName: 'Registry.Ollama.AI.' }));
    expect(c.activity).toBe('registry');
    expect(c.reason).toContain('DNS name registry.ollama.ai');
  });

  it('an R2 host is blob-download; a look-alike is not', () => {
    expect(classifyFlow(tls('dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com')).activity).toBe('blob-download');
    const fake = classifyFlow(tls('evilr2.cloudflarestorage.com'));
    expect(fake.activity).toBe('other');
    expect(fake.ollama).toBe(false);
  });

  it('a host a plaintext registry 307 pointed at is blob-download (Set or array context)', () => {
    const f = flow({ responderPort: 80, hostname: 'cdn.example.net', hostnameSource: 'http', httpHost: 'cdn.example.net',
      httpMethod: 'GET', httpPath: '/blobs/abc?sig=1', httpStatus: 206 });
    expect(classifyFlow(f).activity).toBe('other');
    const viaSet = classifyFlow(f, { redirectHosts: new Set(['cdn.example.net']) });
    expect(viaSet.activity).toBe('blob-download');
    expect(viaSet.ollama).toBe(true);
    expect(viaSet.reason).toContain('307');
    expect(classifyFlow(f, { redirectHosts: ['CDN.Example.NET.'] }).activity).toBe('blob-download');
    expect(classifyFlow(f, { redirectHosts: ['other.example.net'] }).activity).toBe('other');
  });

  it('a private registry is recognised by its /v2/ path on plaintext', () => {
    const f = flow({ responderAddr: LAN_PEER, responderPort: 5000, hostname: 'myreg', hostnameSource: 'http',
      httpHost: 'myreg:5000', httpMethod: 'GET', httpPath: '/v2/team/model/manifests/latest', httpStatus: 200 });
    const c = classifyFlow(f);
    expect(c.activity).toBe('registry');
    expect(c.reason).toContain('private registry');
    expect(c.reason).toContain('myreg');
    // The same host with a non-registry path is nothing we know.
    expect(classifyFlow({ ...f, httpPath: '/index.html' }).activity).toBe('other');
  });
});

describe('ollama.com', () => {
  it('over TLS the reason says TLS hides which call it was', () => {
    const c = classifyFlow(tls('ollama.com'));
    expect(c.activity).toBe('ollama-com');
    expect(c.ollama).toBe(true);
    expect(c.reason).toContain('TLS hides which');
  });

  it('with a plaintext path (proxy forwarding) the reason is specific', () => {
    const f = flow({ responderAddr: LAN_PEER, responderPort: 3128, hostname: 'ollama.com', hostnameSource: 'http',
      httpHost: 'ollama.com', httpMethod: 'GET',
      httpPath: 'http://ollama.com/api/update?os=darwin&arch=arm64&version=0.9.0&ts=1&nonce=n' });
    const c = classifyFlow(f);
    expect(c.activity).toBe('ollama-com');
    expect(c.reason).toContain('update check');
    expect(c.reason).toContain('via proxy');
    expect(c.reason).not.toContain('TLS hides');

    const rec = classifyFlow({ ...f, httpPath: 'http://ollama.com/api/experimental/model-recommendations' });
    expect(rec.reason).toContain('model recommendations');
  });

  it('api.ollama.ai (a claim from the wild) is flagged as not in the source', () => {
    const c = classifyFlow(tls('api.ollama.ai'));
    expect(c.ollama).toBe(true);
    expect(c.reason).toContain('claimed in the wild');
  });
});

describe('proxy CONNECT', () => {
  const viaProxy = { responderAddr: LAN_PEER, responderPort: 3128 };

  it('CONNECT to the registry takes the registry activity and says via proxy', () => {
    const c = classifyFlow(flow({ ...viaProxy, connectHost: 'registry.ollama.ai', connectPort: 443,
      hostname: 'registry.ollama.ai', hostnameSource: 'sni', sni: 'registry.ollama.ai' }));
    expect(c.activity).toBe('registry');
    expect(c.ollama).toBe(true);
    expect(c.reason).toContain('via proxy');
    expect(c.reason).toContain('registry.ollama.ai:443');
  });

  it('CONNECT to the blob CDN is blob-download', () => {
    const c = classifyFlow(flow({ ...viaProxy, connectHost: 'abc.r2.cloudflarestorage.com', connectPort: 443 }));
    expect(c.activity).toBe('blob-download');
  });

  it('CONNECT to anything else is proxy-connect, Ollama\'s only when an Ollama process made it', () => {
    const c = classifyFlow(flow({ ...viaProxy, connectHost: 'example.org', connectPort: 443 }));
    expect(c.activity).toBe('proxy-connect');
    expect(c.ollama).toBe(false);
    expect(c.reason).toContain('example.org:443');
    const byServer = classifyFlow(flow({ ...viaProxy, connectHost: 'example.org', connectPort: 443, process: SERVER }));
    expect(byServer.ollama).toBe(true);
  });
});

describe('DNS', () => {
  const dnsFlow = flow({ proto: 17, responderAddr: RESOLVER, responderPort: 53, initiatorPort: 40000,
    initiatorBy: 'port', tcpState: 0 });

  it('a DNS flow asking for an Ollama name is dns', () => {
    const c = classifyFlow(dnsFlow, { dnsQueries: ['example.org', 'registry.ollama.ai.'] });
    expect(c.activity).toBe('dns');
    expect(c.ollama).toBe(true);
    expect(c.reason).toContain('registry.ollama.ai');
  });

  it('mDNS and LLMNR ports count too', () => {
    expect(classifyFlow({ ...dnsFlow, responderPort: 5353, initiatorPort: 5353 }, { dnsQueries: ['ollama.com'] }).activity).toBe('dns');
    expect(classifyFlow({ ...dnsFlow, responderPort: 5355 }, { dnsQueries: ['ollama.com'] }).activity).toBe('dns');
  });

  it('DNS for other names, or with no queries known, is other', () => {
    const c = classifyFlow(dnsFlow, { dnsQueries: ['example.org'] });
    expect(c.activity).toBe('other');
    expect(c.ollama).toBe(false);
    expect(classifyFlow(dnsFlow).activity).toBe('other');
    expect(classifyFlow(dnsFlow, { dnsQueries: ['evilollama.com'] }).activity).toBe('other');
  });
});

describe('API port', () => {
  const api = { initiatorAddr: LO4, responderAddr: LO4, initiatorPort: 50000, responderPort: 11434 };

  it('a connection to 11434 without a request seen is api', () => {
    const c = classifyFlow(flow(api));
    expect(c.activity).toBe('api');
    expect(c.ollama).toBe(true);
  });

  it('names the route, without the query string', () => {
    const c = classifyFlow(flow({ ...api, httpMethod: 'POST', httpPath: '/api/pull?insecure=true' }));
    expect(c.activity).toBe('api:/api/pull');
    expect(c.reason).toContain('registry.ollama.ai');
  });

  it('maps parametric routes', () => {
    const digest = 'sha256:' + 'c0'.repeat(32);
    expect(classifyFlow(flow({ ...api, httpMethod: 'HEAD', httpPath: `/api/blobs/${digest}` })).activity)
      .toBe('api:/api/blobs/:digest');
    expect(classifyFlow(flow({ ...api, httpMethod: 'GET', httpPath: '/v1/models/llama3:8b' })).activity)
      .toBe('api:/v1/models/:model');
  });

  it('an unknown path is plain api (activities stay a small set), quoted without query in the reason', () => {
    const c = classifyFlow(flow({ ...api, httpMethod: 'GET', httpPath: '/nope?x=1' }));
    expect(c.activity).toBe('api');
    expect(c.reason).toContain('GET /nope on the Ollama API port');
    expect(c.reason).not.toContain('x=1');
  });

  it('says when the client is not on loopback', () => {
    const c = classifyFlow(flow({ ...api, initiatorAddr: LAN_PEER, responderAddr: LAN_HOST, httpMethod: 'GET', httpPath: '/' }));
    expect(c.activity).toBe('api:/');
    expect(c.reason).toContain('non-loopback');
  });

  it('honours configured API ports, and only those', () => {
    const f = flow({ ...api, responderPort: 9000, httpMethod: 'POST', httpPath: '/api/chat' });
    expect(classifyFlow(f, { apiPorts: [9000] }).activity).toBe('api:/api/chat');
    expect(classifyFlow(f).activity).toBe('other');
  });
});

describe('runner', () => {
  const lo = { initiatorAddr: LO4, responderAddr: LO4, initiatorPort: 50010, responderPort: 41234 };

  it('loopback HTTP to a runner endpoint is runner, marked inferred', () => {
    const c = classifyFlow(flow({ ...lo, hostname: '127.0.0.1', hostnameSource: 'http', httpHost: '127.0.0.1:41234',
      httpMethod: 'POST', httpPath: '/completion' }));
    expect(c.activity).toBe('runner');
    expect(c.ollama).toBe(true);
    expect(c.reason).toContain('[inferred]');
  });

  it('loopback TCP of the server or a runner process is runner, over IPv6 too', () => {
    expect(classifyFlow(flow({ ...lo, process: SERVER })).activity).toBe('runner');
    expect(classifyFlow(flow({ ...lo, ipVersion: 6, initiatorAddr: LO6, responderAddr: LO6,
      process: { pid: 900, name: 'llama-server', exe: '/usr/lib/ollama/llama-server' } })).activity).toBe('runner');
  });

  it('loopback traffic of an unrelated process is other', () => {
    const c = classifyFlow(flow({ ...lo, process: { pid: 5, name: 'node', exe: '/usr/bin/node' } }));
    expect(c.activity).toBe('other');
    expect(c.ollama).toBe(false);
  });

  it('a local client of the Ollama server on a port not given as an API port: the client\'s flow, but it involves Ollama', () => {
    const curl = { pid: 77, name: 'curl', exe: '/usr/bin/curl' };
    const c = classifyFlow(flow({ ...lo, responderPort: 8080, process: curl, peerProcess: SERVER }));
    expect(c).toMatchObject({ activity: 'other', ollama: true });
    expect(c.reason).toContain('curl to ollama (server');
    // The client is not the server: no runner traffic is made of it.
    expect(classifyFlow(flow({ ...lo, responderPort: 8080, process: curl, peerProcess: null })).ollama).toBe(false);
  });

  it('a runner path is not enough when one end is not loopback', () => {
    const c = classifyFlow(flow({ responderPort: 8081, httpMethod: 'GET', httpPath: '/health' }));
    expect(c.activity).toBe('other');
  });
});

describe('other', () => {
  it('an unknown destination with no Ollama process is other and not ollama', () => {
    const c = classifyFlow(tls('example.org'));
    expect(c).toMatchObject({ activity: 'other', ollama: false });
    expect(c.reason).toContain('example.org');
  });

  it('an unknown destination reached by an Ollama process is other but ollama', () => {
    const c = classifyFlow(tls('huggingface.co', { process: SERVER }));
    expect(c).toMatchObject({ activity: 'other', ollama: true });
    expect(c.reason).toContain('Ollama tree');
  });

  it('the process is recognised by its exe when the name is not', () => {
    const c = classifyFlow(tls('example.org', { process: { pid: 7, name: 'weird-comm', exe: '/opt/x/llama-server' } }));
    expect(c.ollama).toBe(true);
  });

  it('a process in the tree does not change an ollama activity', () => {
    const c = classifyFlow(tls('registry.ollama.ai', { process: SERVER }), { processCmdline: ['ollama', 'serve'] });
    expect(c.activity).toBe('registry');
  });
  it('a port-less protocol (GRE) is named by its IP protocol number, not "port 0"', () => {
    const c = classifyFlow(flow({ proto: 47, initiatorPort: 0, responderPort: 0, tcpState: 0 }));
    expect(c.reason).toBe('IP protocol 47: no Ollama destination, port or process recognised');
  });

  it('an ICMP message by an Ollama process names the message and the process', () => {
    const c = classifyFlow(flow({ proto: 1, initiatorPort: 8, responderPort: 0, tcpState: 0, process: SERVER }));
    expect(c).toMatchObject({ activity: 'other', ollama: true });
    expect(c.reason).toBe('ICMP echo request (8) by ollama (server) in the Ollama tree: not an Ollama destination');
  });
});
