/**
 * Waiting for a capture tool (tcpdump -U, which writes each packet as it comes) to have written
 * what a test sent, instead of sleeping a fixed time before stopping it. The file is read with
 * the project's reader while it grows (a cut last record is not an error).
 */
import { readCaptureFile } from '../../src/capture/read-file.js';
import { decodePacket } from '../../src/decode/decode-packet.js';
import { newDecoded, newSkipCounts, IPPROTO, TCP_FIN } from '../../src/decode/decoded.js';

export interface CaptureCounts {
  /** TCP segments with FIN: a closed connection has two. */
  tcpFins: number;
  udpPackets: number;
}

/** What the capture file holds so far (its last record may still be cut). */
export function countsIn(file: string): CaptureCounts {
  const c = { tcpFins: 0, udpPackets: 0 };
  const d = newDecoded();
  const skips = newSkipCounts();
  try {
    readCaptureFile(file, (p) => {
      if (!decodePacket(p, d, skips)) return;
      if (d.proto === IPPROTO.TCP && (d.tcpFlags & TCP_FIN) !== 0) c.tcpFins++;
      else if (d.proto === IPPROTO.UDP) c.udpPackets++;
    });
  } catch {
    // no file header written yet
  }
  return c;
}

/** Resolves once `enough(counts)` holds for the file; fails after timeoutMs, saying what it saw. */
export async function waitForCapture(file: string, enough: (c: CaptureCounts) => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let c = countsIn(file); !enough(c); c = countsIn(file)) {
    if (Date.now() > until) throw new Error(`${file}: after ${timeoutMs} ms the capture holds ${JSON.stringify(c)}, not yet enough`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once both FINs of `connections` closed TCP connections are in the file. */
export function waitForClosed(file: string, connections: number, timeoutMs?: number): Promise<void> {
  return waitForCapture(file, (c) => c.tcpFins >= 2 * connections, timeoutMs);
}
