/** Markdown reading for tests that check what a CommonMark/GFM renderer would act on. */

/** The line with every inline code span (CommonMark: a run of N backticks up to the next run of exactly N) removed. */
export function outsideCodeSpans(line: string): string {
  let rest = '';
  let i = 0;
  while (i < line.length) {
    if (line[i] === '`' && line[i - 1] !== '\\') {
      let n = 0;
      while (line[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      let j = i + n;
      let close = -1;
      while ((j = line.indexOf(fence, j)) !== -1) {
        if (line[j + n] !== '`' && line[j - 1] !== '`') { close = j; break; }
        while (line[j] === '`') j++;
      }
      if (close === -1) { rest += line.slice(i, i + n); i += n; continue; }
      i = close + n;
      continue;
    }
    rest += line[i++];
  }
  return rest;
}
