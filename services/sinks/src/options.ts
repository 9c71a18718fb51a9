/**
 * Sinks options, in three steps (normalize, defaults, Required): the rest of
 * the service never sees `undefined`, and the caller's object is not touched.
 */
import { hostname as osHostname } from 'node:os';
import { type Bus, assertToken, toToken } from '@saker/bus';
import {
  type FalcoAlert,
  type FieldRegistry,
  type Predicate,
  type Priority,
  parsePriority,
} from '@saker/rules';
import { type LogFn, createLogger } from '@saker/runtime';
import { MetricsRegistry, isLoopbackHost, plaintextTokenProblem, redactText } from '@saker/telemetry';
import { type AlertFormat, DEFAULT_FORMAT } from './alert.js';
import type { BackoffOptions } from './backoff.js';
import { SinksOptionsError } from './errors.js';
import { compileRoute } from './fields.js';
import type { Output } from './outputs/output.js';

/** The runtime's log function (libs/runtime): one logger shape across services. */
export type SinksLog = LogFn;

interface DedupOptions {
  /** Identical alerts inside this window (from the first) become one. */
  readonly windowMs: number;
  /** The output_fields that, with the rule, make alerts identical. Default: all of them. */
  readonly fields?: readonly string[];
}

interface BatchOptions {
  /** Most alerts in one `deliverBatch` call. */
  readonly maxAlerts: number;
  /**
   * While deliveries are in progress, a batch that is not full goes out this
   * long after its first alert. Default 20 ms. With none in progress, it goes
   * at the next turn of the event loop (with the alerts that came in this one).
   */
  readonly lingerMs?: number;
}

/** One output and how the framework feeds it. */
export interface OutputSettings {
  readonly output: Output;
  /** Alerts less severe are skipped (Falco's `minimumpriority` in falcosidekick). Default: debug (all). */
  readonly minimumPriority?: Priority | string;
  /** Routing condition in Falco's language over the alert (see fields.ts). Default: every alert. */
  readonly condition?: string | null;
  /** `json_include_*` keys for the JSON the output is given. Default: Falco's defaults. */
  readonly format?: Partial<AlertFormat>;
  /** An alert still undelivered this long after this process first saw it is dead-lettered. Default 1 h. */
  readonly maxAgeMs?: number;
  /** Retry delays. Default 500 ms doubling to 60 s. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Deliveries in progress at once. Default 1 (in order); more for network outputs. */
  readonly concurrency?: number;
  /** Redelivery of an alert this output took and never settled (a crash). Default 30 s. */
  readonly ackWaitMs?: number;
  /** Alerts delivered to the output and not yet settled, at most. Default 1000. */
  readonly maxAckPending?: number;
  /** Collapse identical alerts. Default: off. */
  readonly dedup?: DedupOptions | null;
  /** Use the output's `deliverBatch`. Default: off (one alert per delivery, as Falco). */
  readonly batch?: BatchOptions | null;
}

export interface InputTls {
  /** PEM: the server's certificate chain and key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** PEM: the CA that signs senders' certificates. When set, a verified client certificate authenticates. */
  readonly clientCa?: string | Buffer;
}

export interface InputOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 2801 (falcosidekick's port); 0 picks a free one. */
  readonly port?: number;
  /** Largest body accepted. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** HTTPS, and with `clientCa` client certificates (mTLS). Default none: plain HTTP. */
  readonly tls?: InputTls | null;
  /** Bearer tokens that authenticate a POST (`Authorization: Bearer <token>`). Default none. */
  readonly bearerTokens?: readonly string[];
  /**
   * Accept POSTs that prove nothing on an address other than loopback. Default
   * false: off loopback a token or a client CA is required.
   */
  readonly allowUnauthenticated?: boolean;
  /** Accept bearer tokens over plain HTTP off loopback (readable on the network). Default false; logged loudly. */
  readonly allowPlaintextToken?: boolean;
}

interface ResolvedInputOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly tls: InputTls | null;
  readonly bearerTokens: readonly string[];
  readonly allowUnauthenticated: boolean;
  readonly allowPlaintextToken: boolean;
}

