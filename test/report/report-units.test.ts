import { describe, expect, it } from 'vitest';
import { addrToString } from '../../src/decode/addr.js';
import { addrBytes as addrFromText } from '../../src/decode/addr-parse.js';
import { escapeHtml, escapeMarkdown } from '../../src/report/escape.js';
import { safeComment } from '../../src/report/evidence-cut.js';
import { buildTimeline, MAX_BUCKETS, pickBucket } from '../../src/report/timeline-buckets.js';

describe('addrBytes (addr-parse)', () => {
  it('is the inverse of addrToString for the forms the store holds', () => {
    for (const t of ['198.51.100.10', '0.0.0.0', '255.255.255.255', '::', '::1', 'fe80::4099:ceff:fe39:a164', '2001:db8:1::10',
      'ff02::1:ffef:14a4', '::ffff:192.0.2.1', '1:2:3:4:5:6:7:8', '2001:db8::1:0:0:1']) {
      expect(addrToString(addrFromText(t))).toBe(t);
    }
    for (const bad of ['1.2.3', '1.2.3.256', '1::2::3', 'x::1', '1:2:3:4:5:6:7:8:9', '']) expect(() => addrFromText(bad)).toThrow(RangeError);
  });
});

describe('escaping', () => {
  it('HTML: the five characters that matter', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeHtml(null)).toBe('');
  });
  it('Markdown: table pipes, tags, emphasis and line breaks cannot break out of a cell', () => {
    // The line break is shown as \x0a (its backslash escaped for Markdown), so the row stays one line.
    expect(escapeMarkdown('a|b <i>*x*</i>\nnext')).toBe('a\\|b \\<i\\>\\*x\\*\\</i\\>\\\\x0anext');
  });
});

describe('safeComment', () => {
  it('keeps PID and Cmd, drops the command line (it can hold a prompt)', () => {
    expect(safeComment('PID: 1\nCmd: /usr/bin/curl\nArgs: curl -d {"prompt":"secret"}')).toBe('PID: 1\nCmd: /usr/bin/curl');
    expect(safeComment('Args: secret')).toBeNull();
    expect(safeComment(null)).toBeNull();
  });
  it('redacts a Cmd line that holds a whole command line', () => {
    expect(safeComment('PID: 2\nCmd: /usr/bin/ollama run gemma3:1b secret words\nArgs: x'))
      .toBe('PID: 2\nCmd: /usr/bin/ollama run gemma3:1b <6 chars> <5 chars>');
  });
});

describe('timeline buckets', () => {
  it('picks 60 to 200 buckets for windows from a second to a month', () => {
    for (const span of [1e6, 3.1e6, 45e6, 3600e6, 86400e6, 7 * 86400e6, 30 * 86400e6]) {
      const n = Math.floor(span / pickBucket(span)) + 1;
      expect(n).toBeLessThanOrEqual(MAX_BUCKETS);
      expect(n).toBeGreaterThanOrEqual(60);
    }
  });
  it('spreads a flow over the buckets it spans and keeps every byte', () => {
    const t = buildTimeline([
      { first_seen: 0, last_seen: 100e6, bytes: 1000, activity: 'blob-download' },
      { first_seen: 50e6, last_seen: 50e6, bytes: 7, activity: 'api:/api/pull' },
    ], { start: 0, end: 100e6 });
    expect(t.bucket_s).toBe(1);
    expect(t.buckets).toBe(101);
    expect(t.activities).toEqual(['blob-download', 'api']);
    expect(t.bytes['blob-download'].reduce((a, b) => a + b, 0)).toBe(1000);
    expect(t.bytes['blob-download'][10]).toBe(10);
    expect(t.bytes.api[50]).toBe(7);
  });
});

describe('formatPercent', () => {
  it('at most two decimals, trailing zeros dropped; tiny and near-total values are not rounded to 0 or 100', async () => {
    const { formatPercent, formatShare } = await import('../../src/text/format-values.js');
    expect(formatShare(0.9940611080722044)).toBe('99.41%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(1.5)).toBe('1.5%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(0.004)).toBe('< 0.01%');
    expect(formatPercent(99.999)).toBe('> 99.99%');
    expect(formatPercent(12.345678)).toBe('12.35%');
  });
});
