import { defineConfig } from 'vitest/config';

/**
 * Three groups, run one after the other (sequence.groupOrder):
 *
 * 0 `unit`: everything else, files in parallel.
 * 1 `host`: files that share host state: captures and floods on lo, network namespaces, nginx.
 *   One file at a time, so a tcpdump on lo never records another file's traffic and no two
 *   files load the same interface.
 * 2 `timing`: files whose assertions are about time (arrival timestamps, kernel drops, a socket
 *   that lives ~15 ms attributed, the daemon stopping within 2 s...). One file at a time with
 *   nothing else running, so their limits hold on a loaded 2-core machine. A new file with
 *   timing assertions, or one that shares lo or namespaces, belongs in TIMING or HOST.
 */
const TIMING = [
  'test/live/{timestamps,kernel-drops,loopback,two-interfaces,stop-deadline}.test.ts',
  // A burst while JS is blocked must fit in the capture ring (a veth oar3-cr0 and namespace oar3-cr).
  'test/live/capture-ring.test.ts',
  // A lone packet on lo reaches JS about the ring's block timeout late (50 ms), within a bound.
  'test/live/buffer-timeout.test.ts',
  'test/live/e2e/**/*.test.ts',
  'test/live/verify/**/*.test.ts',
  'test/attribution/procfs-short-lived.test.ts',
  // bpftrace reports every socket event machine-wide: another file's flood fills its buffer and
  // events are lost (counted), so the short connections it must name would be among them.
  'test/attribution/kernel-events.test.ts',
  // A daemon whose stand-in bpftrace attaches 3 s after the start; auto's notice comes at 2 s.
  'test/attribution/kernel-attach-late.test.ts',
  'test/attribution/procfs-live.test.ts',
  // Debounce intervals measured in ms, and live daemons attributing connections of a few ms.
  'test/attribution/procfs-fake-root.test.ts',
  'test/attribution/loopback-ends.test.ts',
  // Asserts zero kernel drops while two daemons and tcpdump capture a forwarded download.
  'test/live/forward.test.ts',
  // A daemon attributing a connection held by a process with a hostile name.
  'test/text/hostile-comm.test.ts',
  // Three daemons (root, the unit's capabilities, CAP_NET_RAW only) attributing the same connections.
  'test/service/least-privilege.test.ts',
  // Daemons (root, the default unit's rights, the procfs unit's) naming connections of ~1 ms.
  'test/service/kernel-events-rights.test.ts',
  // Counts minor GCs while the hot path runs: under a parallel run it saw 2 (the worker's own
  // traffic, not the code under test); alone it sees none.
  'test/flows/no-alloc.test.ts',
  // Drives `watch` in tmux and waits for its frames (keys, resizes, exit).
  'test/watch/tmux-e2e.test.ts',
  // `demo --watch` replayed at the capture's pace: lines per replayed second, the dashboard in tmux.
  'test/watch/demo-replay-e2e.test.ts',
  // watch capturing live in namespaces while a pull runs.
  'test/watch/live-netns.test.ts',
  // A writer process's longest commit while retention deletes 30,000 flows.
  'test/store/retention-writer.test.ts',
  // macOS's fallback on lo: a connection of a few ms must close before an lsof run, a burst fit in a few runs.
  'test/live/darwin/lsof-fallback.test.ts',
  // The lsof attributor's debounce: two stand-in runs' own start stamps at least the interval apart.
  'test/attribution/lsof-attributor.test.ts',
  // The engine's event-loop stalls while another connection holds its store locked.
  'test/live/store-thread.test.ts',
];
const HOST = [
  'test/flows/loopback-capture.test.ts',
  'test/capture/tshark.test.ts',
  'test/report/api-body.test.ts',
  'test/exposure/exposure-netns.test.ts',
  'test/exposure/exposure-nginx.test.ts',
  'test/attribution/procfs-netns.test.ts',
  'test/exposure/exposure-exit.test.ts',
  'test/live/evidence-dir.test.ts',
  // A capture on lo through the real addon with its patch marker hidden.
  'test/live/unpatched-cap.test.ts',
  // Two daemons capturing the host's lo.
  'test/store/live-writer.test.ts',
  'test/text/hostile-environ.test.ts',
  // A daemon and a real Prometheus in namespaces of its own (oasv-*), scraping during a pull.
  'test/service/prometheus.test.ts',
  // A daemon on lo, its store on a tmpfs mounted at /var/lib/ollama-audit, filled mid-run.
  'test/service/status.test.ts',
  // A live daemon (restarted) in its own namespace while export --follow reads the store.
  'test/export/follow-live.test.ts',
  // A UDP flood from a namespace of its own (oafx-mem) into the live engine on its veth: memory per open flow.
  'test/live/held-flow-memory.test.ts',
  // A live daemon with --retain 3s in its own namespace (oart-live).
  'test/live/retention-live.test.ts',
  // A 200k-flow store read by CLI children under heap caps (CPU-bound minutes; a tmpfs mount as root).
  'test/store/big-store.test.ts',
  // dumpcap capturing lo, piped into the streaming pcapng reader.
  'test/capture/pcapng-stream-live.test.ts',
];

/**
 * One file at a time: in vitest 3.2 a project cannot set fileParallelism (a root-only option);
 * a single fork runs the project's files one after the other.
 */
const ONE_AT_A_TIME = { pool: 'forks', poolOptions: { forks: { singleFork: true } } } as const;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...TIMING, ...HOST], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'host', include: HOST, ...ONE_AT_A_TIME, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'timing', include: TIMING, ...ONE_AT_A_TIME, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
