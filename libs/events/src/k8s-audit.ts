/**
 * A Kubernetes audit event (`audit.k8s.io/v1` or `v1beta1` Event) as the API server sent
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

/**
 * The parts of an audit Event that Saker reads by name; everything else stays
 * in the object. `apiVersion` (`audit.k8s.io/v1` or `v1beta1`) and `kind`
 * (`Event`) are checked when present but may be absent (see auditLeniency).
 */
export interface AuditEvent extends JsonObject {
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: JsonObject;
}
