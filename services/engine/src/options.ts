/**
 * Engine options in three steps: the caller's EngineOptions, checked and
 * copied (never mutated), then defaults, giving ResolvedEngineOptions where
 * nothing is undefined.
 */
import type { KeyObject } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { type Bus, QUEUE_GROUPS, STREAMS, SUBJECTS, toToken } from '@saker/bus';
import {
  type AlertJsonOptions,
  type AppendOutputEntry,
  type Priority,
  type RuleMatching,
  Ruleset,
  type RulesetDocument,
  parsePriority,
} from '@saker/rules';
import { OptionError } from '@saker/runtime';
import { MetricsRegistry } from '@saker/telemetry';
import { type LogSink, stderrLog } from './log.js';
import type { KvMetadataOptions, ResolvedKvMetadataOptions } from './metadata-options.js';
import type { MetadataProvider } from './metadata.js';
import { DEFAULT_COMPILE_LIMITS, type RulesetCompileLimits } from './ruleset-vet.js';

/**
 * The metadata join: a provider of the caller's, or `{ kv }` for the engine's
 * own cache over KV saker_meta (createKvMetadataProvider on the engine's bus),
 * started the first time a ruleset in use reads container.* or k8s.* fields.
 */
export type MetadataOption = MetadataProvider | { readonly kv: KvMetadataOptions };

/** Whether `m` is a provider (it has `join`) rather than cache options. */
export function isMetadataProvider(m: MetadataOption): m is MetadataProvider {
  return typeof (m as Partial<MetadataProvider>).join === 'function';
}

export interface EngineOptions {
  /** A connected bus (NATS, or the in-memory bus of `saker run`). The engine does not close it. */
  readonly bus: Bus;
  /** This replica's id, in stats, logs and metrics; made a subject token. Default `<os hostname>-<pid>`. */
  readonly name?: string;
  /** The alert `hostname` when the event carries none. Default the OS hostname. */
  readonly hostname?: string;
  /** The queue group shared by the replicas. Default QUEUE_GROUPS.engine. */
  readonly queue?: string;
  /** Event subjects (patterns) to consume. Default [SUBJECTS.allEvents]. */
  readonly subjects?: readonly string[];
  /**
   * The ruleset to start with, until (and unless) KV saker_rules holds one: a
   * document (compiled here; it must load without errors) or a compiled
   * Ruleset. Default: no rules.
   */
  readonly rules?: RulesetDocument | Ruleset;
  /** Watch KV saker_rules key RULESET_KEY and hot-swap. Default true. */
  readonly watchRules?: boolean;
  /** Drop rules less severe than this (Falco's `priority`). Default DEBUG: keep all. */
  readonly minPriority?: Priority;
  /** `first` (Falco's default) or `all` matching rules per event. Default `first`. */
  readonly ruleMatching?: RuleMatching;
  /** Where the engine's metrics go. Default a registry of its own. */
  readonly metrics?: MetricsRegistry;
  /**
   * Joins container/k8s metadata when rules need it: a MetadataProvider, or
   * `{ kv: KvMetadataOptions }` for the KV cache. Default null: no join.
   */
  readonly metadata?: MetadataOption | null;
  /** Falco's json_include_* keys for the alert JSON. */
  readonly alertJson?: AlertJsonOptions;
  /**
   * Falco's `append_output`, applied to every ruleset the engine loads (the
   * initial one and each hot swap). Default none; saker.yaml's default is
   * Falco's, `[{ suggestedOutput: true }]` (engineView(config).appendOutput).
   */
  readonly appendOutput?: readonly AppendOutputEntry[];
  /** Falco's time_format_iso_8601 for the alert text. Default false. */
  readonly timeIso8601?: boolean;
  /**
   * Most batches evaluated and waiting for their alerts' acknowledgements at
   * once. Reading stops (the subscription buffers) while they are all busy. Default 64.
   */
  readonly maxInFlightBatches?: number;
  /**
   * Most events taken off the subscription and not yet evaluated. Past it,
   * new batches are dropped and counted (reason `overload`). Default 262144.
   */
  readonly maxQueuedEvents?: number;
  /** Stats are published at least this often (heartbeat). Default 1000 ms. */
  readonly statsIntervalMs?: number;
  /** ... and, while counters change, at most this often. Default 50 ms. */
  readonly statsMinIntervalMs?: number;
  /** Wait for one alert's stream acknowledgement this long. Default 5000 ms. */
  readonly publishTimeoutMs?: number;
  /** Tries per alert before it counts as failed. Default 5. */
  readonly publishAttempts?: number;
  /** Measure per-rule evaluation cost on one event in this many. Default 64; 0 turns it off. */
  readonly costSampleEvery?: number;
  /**
   * Limits on compiling a ruleset that arrives through KV saker_rules (in a
   * worker thread, see ruleset-vet.ts). Default DEFAULT_COMPILE_LIMITS.
   */
  readonly rulesetCompileLimits?: Partial<RulesetCompileLimits>;
  /** Log lines. Default stderr. */
  readonly log?: LogSink;
  /**
   * Public keys (Ed25519) whose signatures on a KV ruleset revision are
   * trusted. Non-empty: an unsigned, foreign-signed or altered revision is
   * refused with an internal alert. Default none: signatures are not checked.
   */
  readonly rulesetKeys?: readonly KeyObject[];
  /**
   * An internal alert fires when a new revision's enabled rules drop to zero,
   * or by more than this share of the rules in use (0.5: half). Default 0.5;
   * 1 alerts only on zero.
   */
  readonly rulesDropAlertShare?: number;
  /** Alerts NATS does not take in time wait in this spool (spool.ts). Default memory, 64 MiB; null: none. */
  readonly alertSpool?: { readonly dir: string | null; readonly maxBytes: number } | null;
  /**
   * Watches the fill of Saker's streams: the `saker_stream_fill_ratio` gauge,
   * and an internal alert when a stream's bytes pass `alertRatio` of its
   * max_bytes. Default every 30 s, 0.8 for each; null: off.
   */
  readonly streamWatch?: {
    readonly intervalMs: number;
    readonly alertRatio: Readonly<Record<string, number>>;
  } | null;
  /**
   * Read k8s audit batches from SAKER_AUDIT through the durable consumer
   * `engine` (at least once; the batch is acked once its alerts are stored),
   * instead of a core subscription. Default: true when `subjects` is not
   * given (the core subscription is then syscall events only).
   */
  readonly auditStream?: boolean;
}

