/**
 * The /metrics HTTP listener of `daemon --metrics`. It is bound before capture starts, so an
 * address in use (or not on this host) stops the daemon at once with one line and exit 2.
 */
import { createServer, type Server } from 'node:http';
import { UserError } from '../errors.js';
import { metricsArg, type MetricsAddress } from '../settings.js';
import { CONTENT_TYPE } from './prometheus-text.js';

export interface MetricsServer {
  /** Where it listens, as --metrics reads it (the port chosen when 0 was asked). */
  address: string;
  /** What GET /metrics answers, set once the engine runs (until then: 503). */
  serve(render: () => string): void;
  close(): Promise<void>;
}

export function listenMetrics(at: MetricsAddress): Promise<MetricsServer> {
  let render: (() => string) | null = null;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('ollama-audit serves /metrics only\n');
    } else if (render === null) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('capture not started yet\n');
    } else {
      res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : render());
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new UserError(`--metrics ${metricsArg(at)}: ${whyNot(err)}`)));
    server.listen(at.port, at.host, () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : at.port;
      resolve({
        address: metricsArg({ host: at.host, port }),
        serve: (r) => { render = r; },
        close: () => new Promise((done) => { server.close(() => done()); server.closeAllConnections(); }),
      });
    });
  });
}

function whyNot(err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE') return 'that port is already in use (another daemon or exporter?): choose another port';
  if (err.code === 'EADDRNOTAVAIL') return 'that address is not one of this host\'s: give a local address, or only the port for loopback';
  if (err.code === 'EACCES') return 'not allowed to listen there (ports below 1024 need privileges): choose a port of 1024 or more';
  return err.message;
}
