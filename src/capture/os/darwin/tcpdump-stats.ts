/**
 * tcpdump's statistics lines, printed on stderr when it exits (tcpdump.c, info()):
 *   "24 packets captured" / "31 packets received by filter" / "7 packets dropped by kernel"
 * ("packet" when the count is 1). Newer versions add "N packets dropped by interface" (not a
 * kernel buffer drop: kept out of the kernel count).
 */
export interface TcpdumpStats {
  captured: number | null;
  receivedByFilter: number | null;
  droppedByKernel: number | null;
}

const STATS_LINE = /^(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)$/;

/** True for one of tcpdump's statistics lines. */
export function isStatsLine(line: string): boolean {
  return STATS_LINE.test(line.trim());
}

/** The counters of tcpdump's stderr, or null when it printed no statistics line. */
export function parseTcpdumpStats(stderr: string): TcpdumpStats | null {
  const out: TcpdumpStats = { captured: null, receivedByFilter: null, droppedByKernel: null };
  let any = false;
  for (const line of stderr.split('\n')) {
    const m = STATS_LINE.exec(line.trim());
    if (m === null) continue;
    any = true;
    const n = Number(m[1]);
    if (m[2] === 'captured') out.captured = n;
    else if (m[2] === 'received by filter') out.receivedByFilter = n;
    else if (m[2] === 'dropped by kernel') out.droppedByKernel = n;
  }
  return any ? out : null;
}
