/**
 * A cheaper `Output.get()` for ink 6.8, the step that turns the laid-out tree into the screen's
 * text. Profiled at 120×40 (bench/RESULTS.md), it was ~80 % of a frame's render: it makes one cell
 * object per column of every line (4,680 at 120×39), tokenizes every written line character by
 * character (@alcalzone/ansi-tokenize), gives each character a copy of its styles and joins the
 * cells back into text, every frame, for every line, changed or not. React's update was ~8 %, yoga
 * <1 %, log-update's write <1 %.
 *
 * The dashboard's screen is one line per ink text, each at column 0, one style for the whole line
 * (the escape codes at its start and end only) and, nearly always, one-cell characters only. For
 * such a line ink's result is known without going through the cells: the style's opening codes,
 * the text, its closing codes (trailing blanks dropped when there is no style). Those codes are
 * ink's own: taken once per style from ink's Output on a one-character probe. Any other line (a
 * wide character, codes inside the text) is drawn by ink's Output alone, on its own row; any other
 * tree (a clip, several texts on a row, a text of several lines) is drawn by ink's own get().
 * test/watch/ink-output.test.ts checks the result is byte for byte ink's own on real frames.
 *
 * Installed only over ink 6.8.x (the version package.json pins; ink 7 needs Node 22): another
 * version keeps its own get().
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface WriteOp { type: 'write'; x: number; y: number; text: string; transformers: ((s: string, i: number) => string)[] }
interface InkOutput { width: number; height: number; operations: ({ type: 'clip' | 'unclip' } | WriteOp)[]; write(x: number, y: number, text: string, o: { transformers: WriteOp['transformers'] }): void; get(): { output: string; height: number } }
type OutputClass = { new (o: { width: number; height: number }): InkOutput; prototype: InkOutput };

/** Rows drawn by the shortcut and by ink's per-cell path, since start (the test reads them). */
export const inkOutputRows = { fast: 0, cells: 0 };

/** The characters the screen's own text uses besides printable ASCII: each one cell wide in ink. */
export const ONE_CELL_CHAR = '[\\x20-\\x7e·×—…↑→↓↔−│█µ]';
/** A line: its leading escape codes, its text of one-cell characters, its trailing escape codes. */
const SIMPLE_LINE = new RegExp(`^((?:\x1b\\[[0-9;]*m)*)(${ONE_CELL_CHAR}*)((?:\x1b\\[[0-9;]*m)*)$`);

function installFastGet(Output: OutputClass): void {
  const inkGet = Output.prototype.get;
  /** ink's own opening and closing codes for a line's leading and trailing codes. */
  const styles = new Map<string, [string, string]>();
  const styleOf = (open: string, close: string): [string, string] => {
    const key = `${open}\0${close}`;
    let s = styles.get(key);
    if (s === undefined) {
      const probe = inkGet.call(oneRow(Output, 2, `${open}x${close}`)).output;
      const at = probe.indexOf('x');
      styles.set(key, (s = [probe.slice(0, at), probe.slice(at + 1)]));
    }
    return s;
  };
  const rowOf = (line: string, width: number): string => {
    const m = SIMPLE_LINE.exec(line);
    if (m === null) {
      inkOutputRows.cells++;
      return inkGet.call(oneRow(Output, width, line)).output;
    }
    inkOutputRows.fast++;
    if (m[2] === '') return '';
    const [open, close] = styleOf(m[1], m[3]);
    return open === '' && close === '' ? m[2].trimEnd() : `${open}${m[2]}${close}`;
  };
  Output.prototype.get = function get(this: InkOutput) {
    const lines = linesByRow(this);
    if (lines === null) return inkGet.call(this);
    let out = '';
    for (let y = 0; y < this.height; y++) {
      if (y > 0) out += '\n';
      const line = lines[y];
      if (line !== undefined) out += rowOf(line, this.width);
    }
    return { output: out, height: this.height };
  };
}

/** An Output of one row holding `line` (ink's own get() then draws just that row). */
function oneRow(Output: OutputClass, width: number, line: string): InkOutput {
  const o = new Output({ width, height: 1 });
  o.write(0, 0, line, { transformers: [] });
  return o;
}

/**
 * Each row's one line (its text after the transforms), or null when the tree is not one text of
 * one line per row at column 0 (clips, several writes on a row, a text of several lines).
 */
function linesByRow(o: InkOutput): (string | undefined)[] | null {
  const lines: (string | undefined)[] = new Array(o.height);
  for (const op of o.operations) {
    if (op.type !== 'write' || op.x !== 0 || op.text.includes('\n')) return null;
    if (op.y < 0 || op.y >= o.height) continue;
    if (lines[op.y] !== undefined) return null;
    let line = op.text;
    for (const t of op.transformers) line = t(line, 0);
    lines[op.y] = line;
  }
  return lines;
}

/** ink's Output class, when the installed ink is the 6.8 this was written against. */
async function inkOutputClass(): Promise<OutputClass | null> {
  const main = createRequire(import.meta.url).resolve('ink');
  const version = (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
  if (!/^6\.8\./.test(version)) return null;
  return ((await import(pathToFileURL(join(dirname(main), 'output.js')).href)) as { default: OutputClass }).default;
}

const Output = await inkOutputClass();
if (Output) installFastGet(Output);
