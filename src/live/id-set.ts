/**
 * A set of flow ids (whole numbers, 1 or more) in one Float64Array: open addressing, linear probing,
 * deletion by backward shift (no tombstones), at most half full, shrunk when an eighth full. For a set
 * of hundreds of thousands of ids that changes all the time (store-gaps.ts: a flood's held flows with
 * a stored row, ~500,000): a JS Set of 500,000 numbers held ~10.5 MB of heap, ~21 MB after a flood's
 * churn of deletions and additions (its deleted entries count until it rehashes); this holds 8 MB.
 */
export class IdSet {
  private ids = new Float64Array(MIN_BUCKETS); // 0: an empty bucket
  private mask = MIN_BUCKETS - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return id >= 1 && this.ids[this.find(id)] === id;
  }

  add(id: number): void {
    if (!(id >= 1)) throw new RangeError(`flow ids are 1 or more, not ${id}`);
    const i = this.find(id);
    if (this.ids[i] === id) return;
    this.ids[i] = id;
    if (++this.count * 2 > this.ids.length) this.rehash(this.ids.length * 2);
  }

  /** Removes id; true when it was there. */
  delete(id: number): boolean {
    if (!(id >= 1)) return false; // 0 marks an empty bucket: never an id
    let i = this.find(id);
    if (this.ids[i] !== id) return false;
    const ids = this.ids;
    const mask = this.mask;
    // Backward shift: move each later entry of the run into the hole unless its home lies cyclically in (i, j].
    for (let j = (i + 1) & mask; ids[j] !== 0; j = (j + 1) & mask) {
      const home = bucketOf(ids[j], mask);
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        ids[i] = ids[j];
        i = j;
      }
    }
    ids[i] = 0;
    if (--this.count * 8 < ids.length && ids.length > MIN_BUCKETS) this.rehash(ids.length / 2);
    return true;
  }

  /** The bucket holding id, else the empty bucket where it would go. */
  private find(id: number): number {
    const ids = this.ids;
    const mask = this.mask;
    let i = bucketOf(id, mask);
    while (ids[i] !== 0 && ids[i] !== id) i = (i + 1) & mask;
    return i;
  }

  private rehash(buckets: number): void {
    const old = this.ids;
    this.ids = new Float64Array(buckets);
    this.mask = buckets - 1;
    for (let k = 0; k < old.length; k++) if (old[k] !== 0) this.ids[this.find(old[k])] = old[k];
  }
}

const MIN_BUCKETS = 1024;

/** Fibonacci hashing of the id's low and high 32 bits: consecutive ids spread over the buckets. */
function bucketOf(id: number, mask: number): number {
  return (Math.imul((id >>> 0) ^ ((id / 4294967296) | 0), 0x9e3779b1) >>> 0) & mask;
}
