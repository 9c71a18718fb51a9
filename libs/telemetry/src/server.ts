/**
 * The telemetry endpoint every service exposes: `GET /metrics` (Prometheus)
 * and `GET /healthz` (JSON, 200 when healthy, 503 when not).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsRegistry } from './metrics.js';

export interface HealthCheck {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, HealthCheck>>;
}

export interface TelemetryServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface TelemetryServerOptions {
  /** Address to bind; default 127.0.0.1 (pass 0.0.0.0 or :: to expose it). */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  readonly metrics: MetricsRegistry;
  readonly health: () => HealthReport | Promise<HealthReport>;
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Builds a report from named checks: healthy when every check is. */
export function healthReport(checks: Readonly<Record<string, HealthCheck>>): HealthReport {
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

/**
 * Serves `/metrics` and `/healthz` until `close()` or until `signal` aborts.
 * Resolves once the port is bound.
 */
export async function serveTelemetry(
  opts: TelemetryServerOptions,
  signal?: AbortSignal,
): Promise<TelemetryServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new RangeError(`telemetry port must be an integer in 0..65535, got ${opts.port}`);
  }
  signal?.throwIfAborted();
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await listen(server, host, opts.port);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      signal?.removeEventListener('abort', onAbort);
      server.close(() => resolve());
      // Scrapers keep connections alive; do not wait for them to go away.
      server.closeAllConnections();
    });
    return closing;
  };
  const onAbort = (): void => {
    void close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  return { url: `http://${urlHost}:${port}`, port, close };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function handle(
  opts: TelemetryServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found: try /metrics or /healthz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    const body = opts.metrics.render();
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  let report: HealthReport;
  try {
    report = await opts.health();
  } catch (err) {
    report = {
      ok: false,
      checks: { health: { ok: false, detail: err instanceof Error ? err.message : String(err) } },
    };
  }
  res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
  res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify(report)}\n`);
}
