/**
 * What the data side hands the UI: one frame of plain data, only the rows the screen shows
 * (a store may hold 50,000 flows; the UI gets the 30 that fit). Every string from the network or
 * another process is already made visible (text/visible.ts).
 */
import type { Banner } from '../state/banner.js';
import type { WatchFlow } from '../state/flow-state.js';
import type { GroupRow } from '../state/groups.js';
import type { FlowViewQuery } from '../state/flow-view.js';
import type { ViewName } from '../state/keys.js';

export interface Header {
  session: number | null;
  /** "live: any", "store: /var/lib/.../audit.db", "import: pull.pcapng". */
  source: string;
  /** Seconds since the store was last written (a daemon's store), else null. */
  lastWriteAgoS: number | null;
  /** The session is still being captured (a live session not ended). */
  live: boolean;
}

export interface ClaimLine {
  id: string;
  verdict: string;
  reason: string;
  /** The coverage problems that bear on it, or "coverage ok". */
  coverage: string;
  /** The verdict differs from the previous evaluation: true in the one frame that flashes it (the next frame clears it). */
  changed: boolean;
  /** Evidence flows, one line each ("#7 registry registry.ollama.ai 203.0.113.10:443"). */
  evidence: string[];
}

export interface CoverageLine {
  packets: number;
  drops: number | null;
  lossPercent: number | null;
  unattributedFlows: number;
  unattributedBytes: number;
  expiredEarly: number;
  problems: string[];
  /** Why attribution confidence is lowered (the session's `confidence_note`), else null. */
  confidenceNote: string | null;
}

/** One inbound API request: who asked (class and client), what, and the flows it caused. */
export interface ApiLine {
  cls: string;
  client: string;
  request: string;
  /** The model named in the request's body (`http.model`; "(cloud)" after a cloud model), null when not read or not named. */
  model: string | null;
  caused: string[];
}

export type FrameRows =
  | { kind: 'flows'; rows: (WatchFlow & { ageS: number })[] }
  | { kind: 'groups'; by: 'host' | 'activity'; rows: GroupRow[] }
  | { kind: 'claims'; rows: ClaimLine[] }
  | { kind: 'coverage'; rows: string[] }
  | { kind: 'api'; rows: ApiLine[] };

export interface Frame {
  nowMs: number;
  header: Header;
  banner: Banner;
  claims: ClaimLine[];
  /** The session's first claims evaluation is still running (the dashboard draws before it): the strip says so. */
  judging?: boolean;
  coverage: CoverageLine | null;
  /**
   * Why a SILENT banner may not mean silence, or null: coverage not evaluated yet, a coverage
   * problem, lowered attribution confidence, or a daemon's store not written lately.
   */
  doubt: string | null;
  list: FrameRows;
  /** Rows the view holds (the list is a window of them) and the window's first index. */
  total: number;
  /** Every flow of the session read so far: open and closed, Ollama's or not (the lines' count). */
  sessionFlows: number;
  offset: number;
  /** Lines of the open flow's detail (Enter), else null. */
  detail: string[] | null;
}

/** What the UI asks for: the view and its choices, and how many rows fit. */
export interface FrameQuery {
  view: ViewName;
  flows: Omit<FlowViewQuery, 'frozen'> & { frozen: boolean };
  detail: number | null;
  /** Space: the data stops being read (what is shown stays); keys still move over it. */
  paused: boolean;
}

/** Where frames come from: a store another process writes, the live engine, or a test. */
export interface DataSource {
  /** The UI's choices changed (or it wants a fresh frame now): answer with a frame soon. */
  query(q: FrameQuery): void;
  onFrame(listener: (f: Frame) => void): void;
  /** Writes the flow's evidence packets as pcapng; resolves to the path written or a one-line reason. */
  exportEvidence(flowId: number): Promise<string>;
  /** Writes a report folder of the session; resolves to the folder or a one-line reason. */
  writeReport(): Promise<string>;
  close(): Promise<void>;
}
