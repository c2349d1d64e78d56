import { parseAddr } from '../decode/addr-parse.js';

/**
 * Address text as the store keeps it back to the bytes a decoded packet holds, so packets can be
 * matched to stored flows without making a string per packet.
 */
export function addrFromText(text: string): Buffer {
  const b = parseAddr(text);
  if (b === null) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  return b;
}
