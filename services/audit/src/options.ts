/**
 * Audit service options in three steps: the caller's AuditOptions, checked
 * and copied (never mutated), then defaults, giving ResolvedAuditOptions in
 * which nothing is undefined. A bad value throws AuditConfigError naming it.
 */
import { hostname as osHostname } from 'node:os';
import type { Bus } from '@saker/bus';
import { type LogFn, createLogger } from '@saker/runtime';
import { MetricsRegistry, plaintextTokenProblem } from '@saker/telemetry';
import { AuditConfigError } from './errors.js';
import type { ResolvedFileSourceOptions } from './file-source.js';
import type { HandoffMode } from './handoff.js';
import type { ResolvedWebhookOptions, WebhookTls } from './webhook.js';

const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
const DEFAULT_WEBHOOK_PORT = 9765;
const DEFAULT_WEBHOOK_PATH = '/k8s-audit';

interface WebhookOptions {
  /** Address to bind. Default 0.0.0.0. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 9765. */
  readonly port?: number;
  /** Default `/k8s-audit`. */
  readonly path?: string;
  /** PEM contents. Without it the webhook speaks plain HTTP (development). */
  readonly tls?: WebhookTls;
  readonly bearerTokens?: readonly string[];
  /** Accept requests without a client certificate or token. Default false; only for development. */
  readonly allowUnauthenticated?: boolean;
  /**
   * Accept bearer tokens over plain HTTP on an address other than loopback,
   * where anyone on the network path can read them. Default false; logged loudly.
   */
  readonly allowPlaintextToken?: boolean;
  /** Largest body, as sent and after gunzip. Default 10 MiB. */
  readonly maxBodyBytes?: number;
  /** Retry-After on a 503. Default 1. */
  readonly retryAfterSeconds?: number;
}

interface FileSourceOptions {
  /** The API server's `--audit-log-path`. */
  readonly path: string;
  /** Default `<path>.saker-checkpoint`. */
  readonly checkpointFile?: string;
  /** Default 250 ms. */
  readonly pollIntervalMs?: number;
  /** With no checkpoint yet. Default `beginning`. */
  readonly startAt?: 'beginning' | 'end';
  /** Default 4 MiB. */
  readonly maxLineBytes?: number;
  /** Default 500. */
  readonly maxBatchEvents?: number;
}

interface HandoffOptionsInput {
  /** `durable` (JetStream, the default) or `publish` (core publish + flush: the in-memory bus). */
  readonly mode?: HandoffMode;
  /** Default 512 KiB (NATS's max_payload is 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Default 5000 ms. */
  readonly ackTimeoutMs?: number;
  /** Create or update SAKER_AUDIT at start (durable mode). Default true. */
  readonly declareStream?: boolean;
  /** SAKER_AUDIT keeps batches this long. Default 24 h. */
  readonly streamMaxAgeMs?: number;
  /** ... and at most this many bytes. Default 1 GiB. */
  readonly streamMaxBytes?: number;
}

export interface AuditOptions {
  /** A connected bus. The service does not close it. */
  readonly bus: Bus;
  /** The webhook; `false` for none. Default: a webhook with the defaults above (it needs auth configured). */
  readonly webhook?: WebhookOptions | false;
  /** Audit log files to follow. Default none. */
  readonly files?: readonly FileSourceOptions[];
  readonly handoff?: HandoffOptionsInput;
  /** The events' `hostname`. Default the OS hostname. */
  readonly hostname?: string;
  /** Where the metrics go. Default a registry of its own. */
  readonly metrics?: MetricsRegistry;
  /** Default: stderr. */
  readonly log?: LogFn;
}

export interface ResolvedAuditOptions {
  readonly bus: Bus;
  readonly webhook: ResolvedWebhookOptions | undefined;
  readonly files: readonly ResolvedFileSourceOptions[];
  readonly handoff: Required<HandoffOptionsInput>;
  readonly hostname: string;
  readonly metrics: MetricsRegistry;
  readonly log: LogFn;
}

function int(key: string, value: number | undefined, fallback: number, min: number, max?: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `in ${min}..${max}`;
    throw new AuditConfigError(key, `expected an integer ${range}, got ${value}`);
  }
  return value;
}

