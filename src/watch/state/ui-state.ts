/**
 * What the user has chosen (view, cursor, filter, sort, pause, toggles) and how each action
 * changes it. Pure: `reduce(state, action, list)`, where `list` is what the current view shows
 * (its length, the rows that fit, and the flow ids in display order for `o` and Enter).
 */
import { SORT_COLUMNS, clampOffset, type SortColumn } from './flow-view.js';
import type { FrameQuery } from '../data/frame.js';
import { VIEWS, type Action, type ViewName } from './keys.js';

export interface UiState {
  view: ViewName;
  /** Index of the selected row in the current view's list, and of the first row drawn. */
  cursor: number;
  offset: number;
  filter: string;
  /** The filter being typed after `/`, null when not editing. */
  editing: string | null;
  sort: SortColumn;
  reverse: boolean;
  /** `o`: the order is frozen (the data side keeps the order it had). */
  frozen: boolean;
  paused: boolean;
  /** `t`: totals instead of rates. */
  totals: boolean;
  /** `n`: addresses instead of names. */
  addresses: boolean;
  all: boolean;
  closed: boolean;
  help: boolean;
  /** The flow whose detail is open (Enter), else null. */
  detail: number | null;
  quit: boolean;
}

export interface ListInfo {
  total: number;
  height: number;
  /** The flow id at a row index of the Flows view (only the drawn rows are known), else undefined. */
  idAt: (index: number) => number | undefined;
}

/** `closed`: a finished session starts with closed flows shown (all of them are). */
export function initialUiState(closed = false): UiState {
  return {
    view: 'flows', cursor: 0, offset: 0, filter: '', editing: null, sort: 'rate', reverse: false, frozen: false,
    paused: false, totals: false, addresses: false, all: false, closed, help: false, detail: null, quit: false,
  };
}

/** Keeps the cursor in the list and on screen. */
function moveTo(s: UiState, cursor: number, list: ListInfo): UiState {
  const c = Math.max(0, Math.min(cursor, list.total - 1));
  let offset = s.offset;
  if (c < offset) offset = c;
  if (c >= offset + list.height) offset = c - list.height + 1;
  return { ...s, cursor: c, offset: clampOffset(offset, list.total, list.height) };
}

const TOP = { cursor: 0, offset: 0 };

export function reduce(s: UiState, a: Action, list: ListInfo): UiState {
  if (s.help && a.type !== 'quit') return { ...s, help: false };
  switch (a.type) {
    case 'quit': return { ...s, quit: true };
    case 'up': return moveTo(s, s.cursor - 1, list);
    case 'down': return moveTo(s, s.cursor + 1, list);
    case 'pageUp': return moveTo({ ...s, offset: s.offset - list.height }, s.cursor - list.height, list);
    case 'pageDown': return moveTo({ ...s, offset: s.offset + list.height }, s.cursor + list.height, list);
    case 'top': return moveTo(s, 0, list);
    case 'bottom': return moveTo(s, list.total - 1, list);
    case 'open': {
      const id = s.view === 'flows' ? list.idAt(s.cursor) : undefined;
      return id === undefined ? s : { ...s, detail: id };
    }
    case 'back': return { ...s, detail: null };
    case 'nextView': case 'prevView': {
      const i = VIEWS.indexOf(s.view) + (a.type === 'nextView' ? 1 : VIEWS.length - 1);
      return { ...s, ...TOP, view: VIEWS[i % VIEWS.length], detail: null };
    }
    case 'view': return { ...s, ...TOP, view: a.view, detail: null };
    case 'filterStart': return { ...s, editing: s.filter };
    case 'filterChar': return { ...s, editing: (s.editing ?? '') + a.text };
    case 'filterBackspace': return { ...s, editing: (s.editing ?? '').slice(0, -1) };
    case 'filterDone': return { ...s, ...TOP, filter: s.editing ?? s.filter, editing: null };
    case 'filterCancel': return { ...s, editing: null };
    case 'sortNext': return { ...s, sort: SORT_COLUMNS[(SORT_COLUMNS.indexOf(s.sort) + 1) % SORT_COLUMNS.length], frozen: false };
    case 'sortReverse': return { ...s, reverse: !s.reverse, frozen: false };
    case 'pause': return { ...s, paused: !s.paused };
    case 'freeze': return { ...s, frozen: !s.frozen };
    case 'totals': return { ...s, totals: !s.totals };
    case 'addresses': return { ...s, addresses: !s.addresses };
    case 'all': return { ...s, ...TOP, all: !s.all };
    case 'closed': return { ...s, ...TOP, closed: !s.closed };
    case 'help': return { ...s, help: true };
    case 'exportEvidence': case 'report': return s; // side effects: the UI runs them and shows where the file went
  }
}

/** What the data side is asked for: the current choices and a screen of `height` rows. */
export function frameQueryOf(s: UiState, height: number): FrameQuery {
  return {
    view: s.view, detail: s.detail, paused: s.paused,
    flows: { all: s.all, closed: s.closed, filter: s.filter, sort: s.sort, reverse: s.reverse, frozen: s.frozen, offset: s.offset, height },
  };
}
