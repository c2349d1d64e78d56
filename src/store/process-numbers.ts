import type { ProcessRecord } from './session-rows.js';

/**
 * The `processes` rows of one session are numbered 1, 2, … in the order their processes are
 * first met, and flows point at that number (processes.seq). One numbering for imports (keyed by
 * pid and name from packet comments) and live captures (keyed by the procfs record).
 * `onNew` is called once per key, with its number and row, to write that row.
 */
export function processNumbering<K>(onNew: (seq: number, rec: ProcessRecord) => void) {
  const seqs = new Map<K, number>();
  return {
    /** The number of `key`, given a row the first time it is seen (`record` is called only then). */
    seqOf(key: K, record: () => ProcessRecord): number {
      let seq = seqs.get(key);
      if (seq === undefined) {
        seq = seqs.size + 1;
        seqs.set(key, seq);
        onNew(seq, record());
      }
      return seq;
    },
    /** The number already given to `key`, if any. */
    known: (key: K): number | undefined => seqs.get(key),
  };
}