export interface SinksOptions {
  readonly bus: Bus;
  readonly outputs: readonly OutputSettings[];
  /** The falcosidekick-compatible input; null or absent: not served. */
  readonly input?: InputOptions | null;
  /** The hostname of test alerts (`POST /test`). */
  readonly hostname: string;
  readonly metrics?: MetricsRegistry;
  readonly log?: SinksLog;
  /** Jitter source, for tests. Default Math.random. */
  readonly random?: () => number;
  /** Reopen files on SIGUSR1, as Falco does. Default false (main.ts turns it on). */
  readonly reopenOnSigusr1?: boolean;
  /** This instance's name in its delivery reports (`saker.v1.sinks.stats.<instance>`). Default `<os.hostname()>-<pid>`. */
  readonly instance?: string;
  /** Saker's version, in the delivery reports. Default `unknown`. */
  readonly version?: string;
  /** How often the delivery report goes out. Default 5000; 0: never (nor at stop). */
  readonly statsIntervalMs?: number;
}

interface ResolvedDedup {
  readonly windowMs: number;
  readonly fields: readonly string[] | null;
}

export interface ResolvedOutputSettings {
  readonly output: Output;
  readonly name: string;
  readonly minimumPriority: Priority;
  readonly condition: string | null;
  readonly route: Predicate<FalcoAlert> | null;
  readonly format: AlertFormat;
  readonly maxAgeMs: number;
  readonly backoff: BackoffOptions;
  readonly concurrency: number;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  readonly dedup: ResolvedDedup | null;
  readonly batch: Required<BatchOptions> | null;
}

export interface ResolvedSinksOptions {
  readonly bus: Bus;
  readonly outputs: readonly ResolvedOutputSettings[];
  readonly input: ResolvedInputOptions | null;
  readonly hostname: string;
  readonly metrics: MetricsRegistry;
  readonly log: SinksLog;
  readonly random: () => number;
  readonly reopenOnSigusr1: boolean;
  readonly instance: string;
  readonly version: string;
  readonly statsIntervalMs: number;
}

const stderrLog: SinksLog = createLogger({ name: 'sinks' }).log;

function positiveInt(path: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min)
    throw new SinksOptionsError(path, `expected an integer ≥ ${min}, got ${v}`);
  return v;
}

/** Throws SinksOptionsError at `path` unless `value` can stand as a subject token. */
function tokenOption(path: string, kind: string, value: string): void {
  try {
    assertToken(kind, value);
  } catch {
    throw new SinksOptionsError(path, `${JSON.stringify(value)} is not a subject token ([A-Za-z0-9_-]+)`);
  }
}

function resolveOutput(
  s: OutputSettings,
  i: number,
  fields: FieldRegistry<FalcoAlert>,
): ResolvedOutputSettings {
  const at = `outputs[${i}]`;
  const name = s.output.name;
  tokenOption(`${at}.name`, 'output', name);
  const minText = s.minimumPriority ?? 'DEBUG';
  const minimumPriority = parsePriority(minText);
  if (minimumPriority === undefined) {
    throw new SinksOptionsError(
      `${at}.minimumPriority`,
      `${JSON.stringify(minText)} is not a Falco priority`,
    );
  }
  const condition =
    s.condition === undefined || s.condition === null || s.condition.trim() === '' ? null : s.condition;
  let route: Predicate<FalcoAlert> | null = null;
  if (condition !== null) {
    const r = compileRoute(condition, fields);
    if (!r.ok) throw new SinksOptionsError(`${at}.condition`, r.message);
    route = r.predicate;
  }
  const backoff: BackoffOptions = {
    initialMs: positiveInt(`${at}.backoff.initialMs`, s.backoff?.initialMs, 500),
    maxMs: positiveInt(`${at}.backoff.maxMs`, s.backoff?.maxMs, 60_000),
  };
  if (backoff.maxMs < backoff.initialMs) {
    throw new SinksOptionsError(`${at}.backoff.maxMs`, 'must not be below backoff.initialMs');
  }
  let dedup: ResolvedDedup | null = null;
  if (s.dedup) {
    dedup = {
      windowMs: positiveInt(`${at}.dedup.windowMs`, s.dedup.windowMs, 0),
      fields: s.dedup.fields === undefined ? null : [...s.dedup.fields],
    };
  }
  // A held alert (dedup window, a slow delivery) must not be redelivered meanwhile.
  const minAckWait = (dedup?.windowMs ?? 0) + 30_000;
  const ackWaitMs = Math.max(positiveInt(`${at}.ackWaitMs`, s.ackWaitMs, 30_000), dedup ? minAckWait : 0);
  const batch = s.batch
    ? {
        maxAlerts: positiveInt(`${at}.batch.maxAlerts`, s.batch.maxAlerts, 1),
        lingerMs: positiveInt(`${at}.batch.lingerMs`, s.batch.lingerMs, 20, 0),
      }
    : null;
  if (batch && batch.maxAlerts > 1 && s.output.deliverBatch === undefined) {
    throw new SinksOptionsError(`${at}.batch`, `output ${name} has no batching hook (deliverBatch)`);
  }
  return {
    output: s.output,
    name,
    minimumPriority,
    condition,
    route,
    format: { ...DEFAULT_FORMAT, ...s.format },
    maxAgeMs: positiveInt(`${at}.maxAgeMs`, s.maxAgeMs, 3_600_000),
    backoff,
    concurrency: positiveInt(`${at}.concurrency`, s.concurrency, 1),
    ackWaitMs,
    maxAckPending: positiveInt(`${at}.maxAckPending`, s.maxAckPending, 1000),
    dedup,
    batch: batch && batch.maxAlerts > 1 ? batch : null,
  };
}

