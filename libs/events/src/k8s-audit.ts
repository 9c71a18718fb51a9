/**
 * A Kubernetes audit event (`audit.k8s.io/v1` Event) as the API server sent
 * it, wrapped with the time Saker keys it by. The object is kept whole:
 * `jevt.value[/any/pointer]` may ask for any part of it.
 */
export interface K8sAuditEvent {
  readonly source: 'k8s_audit';
  /** Nanoseconds since the epoch, from the audit event's stageTimestamp (or requestReceivedTimestamp). */
  readonly ts: string;
  /** The node or ingest instance that received the event. */
  readonly hostname?: string;
  readonly event: AuditEvent;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The parts of audit.k8s.io/v1 Event that Saker reads by name; everything else stays in the object. */
export interface AuditEvent extends JsonObject {
  apiVersion: string;
  kind: 'Event';
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: JsonObject;
}
