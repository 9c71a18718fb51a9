/** The sinks' Prometheus metrics; every alert series is labelled with the output. */
import type { Counter, Histogram, MetricsRegistry } from '@saker/telemetry';

export type DeadLetterReason = 'permanent' | 'max_age' | 'invalid';

export interface SinksMetrics {
  readonly delivered: Counter;
  readonly failed: Counter;
  readonly retried: Counter;
  readonly deadLettered: Counter;
  readonly deadLetterFailures: Counter;
  readonly filtered: Counter;
  readonly deduplicated: Counter;
  readonly latency: Histogram;
  readonly inputRequests: Counter;
  readonly inputAlerts: Counter;
}

export function sinksMetrics(registry: MetricsRegistry): SinksMetrics {
  return {
    delivered: registry.counter(
      'saker_sinks_alerts_delivered_total',
      'Alerts an output delivered (a deduplicated group counts once)',
      ['output'],
    ),
    failed: registry.counter(
      'saker_sinks_delivery_failures_total',
      'Failed delivery attempts, by kind (retryable, permanent)',
      ['output', 'kind'],
    ),
    retried: registry.counter(
      'saker_sinks_alerts_retried_total',
      'Alerts handed back to the stream for another attempt (nak with backoff)',
      ['output'],
    ),
    deadLettered: registry.counter(
      'saker_sinks_alerts_deadlettered_total',
      'Alerts published to saker.v1.deadletter.<output>, by reason',
      ['output', 'reason'],
    ),
    deadLetterFailures: registry.counter(
      'saker_sinks_deadletter_failures_total',
      'Dead-letter publishes that failed; the alert stays on the stream and is tried again',
      ['output'],
    ),
    filtered: registry.counter(
      'saker_sinks_alerts_filtered_total',
      'Alerts an output skipped: below its minimum priority, or not matching its condition',
      ['output', 'reason'],
    ),
    deduplicated: registry.counter(
      'saker_sinks_alerts_deduplicated_total',
      'Alerts folded into an identical one inside the dedup window',
      ['output'],
    ),
    latency: registry.histogram('saker_sinks_delivery_seconds', 'Time one delivery attempt took', {
      labelNames: ['output'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    inputRequests: registry.counter(
      'saker_sinks_input_requests_total',
      'Requests to the falcosidekick-compatible input, by path and status code',
      ['path', 'code'],
    ),
    inputAlerts: registry.counter(
      'saker_sinks_input_alerts_total',
      'Alerts the input stored in SAKER_ALERTS',
    ),
  };
}
