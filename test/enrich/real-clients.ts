/**
 * Gets the exact bytes real programs send, without a packet capture: a plain TCP server on
 * 127.0.0.1 records what arrives. Everything stays on loopback.
 */
import net from 'node:net';

/** The bytes the first client connection sent, per read, once `complete(all)` says they are all in. */
export async function recordFirstConnection(
  client: (port: number) => Promise<void>,
  complete: (all: Buffer) => boolean,
  reply?: (sock: net.Socket, all: Buffer) => boolean,
): Promise<Buffer> {
  let resolveBytes!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => { resolveBytes = r; });
  const srv = net.createServer((sock) => {
    const chunks: Buffer[] = [];
    sock.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (reply !== undefined && reply(sock, all)) return;
      if (complete(all)) { resolveBytes(all); sock.destroy(); }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const clientDone = client(port);
  const timeout = new Promise<Buffer>((_, rej) => setTimeout(() => rej(new Error('no complete bytes from client')), 15_000));
  try {
    return await Promise.race([got, timeout]);
  } finally {
    srv.close();
    await clientDone.catch(() => undefined);
  }
}

/**
 * True when `all` holds a whole TLS ClientHello: handshake records whose fragments add up to
 * the handshake length in the first record (RFC 8446 §5.1, §4).
 */
export function clientHelloComplete(all: Buffer, start = 0): boolean {
  if (all.length - start < 9) return false;
  const need = 4 + all.readUIntBE(start + 6, 3);
  let have = 0;
  let p = start;
  while (p + 5 <= all.length && have < need) {
    const len = all.readUInt16BE(p + 3);
    if (p + 5 + len > all.length) return false;
    have += len;
    p += 5 + len;
  }
  return have >= need;
}
