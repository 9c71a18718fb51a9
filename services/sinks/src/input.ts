/**
 * The falcosidekick-compatible HTTP input: an existing Falco (http_output,
 * or falcosidekick's forwarder) POSTs its JSON alerts here, and they are
 * stored in SAKER_ALERTS like the engine's own.
 *
 *   POST /         one Falco JSON alert → 200 once the stream stored it;
 *                  400 naming the bad field; 413 past the size limit;
 *                  503 when the stream did not store it (the sender retries)
 *   POST /test     publishes a test alert, as falcosidekick's /test does
 *   GET  /healthz  {"status":"ok"} (503 once stopping or when the bus is closed)
 *   GET  /ping     pong
 *
 * With bearer tokens or a TLS client CA configured, the POSTs need one of
 * them (401 otherwise); /healthz and /ping stay open for probes. Bodies
 * nested deeper than MAX_JSON_DEPTH are refused (400) before parsing.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gunzip } from 'node:zlib';
import { type AlertPriority, type Bus, NoStreamError, STREAMS, SUBJECTS, toToken } from '@saker/bus';
import { type FalcoAlert, formatAlertJson, parsePriority } from '@saker/rules';
import { bearerTokenMatches } from '@saker/telemetry';
import { parseAlert } from './alert.js';
import { AlertValidationError } from './errors.js';
import type { SinksMetrics } from './metrics.js';
import type { InputTls, SinksLog } from './options.js';

export interface InputDeps {
  readonly bus: Bus;
  readonly metrics: SinksMetrics;
  readonly log: SinksLog;
  readonly hostname: string;
  readonly maxBodyBytes: number;
  readonly tls?: InputTls | null;
  readonly bearerTokens?: readonly string[];
}

/** The test alert `POST /test` publishes (falcosidekick's, in Saker's words). */
function testAlert(hostname: string, now: Date = new Date()): FalcoAlert {
  const time = now.toISOString();
  return {
    hostname,
    output: `${time.slice(11, 23)}000000: Debug This is a test from saker`,
    priority: 'Debug',
    rule: 'Test rule',
    source: 'debug',
    tags: ['example', 'test'],
    time,
    output_fields: { 'proc.name': 'saker', 'user.name': 'saker' },
  };
}

class RequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw new RequestError(413, `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  if (encoding !== 'gzip') throw new RequestError(415, `Content-Encoding ${encoding} is not supported`);
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: limit }, (err, out) => {
      if (err)
        reject(
          new RequestError(
            (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 413 : 400,
            `bad gzip body: ${err.message}`,
          ),
        );
      else resolve(out);
    });
  });
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export class AlertInput {
  readonly #d: InputDeps;
  readonly #server: Server;
  readonly #tokens: readonly Buffer[];
  #stopping = false;

  constructor(deps: InputDeps) {
    this.#d = deps;
    this.#tokens = (deps.bearerTokens ?? []).map((t) => Buffer.from(t, 'utf8'));
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res);
    };
    const tls = deps.tls ?? null;
    this.#server =
      tls === null
        ? createServer(onRequest)
        : createHttpsServer(
            {
              cert: tls.cert,
              key: tls.key,
              // Verified per request: a sender without a certificate may still bring a token.
              ...(tls.clientCa === undefined
                ? {}
                : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false }),
            },
            onRequest,
          );
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Throws a 401 RequestError unless the request proves who sent it (when anything is configured). */
  #authenticate(req: IncomingMessage): void {
    const clientCa = this.#d.tls?.clientCa !== undefined;
    if (this.#tokens.length === 0 && !clientCa) return;
    if (clientCa && (req.socket as TLSSocket).authorized === true) return;
    if (bearerTokenMatches(req.headers.authorization, this.#tokens)) return;
    const ways: string[] = [];
    if (clientCa) ways.push('a client certificate signed by the configured CA');
    if (this.#tokens.length > 0) ways.push('an Authorization: Bearer token');
    throw new RequestError(401, `authentication required: ${ways.join(' or ')}`);
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.#d.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let status = 200;
    try {
      if (req.method === 'GET' && path === '/ping') {
        send(res, 200, 'pong\n');
      } else if (req.method === 'GET' && path === '/healthz') {
        const ok = !this.#stopping && !this.#d.bus.isClosed;
        status = ok ? 200 : 503;
        send(res, status, JSON.stringify({ status: ok ? 'ok' : 'unavailable' }), 'application/json');
      } else if (req.method === 'POST' && path === '/') {
        this.#authenticate(req);
        const body = await readBody(req, this.#d.maxBodyBytes);
        const parsed = parseAlert(body);
        await this.#publish(parsed.alert, parsed.text);
        send(res, 200, 'ok\n');
      } else if (req.method === 'POST' && path === '/test') {
        this.#authenticate(req);
        await readBody(req, this.#d.maxBodyBytes);
        const alert = testAlert(this.#d.hostname);
        await this.#publish(alert, formatAlertJson(alert));
        send(res, 200, 'ok\n');
      } else if (path === '/' || path === '/test' || path === '/ping' || path === '/healthz') {
        status = 405;
        send(res, status, `method ${req.method ?? ''} not allowed on ${path}\n`);
      } else {
        status = 404;
        send(res, status, 'not found\n');
      }
    } catch (err) {
      if (err instanceof AlertValidationError) status = 400;
      else if (err instanceof RequestError) status = err.status;
      else status = 503;
      if (status === 503) this.#d.log('warn', `input: alert not stored: ${String(err)}`);
      const message = err instanceof Error ? err.message : String(err);
      if (status === 401) res.setHeader('www-authenticate', 'Bearer');
      if (!res.headersSent) send(res, status, `${message}\n`);
      else res.destroy();
    } finally {
      this.#d.metrics.inputRequests.inc({ path: knownPath(path), code: String(status) });
    }
  }

  async #publish(alert: FalcoAlert, text: string): Promise<void> {
    const priority = (parsePriority(alert.priority) ?? 'DEBUG').toLowerCase() as AlertPriority;
    const subject = SUBJECTS.alert(toToken(alert.source), priority);
    const data = new TextEncoder().encode(text);
    // A sender that retries the same alert (timeout after we stored it) is de-duplicated by the stream.
    const msgId = createHash('sha256').update(text).digest('base64url');
    try {
      await this.#d.bus.publishDurable(subject, data, { msgId });
    } catch (err) {
      if (!(err instanceof NoStreamError)) throw err;
      await this.#d.bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      await this.#d.bus.publishDurable(subject, data, { msgId });
    }
    this.#d.metrics.inputAlerts.inc();
  }

  async close(): Promise<void> {
    this.#stopping = true;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }
}

function knownPath(path: string): string {
  return path === '/' || path === '/test' || path === '/ping' || path === '/healthz' ? path : 'other';
}
