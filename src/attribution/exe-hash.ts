/**
 * SHA-256 of the executable a process runs, hashed once per file version (dev + inode + mtime
 * + size of the target of /proc/<pid>/exe) and never on the lookup path: a 100 MB binary is
 * streamed in the background and every process running it gets the digest when it is done.
 * Reading /proc/<pid>/exe rather than the path hashes what is running even if the file on
 * disk was replaced or deleted since.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync, type ReadStream } from 'node:fs';

export interface ExeHasher {
  /** The digest if already known; otherwise null now and `done` later (null when unreadable). */
  request(procRoot: string, pid: number, done: (sha256: string | null) => void): string | null;
  /** Files hashed so far. */
  hashed(): number;
  close(): void;
}

interface Job {
  path: string;
  key: string;
  waiters: Array<(sha: string | null) => void>;
}

export function createExeHasher(): ExeHasher {
  const known = new Map<string, string>();
  const running = new Map<string, Job>();
  const queue: Job[] = [];
  let active: ReadStream | null = null;
  let closed = false;

  function finish(job: Job, sha: string | null): void {
    running.delete(job.key);
    if (sha !== null) known.set(job.key, sha);
    active = null;
    if (!closed) for (const w of job.waiters) w(sha);
    next();
  }

  // One file at a time: hashing competes with capture for the CPU.
  function next(): void {
    if (active || closed) return;
    const job = queue.shift();
    if (!job) return;
    const hash = createHash('sha256');
    const stream = createReadStream(job.path, { highWaterMark: 256 * 1024 });
    active = stream;
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', () => finish(job, null));
    stream.on('end', () => finish(job, hash.digest('hex')));
  }

  return {
    request(procRoot, pid, done) {
      const path = `${procRoot}/${pid}/exe`;
      let key: string;
      try {
        const st = statSync(path, { bigint: true });
        key = `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
      } catch {
        return null; // no exe (kernel thread, gone, denied): stays null
      }
      const sha = known.get(key);
      if (sha !== undefined) return sha;
      const job = running.get(key);
      if (job) {
        job.waiters.push(done);
        return null;
      }
      const fresh: Job = { path, key, waiters: [done] };
      running.set(key, fresh);
      queue.push(fresh);
      next();
      return null;
    },
    hashed: () => known.size,
    close() {
      closed = true;
      queue.length = 0;
      active?.destroy();
      active = null;
    },
  };
}
