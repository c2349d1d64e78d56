/**
 * Sets of byte ranges as a flat sorted array of disjoint [start, end) pairs: what a reassembler
 * has received (IP fragments, TCP stream heads).
 */

/** Adds [s, e), merging every held range it overlaps or touches. */
export function insertRange(r: number[], s: number, e: number): void {
  let i = 0;
  while (i < r.length && r[i + 1] < s) i += 2;
  let j = i;
  while (j < r.length && r[j] <= e) {
    if (r[j] < s) s = r[j];
    if (r[j + 1] > e) e = r[j + 1];
    j += 2;
  }
  r.splice(i, j - i, s, e);
}
