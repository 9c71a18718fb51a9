/**
 * The API server's audit webhook backend, received. It POSTs an
 * `audit.k8s.io/v1` EventList (batch mode) or one Event (blocking mode) and
 * decides what to do with the answer:
 *
 * - 2xx: delivered.
 * - 5xx, 429, or any answer with Retry-After: retried with backoff. Saker
 *   answers 503 + Retry-After when the events could not be handed to the
 *   bus, so none is lost to a NATS hiccup.
 * - other 4xx: not retried; the API server logs the error and drops the
 *   batch. Retrying would not make a bad event good.
 *
 * Hence a batch with some bad items: the good ones are handed to the bus,
 * and the answer is 400 naming each bad item. Refusing the whole batch would
 * lose the good events for ever (a 400 is not retried); answering 200 would
 * hide the problem from the API server's log. See docs/audit.md.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { JsonDepthError, parseJsonBounded } from '@saker/events';
import type { LogFn } from '@saker/runtime';
import { bearerTokenMatches, plaintextTokenWarning } from '@saker/telemetry';
import { readBody } from './body.js';
import { type RejectedItem, countLenient, decodeAuditBody } from './decode.js';
import { encodeAuditLine } from './encode.js';
import { AuditHandoffError, AuditRequestError } from './errors.js';
import type { AuditHandoff } from './handoff.js';
import type { AuditMetrics, RequestOutcome } from './metrics.js';

export interface WebhookTls {
  /** PEM: the server's certificate chain and key. */
  readonly cert: string;
  readonly key: string;
  /** PEM: the CA that signs clients' certificates. When set, a verified client certificate authenticates. */
  readonly clientCa?: string;
}

export interface ResolvedWebhookOptions {
  readonly host: string;
  readonly port: number;
  /** The path the API server posts to (`server:` in its webhook kubeconfig). */
  readonly path: string;
  readonly tls: WebhookTls | undefined;
  /** Bearer tokens that authenticate (the `token:` of the webhook kubeconfig's user). */
  readonly bearerTokens: readonly string[];
  /** Development only: accept requests that prove nothing. */
  readonly allowUnauthenticated: boolean;
  /** Bearer tokens over plain HTTP off loopback, accepted anyway (logged loudly at start). */
  readonly allowPlaintextToken: boolean;
  readonly maxBodyBytes: number;
  /** Goes into each event's `hostname`. */
  readonly hostname: string;
  /** Seconds the API server is told to wait before retrying a 503. */
  readonly retryAfterSeconds: number;
}

export interface WebhookServer {
  /** `https://host:port/path` (or http), with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** At most this many rejected items are named in one answer; the rest are counted. */
const NAMED_REJECTIONS = 10;

function statusBody(code: number, message: string, reason: string, retryAfterSeconds?: number): string {
  // A metav1.Status: the API server's REST client turns it into the error it
  // logs, and reads details.retryAfterSeconds to decide that a retry may work.
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    reason,
    ...(retryAfterSeconds === undefined ? {} : { details: { retryAfterSeconds } }),
    code,
  });
}

