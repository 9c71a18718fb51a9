/**
 * The engine's Prometheus metrics. Hot-path counts are summed per batch by the
 * caller and added here once per batch, not once per event.
 */
import type { Counter, Gauge, Histogram, MetricsRegistry } from '@saker/telemetry';

/** Why an event line was refused. Kept to a few values: details go to the (rate-limited) log. */
export type InvalidReason = 'codec' | 'json' | 'schema';

export interface EngineMetrics {
  readonly batchesReceived: Counter;
  readonly batchesMalformed: Counter;
  readonly eventsReceived: Counter;
  readonly eventsEvaluated: Counter;
  readonly eventsInvalid: Counter;
  readonly eventsDropped: Counter;
  readonly eventsInFlight: Gauge;
  readonly lagSeconds: Gauge;
  readonly auditPending: Gauge;
  readonly metadataJoins: Counter;
  readonly metadataJoinFailures: Counter;
  readonly alertsPublished: Counter;
  readonly alertsDuplicate: Counter;
  readonly alertsFailed: Counter;
  readonly alertRetries: Counter;
  readonly ruleMatches: Counter;
  readonly ruleEvaluationSeconds: Counter;
  readonly ruleEvaluationSamples: Counter;
  readonly batchSeconds: Histogram;
  readonly rulesetRevision: Gauge;
  readonly rulesetRules: Gauge;
  readonly rulesetReloads: Counter;
  readonly rulesetReloadFailures: Counter;
  readonly alertsSpooled: Counter;
  readonly alertsSpoolDropped: Counter;
  readonly alertsSpoolResent: Counter;
  readonly alertSpoolSize: Gauge;
  readonly streamFill: Gauge;
  readonly streamBytes: Gauge;
}

export function engineMetrics(registry: MetricsRegistry): EngineMetrics {
  return {
    batchesReceived: registry.counter(
      'saker_engine_batches_received_total',
      'Event batches taken off the bus',
    ),
    batchesMalformed: registry.counter(
      'saker_engine_batches_malformed_total',
      'Batches skipped whole: unknown codec, or not one valid event in them',
    ),
    eventsReceived: registry.counter(
      'saker_engine_events_received_total',
      'Event lines taken off the bus (valid and invalid)',
    ),
    eventsEvaluated: registry.counter(
      'saker_engine_events_evaluated_total',
      'Events evaluated whose alerts, if any, the alert stream acknowledged',
    ),
    eventsInvalid: registry.counter(
      'saker_engine_events_invalid_total',
      'Event lines refused by validation, by reason',
      ['reason'],
    ),
    eventsDropped: registry.counter(
      'saker_engine_events_dropped_total',
      'Valid events dropped unevaluated, by reason',
      ['reason'],
    ),
    eventsInFlight: registry.gauge(
      'saker_engine_events_in_flight',
      'Events taken off the bus and not yet evaluated and acknowledged',
    ),
    lagSeconds: registry.gauge(
      'saker_engine_lag_seconds',
      'How long the oldest event taken off the bus and not yet evaluated (alerts stored) has waited; 0 when none',
    ),
    auditPending: registry.gauge(
      'saker_engine_audit_pending',
      "Audit batches in SAKER_AUDIT not yet delivered to the engines' durable consumer (num_pending)",
    ),
    metadataJoins: registry.counter('saker_engine_metadata_joins_total', 'Events joined with metadata'),
    metadataJoinFailures: registry.counter(
      'saker_engine_metadata_join_failures_total',
      'Metadata joins that failed; the event was evaluated without metadata',
    ),
    alertsPublished: registry.counter(
      'saker_engine_alerts_published_total',
      'Alerts stored in SAKER_ALERTS (acknowledged)',
    ),
    alertsDuplicate: registry.counter(
      'saker_engine_alerts_duplicate_total',
      'Alerts the stream had already stored under the same msgId (de-duplicated)',
    ),
    alertsFailed: registry.counter(
      'saker_engine_alerts_failed_total',
      'Alerts given up on after every publish attempt failed',
    ),
    alertRetries: registry.counter('saker_engine_alert_publish_retries_total', 'Alert publishes tried again'),
    ruleMatches: registry.counter('saker_engine_rule_matches_total', 'Matches per rule', ['rule']),
    ruleEvaluationSeconds: registry.counter(
      'saker_engine_rule_evaluation_seconds_total',
      'Estimated time spent evaluating each rule (sampled events, scaled by the sampling rate)',
      ['rule'],
    ),
    ruleEvaluationSamples: registry.counter(
      'saker_engine_rule_evaluation_samples_total',
      'Sampled evaluations behind saker_engine_rule_evaluation_seconds_total',
      ['rule'],
    ),
    batchSeconds: registry.histogram('saker_engine_batch_evaluation_seconds', 'Time to evaluate one batch', {
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    }),
    rulesetRevision: registry.gauge(
      'saker_engine_ruleset_revision',
      'KV revision of the ruleset in use (0: the one given at start)',
    ),
    rulesetRules: registry.gauge('saker_engine_ruleset_rules', 'Enabled rules in the ruleset in use'),
    rulesetReloads: registry.counter('saker_engine_ruleset_reloads_total', 'Rulesets swapped in from KV'),
    rulesetReloadFailures: registry.counter(
      'saker_engine_ruleset_reload_failures_total',
      'Rulesets from KV refused (bad document or load errors); the previous one stayed',
    ),
    alertsSpooled: registry.counter(
      'saker_engine_alerts_spooled_total',
      'Alerts NATS did not take in time, kept in the local spool to be sent when it returns',
    ),
    alertsSpoolDropped: registry.counter(
      'saker_engine_alerts_spool_dropped_total',
      'Alerts lost because the spool was full (nats.spool.max_bytes)',
    ),
    alertsSpoolResent: registry.counter(
      'saker_engine_alerts_spool_resent_total',
      'Spooled alerts stored in SAKER_ALERTS once NATS returned',
    ),
    alertSpoolSize: registry.gauge('saker_engine_alert_spool_alerts', 'Alerts waiting in the spool'),
    streamFill: registry.gauge(
      'saker_stream_fill_ratio',
      'Bytes stored over the stream limit max_bytes (1: full, the oldest messages are being dropped)',
      ['stream'],
    ),
    streamBytes: registry.gauge('saker_stream_bytes', 'Bytes stored in the stream', ['stream']),
  };
}
