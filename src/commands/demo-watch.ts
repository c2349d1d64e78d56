/**
 * `demo --watch`: the bundled capture replayed into the dashboard as if it were being captured
 * now (issue #11), with no privileges: the live engine runs on a replay of the file
 * (capture/replay-capture.ts) instead of a capture device, writing a live session into the demo's
 * store, and the dashboard follows the engine in-process as `sudo watch` does. Attribution is what
 * the file's packets carry (ptcpdump comments): no procfs, no kernel events. When the file ends the
 * engine stops (its stop path: the session ends, everything written); the dashboard stays on the
 * final state until q, the lines end with it.
 */
import { startLiveEngine } from '../live/engine.js';
import { openReplayCapture } from '../capture/replay-capture.js';
import { engineTarget, showStore } from './watch-command.js';

export async function watchReplay(capturePath: string, dbPath: string, opts: { speed?: number; json?: boolean }): Promise<void> {
  const capture = openReplayCapture(capturePath, { speed: opts.speed });
  const engine = startLiveEngine({ db: dbPath, capture });
  const finished = capture.ended.then(() => engine.stop());
  try {
    await showStore({
      ...engineTarget(engine, dbPath, process.cwd()),
      // A replay's flows close within seconds: shown from the start (h hides them), so the final state shows every flow.
      showClosed: true,
      // Its store is small: claims judged again after every write, so the strip follows the replay.
      claimsEveryMs: 0,
      ended: finished,
    }, { json: opts.json });
  } finally {
    const summary = await engine.stop();
    if (summary.error) throw summary.error;
  }
}
