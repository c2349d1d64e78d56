/**
 * Zeek's conn_state and history from synthetic packets, one case per state. Expected values are
 * Zeek's definitions (base/protocols/conn/main.zeek) applied by hand to each packet sequence.
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE } from '../../src/capture/packet.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts } from '../../src/decode/decoded.js';
import { connOutcome, connStateOf, historyOf } from '../../src/flows/conn-state.js';
import { createFlowTable } from '../../src/flows/flow-table.js';
import type { Flow } from '../../src/flows/flow.js';
import { trackTcpLoss } from '../../src/flows/tcp-loss.js';
import { ipv4, packet, tcp, udp } from '../decode/frames.js';

const F = 0x01;
const S = 0x02;
const R = 0x04;
const P = 0x08;
const A = 0x10;

/** [from initiator?, flags, payload length, seq, ack, window] */
type Step = [boolean, number, number?, number?, number?, number?];

const C = { ip: '192.0.2.1', port: 40000 };
const SV = { ip: '203.0.113.10', port: 443 };

/** Runs the steps through the flow table and TCP loss tracking, as ingest does; returns the one flow. */
function run(steps: Step[]): Flow {
  const t = createFlowTable();
  const d = newDecoded();
  let flow: Flow | null = null;
  steps.forEach(([out, flags, len = 0, seq = 0, ack = 0, window], i) => {
    const [a, b] = out ? [C, SV] : [SV, C];
    const seg = tcp({ sport: a.port, dport: b.port, flags, seq, ack, window, payload: Buffer.alloc(len, 0x61) });
    const p = packet(LINKTYPE.RAW, ipv4({ src: a.ip, dst: b.ip, proto: 6, payload: seg }), { ts: 1.7e15 + i * 1000 });
    if (!decodePacket(p, d, newSkipCounts())) throw new Error('did not decode');
    const f = t.ingest(p, d);
    trackTcpLoss(f, t.lastDir, d);
    if (flow !== null && f !== flow) throw new Error('steps made more than one flow');
    flow = f;
  });
  return flow!;
}

const state = (steps: Step[]) => {
  const f = run(steps);
  return [connStateOf(f), historyOf(f)];
};

// A handshake with real sequence numbers (client ISN 1000, server ISN 5000).
const HANDSHAKE: Step[] = [[true, S, 0, 1000], [false, S | A, 0, 5000, 1001], [true, A, 0, 1001, 5001]];
const EXCHANGE: Step[] = [...HANDSHAKE, [true, P | A, 100, 1001, 5001], [false, P | A, 300, 5001, 1101]];

