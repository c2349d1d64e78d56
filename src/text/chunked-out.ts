/**
 * Writes many small pieces to a stream in chunks of about 64 KiB and waits for 'drain' when the
 * stream says its buffer is full: output of any size, with memory bounded by the chunk size.
 */
import { once } from 'node:events';

const CHUNK = 64 * 1024;

export class ChunkedOut {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Queues text; resolves at once unless a full chunk had to wait for the stream to drain. */
  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }
}
