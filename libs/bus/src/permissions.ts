/**
 * One NATS user per Saker service, each with the least it needs: the subjects
 * it may publish to and subscribe on, JetStream API calls included (a
 * JetStream or KV call is a request on a `$JS.API.…` subject). The Helm chart's
 * bundled NATS uses the nats-server `authorization` block printed from this map
 * (`natsAuthorizationBlock`, `saker nats authorization`; after a change, run
 * scripts/chart-nats-authorization.sh); docs/security.md explains each line.
 *
 * What the map enforces:
 * - a sensor publishes only its own node's event and status subjects and
 *   reads nothing;
 * - only control writes `saker_rules`; engines read it;
 * - engines publish alerts and read events; sinks consume alerts, write
 *   dead letters and their delivery reports; the UI consumes alerts and dead
 *   letters, reads event batches' headers, engine stats, sensor status and
 *   sinks reports, and publishes an alert again only to
 *   redeliver a dead letter; no service but `admin` may delete a stream or a
 *   consumer;
 * - replies come to a per-service inbox prefix (`_INBOX_<service>`), so no
 *   service reads another's replies (pulled alerts, KV reads).
 */
import { BUCKETS, STREAMS, SUBJECTS, toToken } from './subjects.js';

export const SAKER_SERVICES = [
  'sensor',
  'audit',
  'engine',
  'control',
  'sinks',
  'enrich-node',
  'enrich-cluster',
  'ui',
  'admin',
] as const;
export type SakerService = (typeof SAKER_SERVICES)[number];

export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** The inbox prefix the service must connect with (NatsBusOptions.inboxPrefix). */
  readonly inboxPrefix: string;
}

/** The inbox prefix of `service`: its replies arrive under `<prefix>.>`. */
export function natsInboxPrefix(service: SakerService): string {
  return service === 'admin' ? '_INBOX' : `_INBOX_${service.replace('-', '_')}`;
}

const API = '$JS.API';

/** Ensure a stream (create when absent, update its limits) and read its state. */
function ownStream(stream: string): string[] {
  return [`${API}.STREAM.CREATE.${stream}`, `${API}.STREAM.UPDATE.${stream}`, `${API}.STREAM.INFO.${stream}`];
}

/** Read-only use of a stream's state (ensure when it is as configured, fill level). */
function streamInfo(stream: string): string[] {
  return [`${API}.STREAM.INFO.${stream}`];
}

