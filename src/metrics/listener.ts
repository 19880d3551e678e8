// The metrics listener (docs/METRICS.md, "Access"): a separate plain-HTTP server that answers only
// GET /metrics, on the address `metrics.listen` (REKEY_METRICS_LISTEN, e.g. 127.0.0.1:9464). Off by
// default; the API port never serves metrics. Access control is where it is listening: loopback, a
// private interface or a network policy (Prometheus cannot sign SigV4 on a scrape).
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { ConfigurationError } from '../errors.ts';
import type { Metrics } from './registry.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:9464", "[::1]:9464", "localhost:9464" -> { host, port }; ConfigurationError otherwise. */
export function parseListen(value: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new ConfigurationError(`metrics.listen (REKEY_METRICS_LISTEN) must be host:port, e.g. 127.0.0.1:9464; got ${JSON.stringify(value.slice(0, 100))}`);
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6) throw new ConfigurationError(`metrics.listen: ${JSON.stringify(host)} is not an IPv6 address`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export interface MetricsListener {
  server: Server;
  /** The bound address (port 0 in the configuration picks a free one). */
  address: ListenAddress;
  url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(metrics: Metrics, at: ListenAddress, log: (message: string) => void): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: this listener serves GET /metrics only.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed.\n');
      return;
    }
    metrics.scrape().then(
      ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        log(`metrics: a collector failed: ${err instanceof Error ? err.message : String(err)}`);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('A metrics collector failed; see the server log.\n');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? new ConfigurationError(`metrics.listen: ${at.host}:${at.port} is already in use (REKEY_METRICS_LISTEN)`)
      : e));
    server.listen(at.port, at.host, () => resolve());
  });
  const a = server.address();
  const address = a && typeof a === 'object' ? { host: a.address, port: a.port } : at;
  if (!isLoopback(at.host)) log(`metrics: listening on ${at.host}:${address.port}, not a loopback address: anyone who can reach it reads the metrics (docs/METRICS.md, "Access")`);
  return {
    server, address,
    url: `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
