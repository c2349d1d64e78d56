/**
 * The one seeded pseudo-random generator of the tests: the same seed gives the same sequence on
 * every run and machine, so a randomised test that fails can be replayed.
 */

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [0, n) from a generator. */
export function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}
