import { describe, expect, it } from 'vitest';
import { visible } from '../../src/text/visible.js';
import { escapeHtml, escapeMarkdown, markdownCode } from '../../src/report/escape.js';

describe('visible', () => {
  it('shows C0 controls (newline and tab too), DEL and C1 as \\xNN', () => {
    expect(visible('a\x1b]0;PWN\x07b')).toBe('a\\x1b]0;PWN\\x07b');
    expect(visible('\x00\t\n\r\x7f\x80\x9b\x9f')).toBe('\\x00\\x09\\x0a\\x0d\\x7f\\x80\\x9b\\x9f');
  });
  it('shows the format controls that reorder or hide text as \\u{NNNN}', () => {
    expect(visible('a\u202egpj.exe\u200b\u2066\u2069\u200f\u202a')).toBe('a\\u{202e}gpj.exe\\u{200b}\\u{2066}\\u{2069}\\u{200f}\\u{202a}');
  });
  it('doubles a backslash, so a name spelling \\x1b cannot pass for an escaped ESC', () => {
    expect(visible('\\x1b')).toBe('\\\\x1b');
    expect(visible('\x1b')).not.toBe(visible('\\x1b'));
  });
  it('leaves printable text, Latin-1 letters and other Unicode as they are', () => {
    expect(visible('registry.ollama.ai ÄÖü ® 日本 \u2028')).toBe('registry.ollama.ai ÄÖü ® 日本 \u2028');
    expect(visible(null)).toBe('');
  });
});

describe('HTML and Markdown escapes make controls visible', () => {
  it('escapeHtml leaves no ESC', () => {
    expect(escapeHtml('<a>\x1b[31m')).toBe('&lt;a&gt;\\x1b[31m');
  });
  it('escapeMarkdown breaks the matches of GFM autolinks (http://, https://, www., e-mail) and shows controls', () => {
    expect(escapeMarkdown('to http://evil.example/x, HTTPS://b.example, www.evil.example, WWW.x.y, root@evil.example'))
      .toBe('to http\\://evil.example/x, HTTPS\\://b.example, www\\.evil.example, WWW\\.x.y, root\\@evil.example');
    expect(escapeMarkdown('a\x1bb')).toBe('a\\\\x1bb');
  });
  it('markdownCode: a fence longer than any backtick run inside, padding at a backtick edge, pipes escaped', () => {
    expect(markdownCode('http://evil.example/x')).toBe('`http://evil.example/x`');
    expect(markdownCode('a``b')).toBe('```a``b```');
    expect(markdownCode('`x|y`')).toBe('`` `x\\|y` ``');
    expect(markdownCode('a\x1bb')).toBe('`a\\x1bb`');
    expect(markdownCode('')).toBe('—');
  });
});

describe('JSON output keeps outside text exactly', () => {
  it('JSON.stringify (every --json and report.json) escapes C0, a lone surrogate and keeps U+2028 valid', () => {
    const raw = 'a\x1b]0;PWN\x07\x7f\x9b\u202e\u2028\ud800b';
    const text = JSON.stringify({ name: raw });
    expect(text).not.toMatch(/[\x00-\x1f]/);
    expect(text).toContain('\\ud800'); // well-formed: not an unpaired surrogate in the output
    expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
    expect((JSON.parse(text) as { name: string }).name).toBe(raw);
  });
});
