/** The audit service's metrics, registered once per service instance. */
import type { Counter, Histogram, MetricsRegistry } from '@saker/telemetry';
import type { RejectReason } from './errors.js';

export type AuditInput = 'webhook' | 'file';

export interface AuditMetrics {
  /** Webhook requests by outcome: `ok`, `partial` (some items rejected) or a RejectReason. */
  readonly requests: Counter;
  readonly requestSeconds: Histogram;
  /** Events handed to the bus, by input. */
  readonly eventsAccepted: Counter;
  /** Events left out, by input and reason. */
  readonly eventsRejected: Counter;
  /** Hand-offs that failed (no ack, no stream, connection lost), by input. */
  readonly handoffFailures: Counter;
  /** Log file: bytes read, rotations followed, and lines of a file that went away unread. */
  readonly fileBytes: Counter;
  readonly fileRotations: Counter;
}

export function auditMetrics(registry: MetricsRegistry): AuditMetrics {
  return {
    requests: registry.counter(
      'saker_audit_webhook_requests_total',
      'Audit webhook requests, by outcome (ok, partial, or the reason they were refused).',
      ['outcome'],
    ),
    requestSeconds: registry.histogram(
      'saker_audit_webhook_request_seconds',
      'Time from request start to the answer, hand-off to the bus included.',
    ),
    eventsAccepted: registry.counter('saker_audit_events_accepted_total', 'Audit events handed to the bus.', [
      'input',
    ]),
    eventsRejected: registry.counter(
      'saker_audit_events_rejected_total',
      'Audit events left out: not JSON, not an audit.k8s.io/v1 Event, or larger than a bus message.',
      ['input', 'reason'],
    ),
    handoffFailures: registry.counter(
      'saker_audit_handoff_failures_total',
      'Hand-offs to the bus that were not confirmed (the webhook answered 503; the file source retries).',
      ['input'],
    ),
    fileBytes: registry.counter('saker_audit_file_bytes_read_total', 'Bytes read from audit log files.'),
    fileRotations: registry.counter(
      'saker_audit_file_rotations_total',
      'Audit log rotations followed, by kind (rename or truncate).',
      ['kind'],
    ),
  };
}

export type RequestOutcome = 'ok' | 'partial' | RejectReason;
