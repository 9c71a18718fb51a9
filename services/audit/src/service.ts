/**
 * The audit service: `start(options, signal)`. It runs alone under main.ts
 * or inside `saker run`, with the bus it is given.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricsRegistry } from '@saker/telemetry';
import { AuditFileSource } from './file-source.js';
import { AuditHandoff } from './handoff.js';
import { type AuditMetrics, auditMetrics } from './metrics.js';
import { type AuditOptions, resolveAuditOptions } from './options.js';
import { type WebhookServer, serveWebhook } from './webhook.js';

export interface AuditService extends AsyncDisposable {
  /** The webhook, when one is configured. */
  readonly webhook: WebhookServer | undefined;
  readonly metrics: MetricsRegistry;
  /** The service's own counters, as registered in `metrics`. */
  readonly counters: AuditMetrics;
  /** Stops the webhook (answering what is in flight) and the file sources (checkpointing). Idempotent. */
  stop(): Promise<void>;
  /** Resolves once everything has stopped. */
  readonly stopped: Promise<void>;
}

/** A file source that fails on I/O is started again after this long, from its checkpoint. */
const FILE_RESTART_MS = 1000;

/**
 * Starts the webhook and the file sources. Resolves once the webhook listens
 * (and SAKER_AUDIT exists, in durable mode). Aborting `signal` stops it all.
 */
export async function start(options: AuditOptions, signal?: AbortSignal): Promise<AuditService> {
  const o = resolveAuditOptions(options);
  signal?.throwIfAborted();
  const metrics = auditMetrics(o.metrics);
  const handoff = new AuditHandoff(o.bus, o.handoff);
  if (o.handoff.declareStream) {
    await handoff.prepare({ maxAgeMs: o.handoff.streamMaxAgeMs, maxBytes: o.handoff.streamMaxBytes });
  }
  const deps = { handoff, metrics, log: o.log };
  const webhook = o.webhook === undefined ? undefined : await serveWebhook(o.webhook, deps);

  const halt = new AbortController();
  const runs = o.files.map(async (f) => {
    const source = new AuditFileSource(f, deps);
    while (!halt.signal.aborted) {
      try {
        await source.run(halt.signal);
      } catch (err) {
        o.log('error', `file: ${f.path}: ${(err as Error).message}; starting again from the checkpoint`);
        await sleep(FILE_RESTART_MS, undefined, { signal: halt.signal }).catch(() => undefined);
      }
    }
  });

  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      halt.abort();
      await Promise.all([webhook?.close(), ...runs]);
      resolveStopped();
    })();
    return stopping;
  };
  const onAbort = (): void => {
    void stop();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  return {
    webhook,
    metrics: o.metrics,
    counters: metrics,
    stop,
    stopped,
    [Symbol.asyncDispose]: stop,
  };
}
