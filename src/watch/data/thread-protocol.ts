/** The messages between the UI thread and the data thread (store-thread.ts), as plain data. */
import type { Frame, FrameQuery } from './frame.js';

export interface ThreadSettings {
  dbPath: string;
  session?: number;
  /** ms between data_version checks; 0: no polling, the owner sends `changed` (the in-process engine). */
  pollMs: number;
  frameMs: number;
  claimsEveryMs: number;
  /** Where `e` and `r` write (the working directory by default). */
  outDir: string;
}

export type ThreadMessage =
  | { type: 'query'; query: FrameQuery }
  | { type: 'changed' }
  | { type: 'export'; id: number; flowId: number }
  | { type: 'report'; id: number }
  | { type: 'close' };

export type ThreadReply =
  | { type: 'frame'; frame: Frame }
  | { type: 'done'; id: number; text: string }
  | { type: 'failed'; message: string; id?: number };