function resolveWebhook(w: WebhookOptions, hostname: string): ResolvedWebhookOptions {
  const bearerTokens = [...(w.bearerTokens ?? [])];
  bearerTokens.forEach((t, i) => {
    if (t.length < 16)
      throw new AuditConfigError(`webhook.bearerTokens[${i}]`, 'a token needs 16 characters or more');
  });
  const tls = w.tls === undefined ? undefined : { ...w.tls };
  if (tls !== undefined) {
    if (!tls.cert.includes('-----BEGIN')) throw new AuditConfigError('webhook.tls.cert', 'expected PEM');
    if (!tls.key.includes('-----BEGIN')) throw new AuditConfigError('webhook.tls.key', 'expected PEM');
    if (tls.clientCa !== undefined && !tls.clientCa.includes('-----BEGIN'))
      throw new AuditConfigError('webhook.tls.clientCa', 'expected PEM');
  }
  const allowUnauthenticated = w.allowUnauthenticated ?? false;
  if (!allowUnauthenticated && bearerTokens.length === 0 && tls?.clientCa === undefined) {
    throw new AuditConfigError(
      'webhook',
      'no way to authenticate the API server: set tls.clientCa (mTLS) or bearerTokens, or allowUnauthenticated for development',
    );
  }
  const path = w.path ?? DEFAULT_WEBHOOK_PATH;
  if (!path.startsWith('/')) throw new AuditConfigError('webhook.path', `must start with "/", got ${path}`);
  const host = w.host ?? '0.0.0.0';
  const allowPlaintextToken = w.allowPlaintextToken ?? false;
  const plaintext = plaintextTokenProblem({
    what: 'the audit webhook',
    host,
    tls: tls !== undefined,
    token: bearerTokens.length > 0,
    optOutKey: 'webhook.allowPlaintextToken (--audit-allow-plaintext-token)',
    optOut: allowPlaintextToken,
  });
  if (plaintext !== undefined) throw new AuditConfigError('webhook.host', plaintext);
  return {
    host,
    port: int('webhook.port', w.port, DEFAULT_WEBHOOK_PORT, 0, 65535),
    path,
    tls,
    bearerTokens,
    allowUnauthenticated,
    allowPlaintextToken,
    maxBodyBytes: int('webhook.maxBodyBytes', w.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 1024),
    hostname,
    retryAfterSeconds: int('webhook.retryAfterSeconds', w.retryAfterSeconds, 1, 1),
  };
}

function resolveFile(f: FileSourceOptions, i: number, hostname: string): ResolvedFileSourceOptions {
  const key = `files[${i}]`;
  if (typeof f.path !== 'string' || f.path.length === 0)
    throw new AuditConfigError(`${key}.path`, 'required');
  const startAt = f.startAt ?? 'beginning';
  if (startAt !== 'beginning' && startAt !== 'end') {
    throw new AuditConfigError(
      `${key}.startAt`,
      `expected "beginning" or "end", got ${JSON.stringify(startAt)}`,
    );
  }
  return {
    path: f.path,
    checkpointFile: f.checkpointFile ?? `${f.path}.saker-checkpoint`,
    pollIntervalMs: int(`${key}.pollIntervalMs`, f.pollIntervalMs, 250, 1),
    startAt,
    maxLineBytes: int(`${key}.maxLineBytes`, f.maxLineBytes, 4 * 1024 * 1024, 1024),
    maxBatchEvents: int(`${key}.maxBatchEvents`, f.maxBatchEvents, 500, 1),
    hostname,
  };
}

/** Checks `options` and fills in the defaults. Throws AuditConfigError naming the bad key. */
export function resolveAuditOptions(options: AuditOptions): ResolvedAuditOptions {
  if (options.bus === undefined || options.bus === null)
    throw new AuditConfigError('bus', 'a connected Bus is required');
  const hostname = options.hostname ?? osHostname();
  const h = options.handoff ?? {};
  const mode = h.mode ?? 'durable';
  if (mode !== 'durable' && mode !== 'publish') {
    throw new AuditConfigError(
      'handoff.mode',
      `expected "durable" or "publish", got ${JSON.stringify(mode)}`,
    );
  }
  const webhook = options.webhook === false ? undefined : resolveWebhook(options.webhook ?? {}, hostname);
  const files = (options.files ?? []).map((f, i) => resolveFile(f, i, hostname));
  const checkpoints = new Set(files.map((f) => f.checkpointFile));
  if (checkpoints.size !== files.length)
    throw new AuditConfigError('files', 'two files share a checkpoint file');
  if (webhook === undefined && files.length === 0) {
    throw new AuditConfigError('webhook', 'nothing to do: the webhook is off and no files are configured');
  }
  return {
    bus: options.bus,
    webhook,
    files,
    handoff: {
      mode,
      maxMessageBytes: int('handoff.maxMessageBytes', h.maxMessageBytes, 512 * 1024, 1024),
      ackTimeoutMs: int('handoff.ackTimeoutMs', h.ackTimeoutMs, 5000, 1),
      declareStream: h.declareStream ?? true,
      streamMaxAgeMs: int('handoff.streamMaxAgeMs', h.streamMaxAgeMs, 24 * 60 * 60 * 1000, 1000),
      streamMaxBytes: int('handoff.streamMaxBytes', h.streamMaxBytes, 1024 * 1024 * 1024, 1024 * 1024),
    },
    hostname,
    metrics: options.metrics ?? new MetricsRegistry(),
    log: options.log ?? createLogger({ name: 'audit' }).log,
  };
}
