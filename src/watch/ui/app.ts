/**
 * The dashboard's stateful shell: the user's choices (state/ui-state.ts), the latest frame from
 * the data source, the terminal's size (its own resize handling: ink 6.8 does not re-layout on a
 * resize by itself), keys → actions, and the `e`/`r` side effects. Drawing is Screen's.
 */
import { createElement as h, useLayoutEffect, useMemo, useRef, useState, type ReactElement } from 'react';
import type { DataSource, Frame } from '../data/frame.js';
import { keyToAction, splitInput, type KeyInfo } from '../state/keys.js';
import { frameQueryOf, initialUiState, reduce, type ListInfo, type UiState } from '../state/ui-state.js';
import { layoutOf } from './layout.js';
import { ink } from './load-ink.js';
import { Screen } from './screen.js';

// ink through load-ink.ts: without es-toolkit's barrel (one copy of each component and hook either way).
const { useInput, useStdout } = ink;

export interface WatchAppProps {
  source: DataSource;
  noColor: boolean;
  /** Start with closed flows shown (a finished session: every flow is closed). */
  closed: boolean;
  onQuit: () => void;
}

function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useLayoutEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => { stdout.off('resize', onResize); };
  }, [stdout]);
  return size;
}

function listOf(frame: Frame | null, ui: UiState, height: number): ListInfo {
  const rows = frame?.list.kind === 'flows' ? frame.list.rows : [];
  const offset = frame?.offset ?? 0;
  return { total: frame?.total ?? 0, height, idAt: (i) => (ui.view === 'flows' ? rows[i - offset]?.id : undefined) };
}

export function WatchApp(p: WatchAppProps): ReactElement {
  const size = useTerminalSize();
  const [ui, setUi] = useState(() => initialUiState(p.closed));
  const [frame, setFrame] = useState<Frame | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const uiRef = useRef(ui);
  // Layout effects: ink's renderer may hold passive effects until the next render, and a key's
  // query must reach the data side at once.
  useLayoutEffect(() => { p.source.onFrame(setFrame); }, [p.source]);
  const tableRows = layoutOf(size.columns, size.rows, frame?.claims.length ?? 1)?.tableRows ?? 1;
  const query = useMemo(() => frameQueryOf(ui, tableRows), [ui, tableRows]);
  useLayoutEffect(() => { p.source.query(query); }, [p.source, query]);

  useInput((input, key) => { for (const [one, info] of splitInput(input, key)) onKey(one, info); });

  function onKey(input: string, key: KeyInfo): void {
    const current = uiRef.current;
    const action = keyToAction(input, key, current.editing !== null);
    if (!action) return;
    if (action.type === 'quit') { p.onQuit(); return; }
    if (action.type === 'exportEvidence') {
      const id = current.detail ?? listOf(frame, current, tableRows).idAt(current.cursor);
      if (id === undefined) { setNotice('e: select a flow first (Flows view)'); return; }
      setNotice(`writing the evidence of flow #${id}…`);
      void p.source.exportEvidence(id).then(setNotice);
      return;
    }
    if (action.type === 'report') {
      setNotice('writing a report of this session…');
      void p.source.writeReport().then(setNotice);
      return;
    }
    // Keys can arrive faster than renders (a paste, a test): each applies to the state the last one made.
    uiRef.current = reduce(current, action, listOf(frame, current, tableRows));
    setUi(uiRef.current);
  }

  return h(Screen, { frame, ui, columns: size.columns, rows: size.rows, noColor: p.noColor, notice });
}
