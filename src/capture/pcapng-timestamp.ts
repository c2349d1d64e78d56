/**
 * pcapng timestamps are 64-bit counts of 1/U second (U from if_tsresol), split in two 32-bit
 * halves. At nanosecond resolution today's values (~1.7e18) are far above 2^53, so a plain
 * `high * 2^32 + low` in a double would lose up to 256 ns before the division. These helpers
 * divide and multiply in 16-bit digits so every intermediate stays an exact integer double.
 */

const TWO32 = 4294967296;
const TWO16 = 65536;
/** Above this, 16-bit long division could see an inexact quotient digit (see unitsToUs). */
const MAX_EXACT_UNITS = 2 ** 37;

/** Units per second for an if_tsresol byte: 10^-v, or 2^-(v & 0x7f) when the high bit is set. */
export function unitsPerSecond(tsresol: number): number {
  return tsresol & 0x80 ? 2 ** (tsresol & 0x7f) : 10 ** tsresol;
}

/** Microseconds since the epoch of the 64-bit count high:low at `units` per second. */
export function unitsToUs(high: number, low: number, units: number): number {
  if (units === 1e6) return high * TWO32 + low; // exact below 2^53 µs (year 2255)
  if (units > MAX_EXACT_UNITS || units < 1) return ((high * TWO32 + low) / units) * 1e6;
  // Long division of the 64-bit count by `units`, 16 bits at a time: each partial dividend is
  // below units * 2^16 <= 2^53, so it and its quotient digit are exact.
  let q = 0;
  let r = 0;
  let x = r * TWO16 + (high >>> 16);
  let d = Math.floor(x / units);
  r = x - d * units;
  q = d;
  x = r * TWO16 + (high & 0xffff);
  d = Math.floor(x / units);
  r = x - d * units;
  q = q * TWO16 + d;
  x = r * TWO16 + (low >>> 16);
  d = Math.floor(x / units);
  r = x - d * units;
  q = q * TWO16 + d;
  x = r * TWO16 + (low & 0xffff);
  d = Math.floor(x / units);
  r = x - d * units;
  q = q * TWO16 + d;
  return q * 1e6 + (r * 1e6) / units;
}

/**
 * Splits `tsUs` into the 64-bit count at `units` per second (a whole number of µs or finer):
 * writes high into out[0] and low into out[1], exactly for any time before 2106.
 */
export function usToUnits(tsUs: number, units: number, out: number[]): void {
  const sec = Math.floor(tsUs / 1e6);
  let frac = Math.round(((tsUs - sec * 1e6) * units) / 1e6);
  let s = sec;
  if (frac >= units) {
    s += 1;
    frac -= units;
  }
  // count = s * units + frac, with s split into 16-bit halves so each product is exact.
  const sHi = Math.floor(s / TWO16);
  const sLo = s - sHi * TWO16;
  const b = sHi * units; // count contribution b * 2^16
  const bHi = Math.floor(b / TWO16);
  const bLo = b - bHi * TWO16;
  const c = bLo * TWO16 + sLo * units + frac; // below 2^53 for units <= 1e9
  const cHi = Math.floor(c / TWO32);
  out[0] = bHi + cHi;
  out[1] = c - cHi * TWO32;
}
