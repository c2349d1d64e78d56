import { closeSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createExclusive, safeOutputDir } from '../store/safe-files.js';

/**
 * `export --out FILE`: a new file (exclusive create; an existing name or a link is refused) in a
 * folder that passes safe-files' rules, as a stream. Writes are synchronous: what was written is
 * in the file when the export saves its cursor.
 */
export function openOutFile(path: string): Writable {
  safeOutputDir(dirname(resolve(path)));
  const fd = createExclusive(path);
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      closeSync(fd);
      done();
    },
  });
}
