import { newFlowWords, type Flow } from '../../src/flows/flow.js';

/** A Flow with every contract field set, for tests that build flows by hand. */
export function makeFlow(over: Partial<Flow> = {}): Flow {
  return {
    id: 1, proto: 6, ipVersion: 4,
    initiatorAddr: Buffer.from([192, 0, 2, 1]), responderAddr: Buffer.from([203, 0, 113, 10]),
    initiatorPort: 40000, responderPort: 443, initiatorBy: 'syn', iface: 0, ifaces: null,
    firstSeen: 1_700_000_000_000_000, lastSeen: 1_700_000_001_500_000,
    packetsOut: 10, packetsIn: 12, bytesOut: 1000, bytesIn: 20000, payloadOut: 500, payloadIn: 19000,
    tcpState: 0, words: newFlowWords(1), at: 0, lossAt: 0, communityId: '1:test',
    tcpLossHoles: null,
    hostname: null, hostnameSource: null, sni: null, alpn: null,
    httpMethod: null, httpPath: null, httpHost: null, httpStatus: null,
    connectHost: null, connectPort: null, dnsName: null,
    process: null, peerProcess: null, effectiveProcess: null, enrich: null, closed: true,
    ...over,
  };
}