const STATUS_REASON: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function rejectionText(rejected: readonly RejectedItem[]): string {
  const named = rejected.slice(0, NAMED_REJECTIONS).map((r) => `${r.path}: ${r.reason}`);
  const more = rejected.length - named.length;
  return named.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

interface Deps {
  readonly handoff: AuditHandoff;
  readonly metrics: AuditMetrics;
  readonly log: LogFn;
}

/** Starts the webhook. Resolves once the port is bound. */
export async function serveWebhook(options: ResolvedWebhookOptions, deps: Deps): Promise<WebhookServer> {
  const tokens = options.bearerTokens.map((t) => Buffer.from(t, 'utf8'));
  const { metrics, handoff, log } = deps;
  const warning = plaintextTokenWarning({
    what: 'the audit webhook',
    host: options.host,
    tls: options.tls !== undefined,
    token: tokens.length > 0,
    optOutKey: 'webhook.allowPlaintextToken',
    optOut: options.allowPlaintextToken,
  });
  if (warning !== undefined) log('warn', `webhook: ${warning}`);

  const authenticate = (req: IncomingMessage): void => {
    if (options.allowUnauthenticated) return;
    if (options.tls?.clientCa !== undefined && (req.socket as TLSSocket).authorized === true) return;
    const auth = req.headers.authorization;
    if (tokens.length > 0 && auth !== undefined && /^bearer /i.test(auth)) {
      if (bearerTokenMatches(auth, tokens)) return;
      throw new AuditRequestError('unauthenticated', 'the bearer token is not valid');
    }
    const ways: string[] = [];
    if (options.tls?.clientCa !== undefined) {
      const why = (req.socket as TLSSocket).authorizationError;
      ways.push(`a client certificate signed by the configured CA${why ? ` (${String(why)})` : ''}`);
    }
    if (tokens.length > 0) ways.push('an Authorization: Bearer token');
    throw new AuditRequestError('unauthenticated', `authentication required: ${ways.join(' or ')}`);
  };

  const answer = (
    res: ServerResponse,
    code: number,
    message: string,
    extra?: Record<string, string>,
  ): void => {
    const retry = extra?.['retry-after'];
    const reason = STATUS_REASON[code] ?? (code < 400 ? 'Success' : 'Failure');
    const body = statusBody(code, message, reason, retry === undefined ? undefined : Number(retry));
    res.writeHead(code, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<RequestOutcome> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== options.path) {
      throw new AuditRequestError(
        'path',
        `no audit webhook at ${path}; the API server should post to ${options.path}`,
      );
    }
    if (req.method !== 'POST') {
      throw new AuditRequestError(
        'method',
        `method ${req.method ?? '?'} not allowed: the audit webhook takes POST`,
      );
    }
    authenticate(req);
    const raw = await readBody(req, { maxBodyBytes: options.maxBodyBytes });
    let body: unknown;
    try {
      body = parseJsonBounded(raw.toString('utf8'));
    } catch (err) {
      if (err instanceof JsonDepthError) throw new AuditRequestError('bad_json', `body: ${err.message}`);
      throw new AuditRequestError('bad_json', `body is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const decoded = decodeAuditBody(body);
    // Re-serialised: finding each item's source text in the body cost more than this (see docs/audit.md).
    const lines = decoded.events.map((e) => encodeAuditLine(e, options.hostname));
    const result = await handoff.send(lines);
    const rejected: RejectedItem[] = [...decoded.rejected];
    for (const o of result.oversized) {
      rejected.push({
        path: decoded.paths[o.index] ?? '$',
        reason: `event of ${o.bytes} bytes is larger than a bus message (${handoff.maxMessageBytes} bytes)`,
      });
    }
    metrics.eventsAccepted.inc({ input: 'webhook' }, result.published);
    countLenient(metrics, 'webhook', decoded.events);
    if (decoded.rejected.length > 0)
      metrics.eventsRejected.inc({ input: 'webhook', reason: 'invalid' }, decoded.rejected.length);
    if (result.oversized.length > 0)
      metrics.eventsRejected.inc({ input: 'webhook', reason: 'oversized' }, result.oversized.length);
    if (rejected.length === 0) {
      answer(res, 200, `accepted ${result.published} audit events`);
      return 'ok';
    }
    const message = `accepted ${result.published} of ${decoded.total} audit events; rejected ${rejected.length}: ${rejectionText(rejected)}`;
    log('warn', `webhook: ${message}`);
    answer(res, 400, message);
    return 'partial';
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const done = (outcome: RequestOutcome): void => {
      metrics.requests.inc({ outcome });
      metrics.requestSeconds.observe((performance.now() - started) / 1000);
    };
    handle(req, res).then(done, (err: unknown) => {
      if (err instanceof AuditRequestError) {
        done(err.reason);
        if (err.reason !== 'unauthenticated') log('warn', `webhook: ${err.status}: ${err.message}`);
        const extra: Record<string, string> = {};
        if (err.status === 405) extra.allow = 'POST';
        // The rest of an oversized body is never read: close instead of draining it.
        if (err.reason === 'body_too_large') extra.connection = 'close';
        if (err.reason === 'unauthenticated') extra['www-authenticate'] = 'Bearer';
        if (!res.headersSent) answer(res, err.status, err.message, extra);
        return;
      }
      if (err instanceof AuditHandoffError) {
        done('handoff');
        metrics.handoffFailures.inc({ input: 'webhook' });
        log('error', `webhook: 503: ${err.message}`);
        // Retry-After (header and Status details) makes the API server retry the batch.
        if (!res.headersSent)
          answer(res, 503, err.message, { 'retry-after': String(Math.max(1, options.retryAfterSeconds)) });
        return;
      }
      // A client that went away mid-body, or a bug: answer if still possible, never crash.
      // (Not req.destroyed: in Node 20 it is true once the body has been read.)
      const message = err instanceof Error ? err.message : String(err);
      if (req.socket.destroyed) {
        done('bad_body');
        return;
      }
      done('internal');
      log('error', `webhook: 500: ${message}`);
      if (!res.headersSent) answer(res, 500, `internal error: ${message}`);
    });
  };

  const server: Server = options.tls
    ? createHttpsServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.clientCa !== undefined
            ? // Verified later, per request: a client without a certificate may still bring a token.
              { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: false }
            : {}),
        },
        onRequest,
      )
    : createServer(onRequest);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // The API server keeps its connection open between batches.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${port}${options.path}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
