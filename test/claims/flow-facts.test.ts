/**
 * The claims engine's flow columns (src/claims/flow-facts.ts): what goes in comes out per flow,
 * flows of one kind share one kind object, and more flows than counted (a live capture writing
 * between the count and the read) grow the columns instead of failing. The end-to-end cases (a
 * 200k-flow store judged under a 64 MB heap) are in test/store/big-store.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FlowFacts, type FlowKind } from '../../src/claims/flow-facts.js';

function kind(activity: string, direction: FlowKind['direction']): FlowKind {
  return {
    proto: 6, responderPort: 11434, activity, hostname: null, names: [], dnsQueries: [], direction, viaProxy: false,
    answered: true, connState: 'SF', history: 'ShADadFf', outcome: 'connected', owner: null, attributable: true,
    process: null, peerProcess: null, isApi: activity.startsWith('api'),
  };
}

describe('FlowFacts', () => {
  it('gives back each flow\'s own values and its kind; 1000 flows counted as 1 grow the columns', () => {
    const facts = new FlowFacts(1);
    let made = 0;
    for (let i = 0; i < 1000; i++) {
      const inbound = i % 2 === 1;
      facts.push(
        { id: 10 + i, seq: i, firstSeen: 1e15 + i, lastSeen: 1e15 + i + 5, bytes: 100 * i, initiatorAddr: `10.0.0.${i % 7}`, responderAddr: '127.0.0.1', farPort: 40000 + i },
        inbound ? 'in' : 'out',
        () => { made++; return kind(inbound ? 'api:/api/chat' : 'api', inbound ? 'inbound' : 'loopback'); },
      );
    }
    expect(facts.length).toBe(1000);
    expect(made).toBe(2);
    const f = facts.at(999);
    expect([f.id, f.seq, f.firstSeen, f.lastSeen, f.bytes, f.initiatorAddr, f.farAddr, f.farPort, f.activity, f.direction])
      .toEqual([1009, 999, 1e15 + 999, 1e15 + 1004, 99900, '10.0.0.5', '10.0.0.5', 40999, 'api:/api/chat', 'inbound']);
    const g = facts.at(998);
    expect([g.farAddr, g.activity, g.direction]).toEqual(['127.0.0.1', 'api', 'loopback']);
    const kept = facts.pick((v) => v.direction === 'inbound' && v.bytes >= 99_000);
    expect(Array.from(kept, (i) => facts.at(i).id)).toEqual([1001, 1003, 1005, 1007, 1009]);
    expect(Array.from(facts.pick((v) => v.id % 3 === 0, kept), (i) => facts.idAt(i))).toEqual([1005]);
    expect(facts.some((v) => v.id === 1009)).toBe(true);
    let sum = 0;
    facts.scan((v) => { sum += v.bytes; });
    expect(sum).toBe(100 * (999 * 1000) / 2);
  });
});
