/**
 * Every Saker stream is bounded: a dead sink must not fill the NATS disk.
 * A stream made without explicit limits gets these (or the ones saker.yaml's
 * `streams:` section sets, passed to connectBus as `streamLimits`): when full,
 * NATS drops the oldest messages (discard old), and the engine's stream
 * watch raises an internal alert before that happens.
 */
import { STREAMS } from './subjects.js';
import type { StreamOptions } from './transport.js';

interface StreamLimits {
  /** Most bytes kept; the oldest go first. */
  readonly maxBytes: number;
  /** Messages older than this are dropped. */
  readonly maxAgeMs: number;
  /** Copies in a NATS cluster, for a stream made now. Default 1. */
  readonly replicas?: number;
}

/** Limits by stream name (`SAKER_ALERTS`, …). */
export type StreamLimitsByName = Readonly<Record<string, StreamLimits>>;

const GiB = 1024 * 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The defaults: alerts 1 GiB / 7 days, audit batches 1 GiB / 1 day, dead letters 256 MiB / 14 days. */
export const DEFAULT_STREAM_LIMITS: StreamLimitsByName = Object.freeze({
  [STREAMS.alerts.name]: Object.freeze({ maxBytes: GiB, maxAgeMs: 7 * DAY_MS }),
  [STREAMS.audit.name]: Object.freeze({ maxBytes: GiB, maxAgeMs: DAY_MS }),
  [STREAMS.deadLetter.name]: Object.freeze({ maxBytes: GiB / 4, maxAgeMs: 14 * DAY_MS }),
});

/**
 * `options` with the stream's limits filled in where the caller set none:
 * the configured ones first, then the defaults. Streams Saker does not know
 * are left as the caller asked.
 */
export function withStreamLimits(
  name: string,
  options: StreamOptions,
  configured: StreamLimitsByName = {},
): StreamOptions {
  const limits = Object.hasOwn(configured, name)
    ? configured[name]
    : Object.hasOwn(DEFAULT_STREAM_LIMITS, name)
      ? DEFAULT_STREAM_LIMITS[name]
      : undefined;
  if (limits === undefined) return options;
  return {
    ...options,
    maxBytes: options.maxBytes ?? limits.maxBytes,
    maxAgeMs: options.maxAgeMs ?? limits.maxAgeMs,
    ...(options.replicas === undefined && limits.replicas === undefined
      ? {}
      : { replicas: options.replicas ?? limits.replicas }),
  };
}
