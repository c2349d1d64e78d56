import { describe, expect, it } from 'vitest';
import { isHostCheck403 } from '../../src/exposure/host-trap.js';
import type { FlowRow, HttpRow } from '../../src/exposure/store-rows.js';

const ctx = { hostname: 'gpu-box', localAddrs: [] };
const flow = (responder: string): FlowRow => ({
  session_id: 1, seq: 1, initiator_addr: '127.0.0.1', initiator_port: 40000, responder_addr: responder, responder_port: 11434,
  first_seen: 0, last_seen: 1, bytes_out: 1, bytes_in: 1, activity: 'api', pid: null, comm: null, exe: null, peer_pid: null, peer_comm: null, peer_exe: null,
});
const req = (over: Partial<HttpRow>): HttpRow => ({
  session_id: 1, flow_seq: 1, ts: 0, response_ts: 1, method: 'GET', path: '/api/tags', host: 'ollama.example.com', status: 403, ...over,
});

describe('isHostCheck403', () => {
  it('is a 403 to a foreign Host from a loopback API', () => {
    expect(isHostCheck403(req({}), flow('127.0.0.1'), ctx)).toBe(true);
    expect(isHostCheck403(req({}), flow('::1'), ctx)).toBe(true);
  });
  it('is not any other status, an allowed Host, or a non-loopback listener (no check there)', () => {
    expect(isHostCheck403(req({ status: 200 }), flow('127.0.0.1'), ctx)).toBe(false);
    expect(isHostCheck403(req({ host: 'localhost:11434' }), flow('127.0.0.1'), ctx)).toBe(false);
    expect(isHostCheck403(req({ host: 'gpu-box:11434' }), flow('127.0.0.1'), ctx)).toBe(false);
    expect(isHostCheck403(req({}), flow('192.168.1.5'), ctx)).toBe(false);
  });
  it('uses the response length when the store has it: the check answers with an empty body', () => {
    expect(isHostCheck403(req({ response_length: 0 }), flow('127.0.0.1'), ctx)).toBe(true);
    expect(isHostCheck403(req({ response_length: 42 }), flow('127.0.0.1'), ctx)).toBe(false);
    expect(isHostCheck403(req({ response_length: null }), flow('127.0.0.1'), ctx)).toBe(true);
  });
});
