import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../../src/exposure/allowed-host.js';
import { parseAddr as parseIp } from '../../src/decode/addr-parse.js';

const ctx = { hostname: 'gpu-box', localAddrs: ['169.254.7.7', '100.64.1.2'] };

describe('hostAllowed (Ollama allowedHostsMiddleware rules)', () => {
  it.each([
    null, '', 'localhost', 'localhost:11434', 'LOCALHOST:11434', '127.0.0.1', '127.0.0.1:11434', '127.9.9.9',
    '[::1]:11434', '::1', '10.1.2.3:11434', '172.16.0.1', '192.168.0.9:80', '[fd00::5]:11434', '0.0.0.0:11434',
    '[::]:11434', 'gpu-box', 'GPU-BOX:11434', 'app.localhost', 'printer.local:11434', 'ollama.internal',
    '169.254.7.7:11434', '100.64.1.2',
  ])('allows %j', (h) => {
    expect(hostAllowed(h, ctx)).toBe(true);
  });

  it.each([
    'ollama.example.com', 'ollama.example.com:443', 'example.com', '203.0.113.5:11434', '8.8.8.8',
    '169.254.1.1', '100.64.9.9', 'localhost.example.com', 'local', 'notlocal', 'evil-internal', 'gpu-box.example.com',
    '[::1]', '172.32.0.1', '[2001:db8::1]:11434',
  ])('refuses %j', (h) => {
    expect(hostAllowed(h, ctx)).toBe(false);
  });

  it('uses the hostname it is given, not a fixed one', () => {
    expect(hostAllowed('gpu-box', { hostname: 'other', localAddrs: [] })).toBe(false);
  });
});

describe('parseIp', () => {
  it.each([
    ['10.0.0.1', [10, 0, 0, 1]],
    ['::1', [...Array(15).fill(0), 1]],
    ['::ffff:127.0.0.1', [...Array(10).fill(0), 255, 255, 127, 0, 0, 1]],
    ['fe80::1%eth0', [0xfe, 0x80, ...Array(13).fill(0), 1]],
    ['[2001:db8::2:1]', [0x20, 0x01, 0x0d, 0xb8, ...Array(8).fill(0), 0, 2, 0, 1]],
  ])('%s', (text, bytes) => {
    expect([...parseIp(text)!]).toEqual(bytes);
  });
  it('is null for names', () => {
    expect(parseIp('localhost')).toBeNull();
    expect(parseIp('1.2.3')).toBeNull();
  });
});