export type ResolvedEngineOptions = Required<Omit<EngineOptions, 'rulesetCompileLimits'>> & {
  readonly rulesetCompileLimits: RulesetCompileLimits;
};

function checkMetadata(m: MetadataOption | null | undefined): MetadataOption | null {
  if (m === undefined || m === null) return null;
  if (isMetadataProvider(m)) return m;
  if (typeof m !== 'object' || typeof m.kv !== 'object' || m.kv === null) {
    throw new EngineOptionsError('metadata', 'expected a MetadataProvider (with join) or { kv: options }');
  }
  // Checked now, so a bad value fails start() rather than the first join.
  resolveKvMetadataOptions(m.kv);
  return { kv: { ...m.kv } };
}

export class EngineOptionsError extends OptionError {
  override readonly name = 'EngineOptionsError';
  readonly option: string;

  constructor(option: string, reason: string) {
    super(`engine option ${option}`, reason);
    this.option = option;
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new EngineOptionsError(name, `expected an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** Checks `options` and fills in the defaults. Throws EngineOptionsError naming the bad option. */
export function resolveEngineOptions(options: EngineOptions): ResolvedEngineOptions {
  if (options.bus === undefined || options.bus === null) {
    throw new EngineOptionsError('bus', 'a connected Bus is required');
  }
  const auditStream = options.auditStream ?? options.subjects === undefined;
  const subjects =
    options.subjects === undefined
      ? [auditStream ? SUBJECTS.allSyscallEvents : SUBJECTS.allEvents]
      : [...options.subjects];
  const share = options.rulesDropAlertShare ?? 0.5;
  if (!(share > 0 && share <= 1)) {
    throw new EngineOptionsError('rulesDropAlertShare', `expected a share in (0, 1], got ${share}`);
  }
  const spool =
    options.alertSpool === undefined ? { dir: null, maxBytes: 64 * 1024 * 1024 } : options.alertSpool;
  if (spool !== null && !(Number.isInteger(spool.maxBytes) && spool.maxBytes >= 0)) {
    throw new EngineOptionsError('alertSpool.maxBytes', `expected an integer >= 0, got ${spool.maxBytes}`);
  }
  const streamWatch =
    options.streamWatch === undefined
      ? {
          intervalMs: 30_000,
          alertRatio: {
            [STREAMS.alerts.name]: 0.8,
            [STREAMS.audit.name]: 0.8,
            [STREAMS.deadLetter.name]: 0.8,
          },
        }
      : options.streamWatch;
  if (streamWatch !== null) positiveInt('streamWatch.intervalMs', streamWatch.intervalMs, 1);
  if (subjects.length === 0) throw new EngineOptionsError('subjects', 'at least one subject is needed');
  const minPriority = options.minPriority ?? 'DEBUG';
  if (parsePriority(minPriority) !== minPriority) {
    throw new EngineOptionsError('minPriority', `not a priority: ${JSON.stringify(minPriority)}`);
  }
  const ruleMatching = options.ruleMatching ?? 'first';
  if (ruleMatching !== 'first' && ruleMatching !== 'all') {
    throw new EngineOptionsError(
      'ruleMatching',
      `expected "first" or "all", got ${JSON.stringify(ruleMatching)}`,
    );
  }
  const host = options.hostname ?? osHostname();
  const name = toToken(options.name ?? `${host}-${process.pid}`);
  const queue = options.queue ?? QUEUE_GROUPS.engine;
  if (queue.length === 0) throw new EngineOptionsError('queue', 'must not be empty');
  const statsIntervalMs = positiveInt('statsIntervalMs', options.statsIntervalMs, 1000);
  return {
    bus: options.bus,
    name,
    hostname: host,
    queue,
    subjects,
    rules: options.rules ?? Ruleset.empty(),
    watchRules: options.watchRules ?? true,
    minPriority,
    ruleMatching,
    metrics: options.metrics ?? new MetricsRegistry(),
    metadata: checkMetadata(options.metadata),
    alertJson: { ...options.alertJson },
    appendOutput: [...(options.appendOutput ?? [])],
    timeIso8601: options.timeIso8601 ?? false,
    maxInFlightBatches: positiveInt('maxInFlightBatches', options.maxInFlightBatches, 64),
    maxQueuedEvents: positiveInt('maxQueuedEvents', options.maxQueuedEvents, 262_144),
    statsIntervalMs,
    statsMinIntervalMs: Math.min(
      statsIntervalMs,
      positiveInt('statsMinIntervalMs', options.statsMinIntervalMs, 50),
    ),
    publishTimeoutMs: positiveInt('publishTimeoutMs', options.publishTimeoutMs, 5000),
    publishAttempts: positiveInt('publishAttempts', options.publishAttempts, 5),
    costSampleEvery: positiveInt('costSampleEvery', options.costSampleEvery, 64, 0),
    rulesetCompileLimits: {
      timeoutMs: positiveInt(
        'rulesetCompileLimits.timeoutMs',
        options.rulesetCompileLimits?.timeoutMs,
        DEFAULT_COMPILE_LIMITS.timeoutMs,
      ),
      maxHeapMb: positiveInt(
        'rulesetCompileLimits.maxHeapMb',
        options.rulesetCompileLimits?.maxHeapMb,
        DEFAULT_COMPILE_LIMITS.maxHeapMb,
        16,
      ),
    },
    log: options.log ?? stderrLog,
    rulesetKeys: [...(options.rulesetKeys ?? [])],
    rulesDropAlertShare: share,
    alertSpool: spool,
    streamWatch,
    auditStream,
  };
}

/** Checks the metadata cache options and fills in the defaults. Throws EngineOptionsError naming the bad one. */
export function resolveKvMetadataOptions(options: KvMetadataOptions): ResolvedKvMetadataOptions {
  const int = (name: string, value: number | undefined, fallback: number, min: number): number =>
    positiveInt(`metadata.kv.${name}`, value, fallback, min);
  return {
    waitMs: int('waitMs', options.waitMs, 500, 0),
    maxEntries: int('maxEntries', options.maxEntries, 10_000, 1),
    ttlMs: int('ttlMs', options.ttlMs, 600_000, 1),
    negativeTtlMs: int('negativeTtlMs', options.negativeTtlMs, 30_000, 0),
    metrics: options.metrics ?? new MetricsRegistry(),
    log: options.log ?? stderrLog,
  };
}
