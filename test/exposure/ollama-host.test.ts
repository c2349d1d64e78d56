import { describe, expect, it } from 'vitest';
import { parseOllamaHost } from '../../src/exposure/ollama-host.js';
import { judgeHostSetting } from '../../src/exposure/scope.js';

// Expected values follow envconfig Host() in Ollama's source, case by case.
describe('parseOllamaHost', () => {
  const cases: [string | null, string, string, number][] = [
    [null, 'http', '127.0.0.1', 11434],
    ['', 'http', '127.0.0.1', 11434],
    ['0.0.0.0', 'http', '0.0.0.0', 11434],
    ['0.0.0.0:11434', 'http', '0.0.0.0', 11434],
    [':9000', 'http', '', 9000],
    ['example.com', 'http', 'example.com', 11434],
    ['example.com:56789', 'http', 'example.com', 56789],
    ['http://0.0.0.0', 'http', '0.0.0.0', 80],
    ['https://example.com', 'https', 'example.com', 443],
    ['http://10.0.0.5:8000/', 'http', '10.0.0.5', 8000],
    ['https://example.com:56789/path', 'https', 'example.com', 56789],
    ['"0.0.0.0:1234"', 'http', '0.0.0.0', 1234],
    ["  '127.0.0.1'  ", 'http', '127.0.0.1', 11434],
    ['[::]:11434', 'http', '::', 11434],
    ['[::1]', 'http', '::1', 11434],
    ['::1', 'http', '::1', 11434],
    ['0.0.0.0:99999', 'http', '0.0.0.0', 11434],
    ['0.0.0.0:port', 'http', '0.0.0.0', 11434],
  ];
  it.each(cases)('%j -> %s://%s:%i', (value, scheme, host, port) => {
    expect(parseOllamaHost(value)).toMatchObject({ scheme, host, port });
  });

  it('marks only an unset or empty value as the default', () => {
    expect(parseOllamaHost(undefined).isDefault).toBe(true);
    expect(parseOllamaHost('127.0.0.1:11434').isDefault).toBe(false);
  });
});

describe('judgeHostSetting', () => {
  it.each([
    ['', 'all-interfaces'], ['0.0.0.0', 'all-interfaces'], ['::', 'all-interfaces'],
    ['127.0.0.1', 'loopback'], ['::1', 'loopback'], ['localhost', 'loopback'],
    ['192.168.1.10', 'lan'], ['fe80::1', 'lan'], ['203.0.113.7', 'public'], ['ollama.example.com', 'name'],
  ])('%j -> %s', (host, scope) => {
    expect(judgeHostSetting(host)).toBe(scope);
  });
});
