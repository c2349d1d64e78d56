/**
 * The one escape for every string the HTML (and its inline SVG) report takes from the store or
 * a caller: hostnames, paths and process names come from captured traffic, i.e. from anyone.
 */
const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe as element text and inside a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML[c]);
}

/**
 * One Markdown table cell (or inline text): the ASCII punctuation that Markdown or inline HTML
 * would act on inside a line is backslash-escaped (CommonMark allows that for any ASCII
 * punctuation); line breaks become spaces.
 */
export function escapeMarkdown(value: unknown): string {
  return String(value ?? '').replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]<>|~&]/g, (c) => `\\${c}`);
}
