/**
 * Saker's public bus API: every subject, stream, bucket and queue group, in
 * one place. Custom consumers rely on these names, so each carries a version
 * (`v1`); a change of shape gets a new version beside the old one, never an
 * edit in place. docs/bus.md describes the same names for readers.
 */
import { HANDLER_ERROR_HEADER, InvalidNameError } from './errors.js';

/** Falco's priorities, lowest last, spelled as they appear in alert subjects. */
export const ALERT_PRIORITIES = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'informational',
  'debug',
] as const;
export type AlertPriority = (typeof ALERT_PRIORITIES)[number];

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Throws InvalidNameError unless `value` can stand as one subject token:
 * non-empty and only [A-Za-z0-9_-] (so no spaces, dots or wildcards).
 */
export function assertToken(kind: string, value: string): void {
  if (!TOKEN.test(value)) {
    const reason =
      value.length === 0
        ? 'empty'
        : /\s/.test(value)
          ? 'contains whitespace'
          : value.includes('.')
            ? 'contains "." (a token separator)'
            : /[*>]/.test(value)
              ? 'contains a wildcard'
              : 'allowed: [A-Za-z0-9_-]';
    throw new InvalidNameError('publish', kind, value, reason);
  }
}

/**
 * A subject token made from any name (a node's hostname often has dots): every
 * character outside [A-Za-z0-9_-] becomes "_". Lossy, so use it where the
 * original also travels in the payload (events carry `hostname`).
 */
export function toToken(value: string): string {
  const token = value.replace(/[^A-Za-z0-9_-]/g, '_');
  return token.length === 0 ? '_' : token;
}

/** Subjects. Functions validate their tokens and throw InvalidNameError. */
export const SUBJECTS = {
  /** Every event, of every source. */
  allEvents: 'saker.v1.events.>',
  /** Syscall event batches from every node. */
  allSyscallEvents: 'saker.v1.events.syscall.*',
  /** Syscall event batches published by the sensor on `node`. */
  syscallEvents(node: string): string {
    assertToken('node', node);
    return `saker.v1.events.syscall.${node}`;
  },
  /** Kubernetes audit event batches. */
  k8sAuditEvents: 'saker.v1.events.k8s_audit',
  /** Every dead-lettered alert, of every output. */
  allDeadLetters: 'saker.v1.deadletter.>',
  /** Alerts the sink output `output` gave up on. */
  deadLetter(output: string): string {
    assertToken('output', output);
    return `saker.v1.deadletter.${output}`;
  },
  /** Every alert. */
  allAlerts: 'saker.v1.alerts.>',
  /** An alert of a rule on `source` (`syscall`, `k8s_audit`, ...) at `priority`. */
  alert(source: string, priority: AlertPriority): string {
    assertToken('source', source);
    if (!(ALERT_PRIORITIES as readonly string[]).includes(priority)) {
      throw new InvalidNameError(
        'publish',
        'priority',
        priority,
        `expected one of ${ALERT_PRIORITIES.join(', ')}`,
      );
    }
    return `saker.v1.alerts.${source}.${priority}`;
  },
  /** Every engine replica's stats reports. */
  allEngineStats: 'saker.v1.engine.stats.*',
  /** The stats reports of engine replica `replica` (docs/engine.md). */
  engineStats(replica: string): string {
    assertToken('replica', replica);
    return `saker.v1.engine.stats.${replica}`;
  },
  /** Every sensor's status reports. */
  allSensorStats: 'saker.v1.sensor.stats.*',
  /** The status reports of the sensor on `node` (sensor-stats.ts, docs/bus.md). */
  sensorStats(node: string): string {
    assertToken('node', node);
    return `saker.v1.sensor.stats.${node}`;
  },
  /** Every sinks instance's delivery reports. */
  allSinksStats: 'saker.v1.sinks.stats.*',
  /** The delivery reports of sinks instance `instance` (sinks-stats.ts, docs/bus.md). */
  sinksStats(instance: string): string {
    assertToken('instance', instance);
    return `saker.v1.sinks.stats.${instance}`;
  },
} as const;

/** JetStream streams: name and the subjects each captures. */
export const STREAMS = {
  /** Alerts, kept so every sink and the UI read them through a durable consumer. */
  alerts: { name: 'SAKER_ALERTS', subjects: ['saker.v1.alerts.>'] },
  /** Kubernetes audit batches: the webhook answers 200 only once they are stored here. */
  audit: { name: 'SAKER_AUDIT', subjects: ['saker.v1.events.k8s_audit'] },
  /** Alerts an output gave up on, each with the reason and the attempt count. */
  deadLetter: { name: 'SAKER_DEADLETTER', subjects: ['saker.v1.deadletter.>'] },
} as const;

/** KV buckets. */
export const BUCKETS = {
  /** Rulesets and their revision; engines watch it and hot-swap. */
  rules: 'saker_rules',
  /** Container and pod metadata, keyed by container id; written by enrich. */
  meta: 'saker_meta',
} as const;

/**
 * Keys of the `saker_meta` bucket (records: @saker/events metadata.ts). Names
 * that may hold dots (a node's hostname) go through `toToken`; ids and uids
 * are already key-safe.
 */
export const META_KEYS = {
  /** Every container record, of every node. */
  allContainers: 'containers.>',
  /** The containers of one node. */
  nodeContainers(node: string): string {
    return `containers.${toToken(node)}.*`;
  },
  /** A container (12-character id) on `node`, written by enrich in node mode. */
  container(node: string, id: string): string {
    assertToken('container id', id);
    return `containers.${toToken(node)}.${id}`;
  },
  allPods: 'pods.*',
  pod(uid: string): string {
    assertToken('pod uid', uid);
    return `pods.${uid}`;
  },
  allNamespaces: 'namespaces.*',
  namespace(name: string): string {
    assertToken('namespace', name);
    return `namespaces.${name}`;
  },
  allWorkloads: 'workloads.>',
  /** A workload or service; `kind` is lower-cased (`deployment`, `service`). */
  workload(kind: string, uid: string): string {
    assertToken('workload uid', uid);
    return `workloads.${kind.toLowerCase()}.${uid}`;
  },
  allShards: 'shards.*',
  /** The lease of cluster-mode shard `index`. */
  shard(index: number): string {
    return `shards.${index}`;
  },
} as const;

/** Queue groups: members of a group share the messages (each goes to one member). */
export const QUEUE_GROUPS = {
  engine: 'engine',
} as const;

/** Message headers Saker sets. */
export const HEADERS = {
  /** Codec of an event batch (see batch.ts): `jsonl` (v1) or `jsonl-shared` (v2). */
  batchCodec: 'Saker-Batch-Codec',
  /** Number of events in a batch. */
  batchCount: 'Saker-Batch-Count',
  /** Set by `respond` on a reply when the handler failed; the value is the message. */
  handlerError: HANDLER_ERROR_HEADER,
} as const;
