/**
 * From a webhook body (or one log line) to audit Events. The API server's
 * webhook backend sends an `audit.k8s.io/v1` EventList in batch mode and a
 * single Event in blocking mode; the log backend writes one Event per line.
 * As Falco's k8saudit plugin does, `audit.k8s.io/v1beta1` is read too, and so
 * is an Event whose apiVersion and kind were dropped but which has an audit
 * Event's shape (`auditLeniency` tells them apart for the metrics).
 */
import {
  AUDIT_API_VERSIONS,
  type AuditEvent,
  EventValidationError,
  auditLeniency,
  looksLikeUntypedAuditEvent,
  parseAuditEvent,
} from '@saker/events';
import { AuditRequestError } from './errors.js';
import type { AuditInput, AuditMetrics } from './metrics.js';

const AUDIT_API_VERSION = 'audit.k8s.io/v1';

/** One item of a batch that was not an audit Event, with where it sat and why. */
export interface RejectedItem {
  /** JSON path of the first wrong field, e.g. `items[3].apiVersion`. */
  readonly path: string;
  readonly reason: string;
}

export interface DecodedBody {
  readonly events: AuditEvent[];
  /** Where each of `events` sat in the body (`items[4]`, or `$` for a single Event). */
  readonly paths: string[];
  readonly rejected: RejectedItem[];
  /** Items the body held (1 for a single Event). */
  readonly total: number;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

export type CheckedItem =
  | { readonly ok: true; readonly event: AuditEvent }
  | ({ readonly ok: false } & RejectedItem);

/** One audit Event, or the item's rejection. Never throws. */
export function checkAuditEvent(value: unknown, path: string): CheckedItem {
  try {
    return { ok: true, event: parseAuditEvent(value, path) };
  } catch (err) {
    if (err instanceof EventValidationError) return { ok: false, path: err.path, reason: err.reason };
    return { ok: false, path, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Splits a parsed webhook body into its Events and the items that are not.
 * Throws AuditRequestError (bad_event) only when the body as a whole is not
 * an EventList or an Event: then there is nothing to accept.
 */
export function decodeAuditBody(body: unknown): DecodedBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AuditRequestError(
      'bad_event',
      `$: expected an EventList or Event object, got ${describe(body)}`,
    );
  }
  const o = body as Record<string, unknown>;
  if (o.kind === 'Event' || looksLikeUntypedAuditEvent(o)) {
    const one = checkAuditEvent(o, '$');
    if (!one.ok) throw new AuditRequestError('bad_event', `${one.path}: ${one.reason}`);
    return { events: [one.event], paths: ['$'], rejected: [], total: 1 };
  }
  if (o.kind !== 'EventList') {
    throw new AuditRequestError(
      'bad_event',
      `kind: expected "EventList" or "Event" (or an Event without apiVersion and kind), got ${JSON.stringify(o.kind) ?? 'nothing'}`,
    );
  }
  if (o.apiVersion !== undefined && !AUDIT_API_VERSIONS.includes(o.apiVersion as string)) {
    throw new AuditRequestError(
      'bad_event',
      `apiVersion: expected "${AUDIT_API_VERSIONS.join('" or "')}", got ${JSON.stringify(o.apiVersion)}`,
    );
  }
  // An empty list is sent as `"items": null` by Go's encoder; treat it as none.
  if (o.items === null || o.items === undefined) return { events: [], paths: [], rejected: [], total: 0 };
  if (!Array.isArray(o.items)) {
    throw new AuditRequestError('bad_event', `items: expected an array, got ${describe(o.items)}`);
  }
  const events: AuditEvent[] = [];
  const paths: string[] = [];
  const rejected: RejectedItem[] = [];
  const items = o.items as unknown[];
  for (let i = 0; i < items.length; i++) {
    // The API server's items carry no apiVersion/kind of their own (Go omits
    // an empty TypeMeta): parseAuditEvent reads them as untyped Events.
    const r = checkAuditEvent(items[i], `items[${i}]`);
    if (r.ok) {
      events.push(r.event);
      paths.push(`items[${i}]`);
    } else rejected.push({ path: r.path, reason: r.reason });
  }
  return { events, paths, rejected, total: items.length };
}

/** Counts the events of `events` that were read leniently (v1beta1, or without apiVersion/kind). */
export function countLenient(metrics: AuditMetrics, input: AuditInput, events: readonly AuditEvent[]): void {
  for (const e of events) {
    const leniency = auditLeniency(e);
    if (leniency !== undefined) metrics.eventsLenient.inc({ input, leniency });
  }
}
