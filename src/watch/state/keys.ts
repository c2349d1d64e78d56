/**
 * Key → action: what each key does in each mode, as data (the footer and `?` list come from the
 * same table, so they cannot disagree with what the keys do). Ink's key flags arrive as `KeyInfo`.
 */

export interface KeyInfo {
  upArrow?: boolean; downArrow?: boolean; pageUp?: boolean; pageDown?: boolean; return?: boolean;
  escape?: boolean; tab?: boolean; shift?: boolean; ctrl?: boolean; backspace?: boolean; delete?: boolean;
}

export const VIEWS = ['flows', 'hosts', 'activities', 'claims', 'coverage', 'api'] as const;
export type ViewName = typeof VIEWS[number];

export type Action =
  | { type: 'quit' } | { type: 'up' } | { type: 'down' } | { type: 'pageUp' } | { type: 'pageDown' }
  | { type: 'top' } | { type: 'bottom' } | { type: 'open' } | { type: 'back' }
  | { type: 'nextView' } | { type: 'prevView' } | { type: 'view'; view: ViewName }
  | { type: 'filterStart' } | { type: 'filterChar'; text: string } | { type: 'filterBackspace' }
  | { type: 'filterDone' } | { type: 'filterCancel' }
  | { type: 'sortNext' } | { type: 'sortReverse' } | { type: 'pause' } | { type: 'freeze' }
  | { type: 'totals' } | { type: 'addresses' } | { type: 'all' } | { type: 'closed' } | { type: 'help' }
  | { type: 'exportEvidence' } | { type: 'report' };

/** The keys the footer and the `?` list show, in that order. */
export const KEY_HELP: readonly [keys: string, what: string][] = [
  ['q', 'quit (also Ctrl-C)'], ['↑↓ j/k', 'move'], ['PgUp/PgDn g/G', 'page, top, bottom'],
  ['Enter/Esc', 'detail / back'], ['Tab 1-6', 'views: Flows Hosts Activities Claims Coverage API'],
  ['/', 'filter: host: proc: act: port:, ! negates'], ['s/S', 'sort column / reverse'], ['Space', 'pause'],
  ['o', 'freeze order'], ['t', 'rate ↔ totals'], ['n', 'names ↔ addresses'], ['a', 'all flows / Ollama only'],
  ['h', 'closed flows'], ['e', 'evidence pcapng (detail)'], ['r', 'report of this session'], ['?', 'this list'],
];

const PLAIN: Record<string, Action> = {
  q: { type: 'quit' }, j: { type: 'down' }, k: { type: 'up' }, g: { type: 'top' }, G: { type: 'bottom' },
  '/': { type: 'filterStart' }, s: { type: 'sortNext' }, S: { type: 'sortReverse' }, ' ': { type: 'pause' },
  o: { type: 'freeze' }, t: { type: 'totals' }, n: { type: 'addresses' }, a: { type: 'all' }, h: { type: 'closed' },
  '?': { type: 'help' }, e: { type: 'exportEvidence' }, r: { type: 'report' },
};

const CHAR_KEYS: Record<string, KeyInfo> = { '\r': { return: true }, '\n': { return: true }, '\t': { tab: true }, '\x7f': { backspace: true }, '\b': { backspace: true } };

/**
 * Keys typed faster than they are read (a paste, tmux send-keys, a slow frame) reach ink as one
 * string: "1/registry\r". Split into one key each, so `/` starts the filter and the rest fills it.
 * Escape sequences (arrows, PgUp) and single keys come through as they are.
 */
export function splitInput(input: string, key: KeyInfo): [string, KeyInfo][] {
  if (input.length <= 1 || input.includes('\x1b') || key.ctrl) return [[input, key]];
  return [...input].map((c) => (CHAR_KEYS[c] ? ['', CHAR_KEYS[c]] : [c, {}]));
}

export function keyToAction(input: string, key: KeyInfo, editingFilter: boolean): Action | null {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  if (editingFilter) {
    if (key.return) return { type: 'filterDone' };
    if (key.escape) return { type: 'filterCancel' };
    if (key.backspace || key.delete) return { type: 'filterBackspace' };
    // Printable text only: a pasted control character must not reach the filter line.
    return input !== '' && !key.ctrl && !/[\x00-\x1f\x7f]/.test(input) ? { type: 'filterChar', text: input } : null;
  }
  if (key.upArrow) return { type: 'up' };
  if (key.downArrow) return { type: 'down' };
  if (key.pageUp) return { type: 'pageUp' };
  if (key.pageDown) return { type: 'pageDown' };
  if (key.return) return { type: 'open' };
  if (key.escape) return { type: 'back' };
  if (key.tab) return key.shift ? { type: 'prevView' } : { type: 'nextView' };
  if (/^[1-6]$/.test(input)) return { type: 'view', view: VIEWS[Number(input) - 1] };
  return PLAIN[input] ?? null;
}