/** Durable (and ephemeral) consumers on a stream: create, read state, pull, ack. */
function consume(stream: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.>`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
  ];
}

/** Reading a KV bucket: get (direct or not), watch (an ordered consumer with flow control). */
function kvRead(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.>`,
    `${API}.CONSUMER.DELETE.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

/** Writing keys of a KV bucket (`keys`: a key pattern), and creating the bucket. */
function kvWrite(bucket: string, keys: string): string[] {
  return [`${API}.STREAM.CREATE.KV_${bucket}`, `$KV.${bucket}.${keys}`];
}

/** `node` (`*`) for one user of every node's sensor or node-mode enrich: a subject wildcard, not a node name. */
const ANY_NODE = '*';

/**
 * The permissions of `service`. `node` is the node a sensor or node-mode
 * enrich runs on (made a subject token as the service does), or ANY_NODE for
 * one user shared by every node (the Helm chart's, which cannot know the
 * nodes); required for those two.
 */
export function natsPermissions(service: SakerService, options: { node?: string } = {}): NatsPermissions {
  const inbox = natsInboxPrefix(service);
  const replies = `${inbox}.>`;
  const node = (): string => {
    if (options.node === undefined || options.node === '') {
      throw new Error(`natsPermissions: ${service} needs the node it runs on`);
    }
    return options.node === ANY_NODE ? ANY_NODE : toToken(options.node);
  };
  const common = [`${API}.INFO`];
  switch (service) {
    case 'sensor':
      return {
        inboxPrefix: inbox,
        publish: [
          node() === ANY_NODE ? SUBJECTS.allSyscallEvents : SUBJECTS.syscallEvents(node()),
          // Its status report (events, drops) for the UI's health view.
          node() === ANY_NODE ? SUBJECTS.allSensorStats : SUBJECTS.sensorStats(node()),
          // The "Syscall event drop" alert (internal, Debug), as Falco raises it.
          SUBJECTS.alert('internal', 'debug'),
          ...common,
          // It follows the ruleset in use (the event types the probe attaches to).
          ...kvRead(BUCKETS.rules),
        ],
        subscribe: [replies],
      };
    case 'audit':
      return {
        inboxPrefix: inbox,
        publish: [SUBJECTS.k8sAuditEvents, ...common, ...ownStream(STREAMS.audit.name)],
        subscribe: [replies],
      };
    case 'engine':
      return {
        inboxPrefix: inbox,
        publish: [
          SUBJECTS.allAlerts,
          SUBJECTS.allEngineStats,
          ...common,
          ...ownStream(STREAMS.alerts.name),
          // Made by the engine when no audit service made it yet; never updated by it.
          `${API}.STREAM.CREATE.${STREAMS.audit.name}`,
          ...streamInfo(STREAMS.audit.name),
          ...streamInfo(STREAMS.deadLetter.name),
          ...consume(STREAMS.audit.name),
          ...kvRead(BUCKETS.rules),
          ...kvRead(BUCKETS.meta),
        ],
        subscribe: [SUBJECTS.allSyscallEvents, replies],
      };
    case 'control':
      return {
        inboxPrefix: inbox,
        publish: [...common, ...kvRead(BUCKETS.rules), ...kvWrite(BUCKETS.rules, '>')],
        subscribe: [SUBJECTS.allEngineStats, replies],
      };
    case 'sinks':
      return {
        inboxPrefix: inbox,
        publish: [
          // The falcosidekick-compatible input stores the alerts it receives.
          SUBJECTS.allAlerts,
          SUBJECTS.allDeadLetters,
          // Its delivery report per output, for the UI's health view.
          SUBJECTS.allSinksStats,
          ...common,
          ...streamInfo(STREAMS.alerts.name),
          ...ownStream(STREAMS.deadLetter.name),
          ...consume(STREAMS.alerts.name),
        ],
        subscribe: [replies],
      };
    case 'enrich-node':
      return {
        inboxPrefix: inbox,
        publish: [...common, ...kvRead(BUCKETS.meta), ...kvWrite(BUCKETS.meta, `containers.${node()}.*`)],
        subscribe: [replies],
      };
    case 'enrich-cluster':
      return {
        inboxPrefix: inbox,
        publish: [...common, ...kvRead(BUCKETS.meta), ...kvWrite(BUCKETS.meta, '>')],
        subscribe: [replies],
      };
    case 'ui':
      return {
        inboxPrefix: inbox,
        publish: [
          // Redelivering a dead letter stores its alert on SAKER_ALERTS again.
          SUBJECTS.allAlerts,
          ...common,
          // Made by the UI when it starts first (default limits); never updated by it.
          `${API}.STREAM.CREATE.${STREAMS.alerts.name}`,
          `${API}.STREAM.CREATE.${STREAMS.deadLetter.name}`,
          ...streamInfo(STREAMS.alerts.name),
          ...streamInfo(STREAMS.deadLetter.name),
          ...consume(STREAMS.alerts.name),
          ...consume(STREAMS.deadLetter.name),
        ],
        subscribe: [
          SUBJECTS.allSyscallEvents,
          SUBJECTS.allEngineStats,
          SUBJECTS.allSensorStats,
          SUBJECTS.allSinksStats,
          replies,
        ],
      };
    case 'admin':
      return { inboxPrefix: inbox, publish: ['>'], subscribe: ['>'] };
  }
}

/**
 * The node services that reach the hub through the node's leaf node (the
 * chart's node pod). Node-mode enrich connects to the hub itself: KV writes
 * (`$KV.…` publishes) do not cross a leaf connection into the hub's
 * JetStream domain (test/nats-leaf-user.test.ts shows it).
 */
export const LEAF_SERVICES = ['sensor', 'engine'] as const satisfies readonly SakerService[];

/**
 * The permissions of a leaf node's user at the hub, for the node services it
 * carries: the union of theirs, for any node (the hub cannot tell one node's
 * leaf from another's when they share the user), with the JetStream API
 * under the hub's `domain` (the leaf maps `$JS.API.>` there). Publish is
 * what the leaf may send into the hub, subscribe what the hub may send it.
 */
export function natsLeafPermissions(
  services: readonly SakerService[],
  domain: string,
): { readonly publish: readonly string[]; readonly subscribe: readonly string[] } {
  const inDomain = (subject: string): string =>
    subject.startsWith(`${API}.`) ? `$JS.${domain}.API.${subject.slice(API.length + 1)}` : subject;
  const publish = new Set<string>();
  const subscribe = new Set<string>();
  for (const service of services) {
    const p = natsPermissions(service, { node: ANY_NODE });
    for (const s of p.publish) publish.add(inDomain(s));
    for (const s of p.subscribe) subscribe.add(s);
  }
  return { publish: [...publish], subscribe: [...subscribe] };
}

/** A NATS user of the map: its service, its node, and how the server knows it. */
export interface NatsUserEntry {
  readonly service: SakerService;
  readonly node?: string;
  /**
   * `user` + `password` (a bcrypt hash is best; `$NAME` is written as a
   * nats-server variable reference), or an nkey public key (`U…`).
   */
  readonly user?: string;
  readonly password?: string;
  readonly nkey?: string;
  /** A leaf node's user at the hub instead: the permissions of natsLeafPermissions(services, domain). */
  readonly leaf?: { readonly services: readonly SakerService[]; readonly domain: string };
}

/** The publish and subscribe allow lists of a user of the map (a service's, or a leaf node's). */
export function natsUserPermissions(u: NatsUserEntry): {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
} {
  return u.leaf === undefined
    ? natsPermissions(u.service, u.node === undefined ? {} : { node: u.node })
    : natsLeafPermissions(u.leaf.services, u.leaf.domain);
}

function quote(value: string): string {
  return JSON.stringify(value);
}

/** A password: `$NAME` stays a nats-server variable reference (unquoted); anything else is a string. */
function password(value: string): string {
  return /^\$[A-Z_][A-Z0-9_]*$/.test(value) ? value : quote(value);
}

function list(items: readonly string[]): string {
  return `[${items.map(quote).join(', ')}]`;
}

/**
 * A nats-server `authorization { users = [...] }` block for `users`, with
 * each user's permissions from the map (nats-server's config syntax; JSON
 * strings are valid there). `allow_responses` is not set: every reply a
 * service sends goes through its publish allow list.
 */
export function natsAuthorizationBlock(users: readonly NatsUserEntry[]): string {
  const lines = ['authorization {', '  users = ['];
  for (const u of users) {
    const p = natsUserPermissions(u);
    const who: string[] = [];
    if (u.nkey !== undefined) who.push(`nkey: ${quote(u.nkey)}`);
    else {
      if (u.user === undefined)
        throw new Error(`natsAuthorizationBlock: a ${u.service} user needs user or nkey`);
      who.push(`user: ${quote(u.user)}`);
      if (u.password !== undefined) who.push(`password: ${password(u.password)}`);
    }
    lines.push(`    { ${who.join(', ')}`);
    lines.push('      permissions: {');
    lines.push(`        publish: { allow: ${list(p.publish)} }`);
    lines.push(`        subscribe: { allow: ${list(p.subscribe)} }`);
    lines.push('      }');
    lines.push('    }');
  }
  lines.push('  ]', '}');
  return `${lines.join('\n')}\n`;
}
