/**
 * The one escape for every string the HTML (and its inline SVG) report and report.md take from
 * the store or a caller: hostnames, paths and process names come from captured traffic, i.e. from
 * anyone. Control characters are made visible first (text/visible.ts), so no ESC, bidi override
 * or line break from a sender reaches a reader's renderer.
 */
import { visible } from '../text/visible.js';

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe as element text and inside a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return visible(value).replace(/[&<>"']/g, (c) => HTML[c]);
}

/**
 * One Markdown table cell (or inline text): control characters made visible, then the ASCII
 * punctuation that Markdown or inline HTML would act on inside a line is backslash-escaped
 * (CommonMark allows that for any ASCII punctuation). GFM also links bare `http://`, `https://`,
 * `www.` and e-mail addresses in text; escaping the `:` of `://`, the `.` of `www.` and every `@`
 * breaks those matches and renders the same characters (a name quoted in a reason or a message
 * stays text).
 */
export function escapeMarkdown(value: unknown): string {
  return visible(value)
    .replace(/[\\`*_{}[\]<>|~&@]/g, (c) => `\\${c}`)
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/(?<=www)\./gi, '\\.');
}

/**
 * A name from outside (host, URI, DNS name, process, file, comment) as a Markdown code span in a
 * table cell: inside a code span a GFM renderer makes no link of `http://evil.example/x` and acts
 * on no markup. The fence is one backtick longer than the longest run inside, a space pads content
 * that starts or ends with a backtick or space (CommonMark strips exactly one each side), and `|`
 * is written `\|`, which GFM tables read as a pipe inside the cell, code spans included.
 */
export function markdownCode(value: unknown): string {
  const text = visible(value);
  if (text === '') return '—';
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = /^[` ]|[` ]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text.replace(/\|/g, '\\|')}${pad}${fence}`;
}
