/**
 * Human text for numbers, percentages and times: the one place every reader-facing output
 * (import, claims, verify, daemon, report.md, report.html) formats them, so no raw float or
 * JSON reaches a reader.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

/** "2026-11-23 07:41:15.203860 UTC" from an ISO string; "—" for null; anything else (`invalid`) as it is. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  if (!/^\d{4}-/.test(iso)) return iso;
  return `${iso.replace('T', ' ').replace(/Z$/, '')} UTC`;
}

/** Seconds as "850 ms", "3.1 s", "4 min 12 s", "2 h 5 min". */
export function formatDuration(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

/** "addr:port" with IPv6 in brackets; ICMP types and port-less protocols without a port. */
export function endpoint(addr: string, port: number, proto: string): string {
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * "SF (ShADdFf)": Zeek's conn_state and history of a flow (README lists their meanings);
 * "—" for a row stored before they were recorded.
 */
export function connText(f: { conn_state: string | null; history: string | null }): string {
  if (f.conn_state === null) return '—';
  return f.history ? `${f.conn_state} (${f.history})` : f.conn_state;
}

/**
 * A percentage (0..100) with at most two decimals, trailing zeros dropped: "0%", "1.5%", "99.41%".
 * Values a rounding would turn into 0 or 100 say so ("< 0.01%", "> 99.99%"): a small loss is not none.
 */
export function formatPercent(p: number): string {
  if (p > 0 && p < 0.005) return '< 0.01%';
  if (p < 100 && p >= 99.995) return '> 99.99%';
  return `${Number(p.toFixed(2))}%`;
}

/** A share (0..1) as a percentage: 0.9940611 -> "99.41%". */
export function formatShare(share: number): string {
  return formatPercent(share * 100);
}
