/**
 * Options of the KV metadata cache (createKvMetadataProvider). The first three
 * have the names and meaning of the config's `enrich.cache` view
 * (`wait_ms`, `max_entries`, `ttl_ms`), so that view can be passed as it is.
 * They are checked by resolveKvMetadataOptions (options.ts).
 */
import type { MetricsRegistry } from '@saker/telemetry';
import type { LogSink } from './log.js';

export interface KvMetadataOptions {
  /** How long an event whose container is not known yet waits for its record. Default 500 ms; 0: never wait. */
  readonly waitMs?: number;
  /** Most records (containers and pods) held; the least recently used go first. Default 10,000. */
  readonly maxEntries?: number;
  /** A record neither updated nor used for this long is dropped. Default 600,000 ms. */
  readonly ttlMs?: number;
  /**
   * After a wait for a container timed out, later events of that container
   * are evaluated at once (without waiting) for this long, unless its record
   * shows up first. Default 30,000 ms.
   */
  readonly negativeTtlMs?: number;
  /** Where the cache's counters go. Default a registry of its own. */
  readonly metrics?: MetricsRegistry;
  /** Log lines (bad records, watch failures). Default stderr. */
  readonly log?: LogSink;
}

export interface ResolvedKvMetadataOptions {
  readonly waitMs: number;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
  readonly metrics: MetricsRegistry;
  readonly log: LogSink;
}
