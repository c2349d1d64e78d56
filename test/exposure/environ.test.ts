import { describe, expect, it } from 'vitest';
import { parseEnviron } from '../../src/exposure/environ.js';

describe('parseEnviron', () => {
  it('reads NUL-separated entries, values may hold = and commas; the first definition wins', () => {
    const text = 'PATH=/bin\0OLLAMA_HOST=0.0.0.0:9000\0OLLAMA_ORIGINS=http://a=b,https://c\0OLLAMA_HOST=127.0.0.1\0';
    const v = parseEnviron(text, ['OLLAMA_HOST', 'OLLAMA_ORIGINS']);
    expect(v.get('OLLAMA_HOST')).toBe('0.0.0.0:9000');
    expect(v.get('OLLAMA_ORIGINS')).toBe('http://a=b,https://c');
    expect(v.has('PATH')).toBe(false);
  });
  it('tells unset from empty', () => {
    const v = parseEnviron('OLLAMA_HOST=\0', ['OLLAMA_HOST', 'OLLAMA_ORIGINS']);
    expect(v.get('OLLAMA_HOST')).toBe('');
    expect(v.has('OLLAMA_ORIGINS')).toBe(false);
  });
});
