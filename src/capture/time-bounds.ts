/**
 * The times a packet may sanely carry. A capture file sets its own clock (pcap seconds, pcapng
 * if_tsoffset and 64-bit counts), so a hostile or broken file can say year 1970, year 2300 or
 * −2^62 s; stored, such a time breaks every reader that formats it. Packets outside these
 * bounds are counted as skipped (`bad-timestamp`), never stored.
 */

/** 1990-01-01T00:00:00Z in µs: no capture tool we read wrote a file before. */
export const EARLIEST_SANE_US = 631_152_000_000_000;

/** How far past the importing machine's clock a packet may lie (clocks of two hosts differ). */
export const FUTURE_SLACK_US = 86_400_000_000;

/** Latest sane packet time for a capture read when the wall clock says `nowUs`. */
export function latestSaneUs(nowUs: number): number {
  return nowUs + FUTURE_SLACK_US;
}
