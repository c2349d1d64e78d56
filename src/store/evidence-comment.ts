/**
 * The per-packet comment of evidence files, in the format ptcpdump writes (see
 * src/attribution/packet-comment.ts): `PID: 1234\nCmd: /usr/bin/ollama`. Wireshark shows it
 * as the packet comment, and our own reader attributes the packet back from it.
 * Built once per flow and direction, when the sending process becomes known, never per packet.
 */
import type { Flow } from '../flows/flow.js';

/** ptcpdump-style comment naming the process; `Cmd` is the executable path, else the name. */
export function processComment(p: NonNullable<Flow['process']>): string {
  const cmd = p.exe ?? p.name;
  return cmd === '' ? `PID: ${p.pid}` : `PID: ${p.pid}\nCmd: ${cmd}`;
}