describe('conn_state (Zeek definitions) and history from synthetic TCP', () => {
  it('SF: normal establishment and termination', () => {
    expect(state([...EXCHANGE, [true, F | A, 0, 1101, 5301], [false, F | A, 0, 5301, 1102], [true, A, 0, 1102, 5302]]))
      .toEqual(['SF', 'ShADdFf']);
  });
  it('S0: attempt seen, no reply (a retransmitted SYN is one S)', () => {
    expect(state([[true, S, 0, 1000], [true, S, 0, 1000]])).toEqual(['S0', 'S']);
  });
  it('REJ: the SYN answered by RST+ACK (a closed port)', () => {
    expect(state([[true, S, 0, 1000], [false, R | A, 0, 0, 1001]])).toEqual(['REJ', 'Sr']);
  });
  it('S1: established, not terminated', () => {
    expect(state(EXCHANGE)).toEqual(['S1', 'ShADd']);
  });
  it('S2 / S3: established, close attempt by one side only', () => {
    expect(state([...EXCHANGE, [true, F | A, 0, 1101, 5301]])).toEqual(['S2', 'ShADdF']);
    expect(state([...EXCHANGE, [false, F | A, 0, 5301, 1101]])).toEqual(['S3', 'ShADdf']);
  });
  it('RSTO / RSTR: established, then the originator / responder aborted', () => {
    expect(state([...EXCHANGE, [true, R | A, 0, 1101, 5301]])).toEqual(['RSTO', 'ShADdR']);
    expect(state([...EXCHANGE, [false, R, 0, 5301]])).toEqual(['RSTR', 'ShADdr']);
  });
  it('RSTOS0: SYN then RST from the originator, no SYN-ACK', () => {
    expect(state([[true, S, 0, 1000], [true, R, 0, 1001]])).toEqual(['RSTOS0', 'SR']);
  });
  it('RSTRH: SYN-ACK then RST from the responder, no SYN seen', () => {
    expect(state([[false, S | A, 0, 5000, 1001], [false, R, 0, 5001]])).toEqual(['RSTRH', 'hr']);
  });
  it('SH / SHR: SYN then FIN from the originator / SYN-ACK then FIN from the responder, half open', () => {
    expect(state([[true, S, 0, 1000], [true, F, 0, 1001]])).toEqual(['SH', 'SF']);
    expect(state([[false, S | A, 0, 5000, 1001], [false, F | A, 0, 5001, 1001]])).toEqual(['SHR', 'hf']);
  });
  it('OTH: midstream traffic, no SYN', () => {
    expect(state([[true, P | A, 50, 7000, 9000], [false, A, 0, 9000, 7050]])).toEqual(['OTH', 'Da']);
  });
  it('FIN then RST from one side, then the other FIN: normal termination (SF), both R and F kept', () => {
    expect(state([...EXCHANGE, [true, F | A, 0, 1101, 5301], [true, R, 0, 1102], [false, F | A, 0, 5301, 1102]]))
      .toEqual(['SF', 'ShADdFRf']);
  });
  it('q, i, w, t, g: multi-flag, FIN+RST, zero window, retransmission, content gap', () => {
    expect(state([[true, S | F, 0, 1000]])[1]).toBe('Q');
    expect(state([...HANDSHAKE, [false, F | R | A, 0, 5001, 1001]])[1]).toBe('ShAi');
    expect(state([...HANDSHAKE, [false, A, 0, 5001, 1001, 0]])[1]).toBe('ShAaw');
    // Client data 1001..1101 sent twice: the second is a retransmission.
    expect(state([...HANDSHAKE, [true, P | A, 100, 1001, 5001], [true, P | A, 100, 1001, 5001]])[1]).toBe('ShADT');
    // The server acknowledges 200 client bytes; the capture saw only the first 100: a gap in the client's data.
    expect(state([...HANDSHAKE, [true, P | A, 100, 1001, 5001], [false, A, 0, 5001, 1201]])[1]).toBe('ShADaG');
  });
  it('every letter of both directions fits, in first-seen order (the order spans several packed words)', () => {
    const f = run([...EXCHANGE, [true, P | A, 100, 1001, 5301], [false, A, 0, 5301, 1101, 0], [true, A, 0, 1101, 5301, 0],
      [false, P | A, 300, 5001, 1101], [false, A, 0, 5301, 1301], [true, S | F, 0, 1], [false, S | R, 0, 1],
      [true, F | R, 0, 1], [false, F | R, 0, 1], [true, F | A, 0, 1101, 5301], [false, F | A, 0, 5301, 1102],
      [true, R, 0, 1102], [false, R, 0, 5302]]);
    expect(historyOf(f)).toBe('ShADdTawWtGQqIiFfRr');
  });
});

describe('conn_state of UDP (Zeek: S0 one direction, SF both) and the outcome an air-gap report names', () => {
  function udpFlow(answered: boolean): Flow {
    const t = createFlowTable();
    const d = newDecoded();
    const q = packet(LINKTYPE.RAW, ipv4({ src: C.ip, dst: SV.ip, proto: 17, payload: udp(40000, 53, Buffer.alloc(30)) }));
    decodePacket(q, d, newSkipCounts());
    const f = t.ingest(q, d);
    if (answered) {
      const a = packet(LINKTYPE.RAW, ipv4({ src: SV.ip, dst: C.ip, proto: 17, payload: udp(53, 40000, Buffer.alloc(0)) }));
      decodePacket(a, d, newSkipCounts());
      t.ingest(a, d);
    }
    return f;
  }
  it('a query without answer is S0, with answer SF; an empty datagram gets no d', () => {
    expect([connStateOf(udpFlow(false)), historyOf(udpFlow(false))]).toEqual(['S0', 'D']);
    expect([connStateOf(udpFlow(true)), historyOf(udpFlow(true))]).toEqual(['SF', 'D']);
  });
  it('outcomes: unanswered, rejected, connected; unknown when no state was stored', () => {
    expect(connOutcome('S0', 0)).toBe('unanswered');
    expect(connOutcome('RSTOS0', 0)).toBe('unanswered');
    expect(connOutcome('REJ', 1)).toBe('rejected');
    expect(connOutcome('SF', 9)).toBe('connected');
    expect(connOutcome('OTH', 0)).toBe('unanswered');
    expect(connOutcome(null, 3)).toBeNull();
  });
});
