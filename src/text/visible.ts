/**
 * Text that came from outside (captured names, HTTP heads, pcapng comments, process names, file
 * names) made safe to show: a terminal, a Markdown renderer or a browser must not act on bytes a
 * sender or another local user chose. C0 controls (newline and tab too: a value is one cell or one
 * line), DEL and the C1 controls become `\xNN`; the Unicode format controls that reorder or hide
 * what a reader sees (zero-width, bidi embeddings, overrides and isolates) become `\u{NNNN}`. The
 * backslash itself becomes `\\`, so a name that already spells `\x1b` cannot pass for an escape.
 * JSON output does not use this: JSON.stringify keeps the exact value and is already valid.
 */
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;

export function visible(value: unknown): string {
  return String(value ?? '').replace(UNSAFE, escapeOne);
}

function escapeOne(c: string): string {
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}
