/**
 * From a webhook body (or one log line) to audit Events. The API server's
 * webhook backend sends an `audit.k8s.io/v1` EventList in batch mode and a
 * single Event in blocking mode; the log backend writes one Event per line.
 */
import { type AuditEvent, EventValidationError, parseAuditEvent } from '@saker/events';
import { AuditRequestError } from './errors.js';

export const AUDIT_API_VERSION = 'audit.k8s.io/v1';

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
  if (o.kind === 'Event') {
    const one = checkAuditEvent(o, '$');
    if (!one.ok) throw new AuditRequestError('bad_event', `${one.path}: ${one.reason}`);
    return { events: [one.event], paths: ['$'], rejected: [], total: 1 };
  }
  if (o.kind !== 'EventList') {
    throw new AuditRequestError(
      'bad_event',
      `kind: expected "EventList" or "Event", got ${JSON.stringify(o.kind) ?? 'nothing'}`,
    );
  }
  if (o.apiVersion !== AUDIT_API_VERSION) {
    throw new AuditRequestError(
      'bad_event',
      `apiVersion: expected "${AUDIT_API_VERSION}", got ${JSON.stringify(o.apiVersion) ?? 'nothing'}`,
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
    const r = checkAuditEvent(withListTypeMeta(items[i]), `items[${i}]`);
    if (r.ok) {
      events.push(r.event);
      paths.push(`items[${i}]`);
    } else rejected.push({ path: r.path, reason: r.reason });
  }
  return { events, paths, rejected, total: items.length };
}

/**
 * The API server's EventList carries apiVersion and kind once, on the list:
 * its items have none (Go's encoder omits an item's empty TypeMeta). An
 * item without them is the list's Event; one that names another version or
 * kind is still refused.
 */
function withListTypeMeta(item: unknown): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  const o = item as Record<string, unknown>;
  if (o.apiVersion !== undefined || o.kind !== undefined) return item;
  return { apiVersion: AUDIT_API_VERSION, kind: 'Event', ...o };
}