export function resolveSinksOptions(
  o: SinksOptions,
  fields: FieldRegistry<FalcoAlert>,
): ResolvedSinksOptions {
  const outputs = o.outputs.map((s, i) => resolveOutput(s, i, fields));
  const seen = new Set<string>();
  outputs.forEach((s, i) => {
    if (seen.has(s.name))
      throw new SinksOptionsError(`outputs[${i}].name`, `duplicate output name ${s.name}`);
    seen.add(s.name);
  });
  const input = o.input ? resolveInput(o.input) : null;
  if (o.instance !== undefined) tokenOption('instance', 'instance', o.instance);
  return {
    bus: o.bus,
    outputs,
    input,
    hostname: o.hostname,
    metrics: o.metrics ?? new MetricsRegistry(),
    log: redactedLog(o.log ?? stderrLog),
    random: o.random ?? Math.random,
    reopenOnSigusr1: o.reopenOnSigusr1 ?? false,
    // The machine's own name (a pod's name), not `hostname` (the alerts', in the chart the node's):
    // two replicas on one node must not report as one instance.
    instance: o.instance ?? `${toToken(osHostname())}-${process.pid}`,
    version: o.version ?? 'unknown',
    statsIntervalMs: positiveInt('statsIntervalMs', o.statsIntervalMs, 5000, 0),
  };
}

function resolveInput(i: InputOptions): ResolvedInputOptions {
  const host = i.host ?? '127.0.0.1';
  const bearerTokens = [...(i.bearerTokens ?? [])];
  bearerTokens.forEach((t, n) => {
    if (t.length < 16)
      throw new SinksOptionsError(`input.bearerTokens[${n}]`, 'a token needs 16 characters or more');
  });
  const tls = i.tls ?? null;
  const allowUnauthenticated = i.allowUnauthenticated ?? false;
  const allowPlaintextToken = i.allowPlaintextToken ?? false;
  if (
    !isLoopbackHost(host) &&
    !allowUnauthenticated &&
    bearerTokens.length === 0 &&
    tls?.clientCa === undefined
  ) {
    throw new SinksOptionsError(
      'input.host',
      `refusing to serve the alert input on ${host} (not a loopback address) without authentication: ` +
        'set bearer tokens or a TLS client CA, listen on 127.0.0.1, or allow unauthenticated posts',
    );
  }
  const plaintext = plaintextTokenProblem({
    what: 'the alert input',
    host,
    tls: tls !== null,
    token: bearerTokens.length > 0,
    optOutKey: 'input.allowPlaintextToken (sinks.input.allow_plaintext_token)',
    optOut: allowPlaintextToken,
  });
  if (plaintext !== undefined) throw new SinksOptionsError('input.host', plaintext);
  return {
    host,
    port: positiveInt('input.port', i.port, 2801, 0),
    maxBodyBytes: positiveInt('input.maxBodyBytes', i.maxBodyBytes, 1024 * 1024),
    tls,
    bearerTokens,
    allowUnauthenticated,
    allowPlaintextToken,
  };
}

/** Every sinks log line goes through redactText: errors quote URLs, and a webhook URL is a secret. */
function redactedLog(log: SinksLog): SinksLog {
  return (level, message) => log(level, redactText(message));
}
