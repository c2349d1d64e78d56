// A TCP service for short-lived connections: reads a request, "thinks" OAE2E_THINK_MS (default 15),
// answers one line and closes. Usage: node think.mjs <addr> <port>
import net from 'node:net';

const THINK_MS = Number(process.env.OAE2E_THINK_MS ?? 15);
const [addr, port] = process.argv.slice(2);
net.createServer((c) => {
  c.on('error', () => {});
  c.once('data', () => setTimeout(() => c.end('ok\n'), THINK_MS));
}).listen(Number(port), addr, () => console.log('think ready'));
