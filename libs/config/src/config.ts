/**
 * saker.yaml: Falco's output and rules keys with Falco's meaning and
 * defaults, Saker's own sections, environment overrides, and errors that name
 * the key and where it was written.
 *
 * Loading runs in three steps: read the layers into positioned nodes
 * (file → environment → overrides), read them through the schema (which fills
 * defaults), then finalize the values that depend on others. The result is
 * fully populated: later code never meets `undefined`.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRIORITIES, type Priority, parsePriority } from '@saker/rules';
import {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  OptionError,
  parseHostPort,
} from '@saker/runtime';
import type { TracingFileSettings } from '@saker/telemetry/sdk';
import { type AppendOutputConfig, appendOutputSchema, defaultAppendOutput } from './append-output.js';
import { ConfigError, type Origin, describeOrigin } from './errors.js';
import {
  type Field,
  type ReadContext,
  type Schema,
  boolean,
  field,
  joinPath,
  list,
  map,
  nullable,
  number,
  object,
  oneOf,
  section,
  string,
} from './schema.js';
import { type ConfigSection, deferredSection } from './section.js';
import { type CNode, emptyMap, envLayer, mergeNodes, nodeFromValue, parseYamlConfig } from './tree.js';
import { type UiConfig, finalizeUi, uiSection } from './ui.js';
import { concurrency, stringMap } from './values.js';

export type RuleMatching = 'first' | 'all';

export interface FileOutputConfig {
  readonly enabled: boolean;
  readonly keepAlive: boolean;
  readonly filename: string;
}

export interface HttpOutputConfig {
  readonly enabled: boolean;
  readonly url: string;
  readonly userAgent: string;
  readonly insecure: boolean;
  readonly caCert: string;
  readonly caBundle: string;
  readonly caPath: string;
  readonly mtls: boolean;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly echo: boolean;
  readonly compressUploads: boolean;
  readonly keepAlive: boolean;
  readonly maxConsecutiveTimeouts: number;
}

export interface ProgramOutputConfig {
  readonly enabled: boolean;
  readonly keepAlive: boolean;
  readonly program: string;
}

export interface NatsConfig {
  /** `nats://host:4222` (several separated by commas); null runs the bus in memory, in one process. */
  readonly url: string | null;
  /** TLS towards NATS (absolute paths; null: not set). */
  readonly tls: {
    readonly ca: string | null;
    readonly cert: string | null;
    readonly key: string | null;
  };
  /** One way to authenticate; secrets are files (Kubernetes Secrets mount as files). */
  readonly auth: {
    readonly credsFile: string | null;
    readonly nkeySeedFile: string | null;
    readonly user: string | null;
    readonly passwordFile: string | null;
    readonly tokenFile: string | null;
  };
  /** Prefix of reply subjects (`_INBOX_<service>` with the permission map, docs/security.md); null: nats.js's `_INBOX`. */
  readonly inboxPrefix: string | null;
  /** Where alerts NATS did not take wait for it (engine), and the most bytes they may fill. */
  readonly spool: { readonly dir: string | null; readonly maxBytes: number };
}

/** Limits of one stream: when full, the oldest messages go (and the engine alerts before). */
export interface StreamLimitsConfig {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /** Fill level (bytes / max_bytes) at which the internal alert fires. */
  readonly alertRatio: number;
  /** Copies in a NATS cluster (3 for R3), applied when the stream is made. */
  readonly replicas: number;
}

/** `rulesets:` signing of the rulesets control writes, and what engines trust. */
interface RulesetsConfig {
  /** Control signs every revision with this Ed25519 private key (PEM file); null: unsigned. */
  readonly signingKey: string | null;
  /** Engines accept only revisions signed by one of these public keys (PEM files); empty: not checked. */
  readonly trustedKeys: readonly string[];
  /** An internal alert fires when the enabled rules drop by more than this share (or to zero). */
  readonly dropAlertShare: number;
}

/** `kv:` Saker's JetStream KV buckets (saker_rules, saker_meta). */
interface KvConfig {
  /** Copies in a NATS cluster (3 for R3), applied when a bucket is made. */
  readonly replicas: number;
}

/** `streams:` the limits of Saker's JetStream streams. */
interface StreamsConfig {
  readonly alerts: StreamLimitsConfig;
  readonly audit: StreamLimitsConfig;
  readonly deadletter: StreamLimitsConfig;
}

export interface EngineConfig {
  /** Engine instances `saker run` starts in its process. */
  readonly replicas: number;
  /** The NATS queue group engines share events through. */
  readonly queueGroup: string;
  /** Rules less severe than this are not loaded; defaults to the top-level `priority`. */
  readonly minPriority: Priority;
  readonly batch: {
    /** Most events in one batch on the bus. */
    readonly maxEvents: number;
    /** A non-empty batch is sent at the latest this long after its first event. */
    readonly flushIntervalMs: number;
  };
}

interface ControlTlsConfig {
  /** CA bundle for client certificates (mTLS); null accepts any client. Absolute path. */
  readonly ca: string | null;
  readonly cert: string;
  readonly key: string;
}

export interface ControlConfig {
  /** `host:port` of the gRPC RuleService. */
  readonly listen: string;
  /** null: plaintext (then only a loopback address may be listened on without a token). */
  readonly tls: ControlTlsConfig | null;
  /** Bearer token every call must carry (`token`, or the file `token_file` names); null: none. */
  readonly token: string | null;
  /** Accept the token without TLS on an address other than loopback (readable on the network). */
  readonly allowPlaintextToken: boolean;
  /**
   * Caller identities that may write on behalf of another author (the web
   * UI, for its logged-in user): `mtls:<CN>`, `token`, `unauthenticated:<address>`.
   */
  readonly delegates: readonly string[];
}

/** `audit`: the Kubernetes audit webhook and audit log files (docs/audit.md). */
interface AuditConfig {
  /** `host:port` of the webhook; null: no webhook. */
  readonly listen: string | null;
  readonly path: string;
  /** null: plain HTTP (development; then a token or allow_unauthenticated is needed). */
  readonly tls: { readonly cert: string; readonly key: string; readonly clientCa: string | null } | null;
  /** Accepted bearer tokens (`token`, or one a line in the file `token_file` names). */
  readonly tokens: readonly string[];
  readonly allowUnauthenticated: boolean;
  /** Accept the token without TLS on an address other than loopback (readable on the network). */
  readonly allowPlaintextToken: boolean;
  readonly maxBodyBytes: number;
  /** API server audit logs (`--audit-log-path`) to follow; absolute paths. */
  readonly files: readonly string[];
  /** Where the files' checkpoints go; null: next to each file. */
  readonly checkpointDir: string | null;
}

/** `log`: every service's log lines. */
interface LogConfig {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

export interface TelemetryConfig {
  /** `host:port` of `/metrics` and `/healthz`; null: not served. */
  readonly listen: string | null;
  readonly tracing: TracingConfig;
}

/**
 * `telemetry.tracing`: each key null when not set, so the standard OTEL_*
 * variables (or the defaults) decide it (docs/telemetry.md). The telemetry
 * SDK takes it as it is.
 */
type TracingConfig = TracingFileSettings;

interface SensorConfig {
  readonly enabled: boolean;
  /** The node name events are published under (`saker.v1.events.syscall.<node>`). */
  readonly nodeName: string;
  /**
   * Evaluate the probe's events on the node, in a worker thread (decode,
   * process table, rules, alert format), publishing alerts instead of event
   * batches (docs/sensor.md, "The node worker").
   */
  readonly worker: boolean;
  /** Falco's top-level `syscall_event_drops`: what a window with dropped events does. */
  readonly drops: SyscallEventDropsConfig;
}

/** What a window with dropped syscall events does (Falco's `syscall_event_drops` actions). */
type SyscallDropAction = 'ignore' | 'log' | 'alert';

/** Falco's `syscall_event_drops`, as Saker reads it (docs/sensor.md, "Drops"). */
interface SyscallEventDropsConfig {
  /** Dropped / (captured + dropped) in a stats window above which the actions run; 0: any drop. */
  readonly threshold: number;
  /** Empty, or `[ignore]`: drops are only counted (metrics). */
  readonly actions: readonly SyscallDropAction[];
  /** Token bucket: notices per second. */
  readonly rate: number;
  readonly maxBurst: number;
}

/** `enrich.node`: container metadata from the node's CRI socket (docs/enrich.md). */
export interface EnrichNodeConfig {
  /** null: on when a CRI socket is found (auto); true: required (start fails without one). */
  readonly enabled: boolean | null;
  /** CRI sockets (absolute paths); empty: the usual containerd and CRI-O paths are probed. */
  readonly criSockets: readonly string[];
  /** How often containers are listed when the runtime has no GetContainerEvents. */
  readonly pollIntervalMs: number;
  /** The node name of the records' keys (`containers.<node>.<id>`); defaults to sensor.node_name. */
  readonly nodeName: string;
  /** A removed container's tombstone is purged this long after its deletion. */
  readonly tombstoneTtlMs: number;
}

/** `enrich.cluster`: pods, namespaces and workloads from the API server, in shards. */
export interface EnrichClusterConfig {
  readonly enabled: boolean;
  /** Path of a kubeconfig; '' uses the in-cluster service account. */
  readonly kubeconfig: string;
  /** How many shards split the nodes. */
  readonly shards: number;
  /** This instance's name in shard leases; defaults to hostname. */
  readonly instance: string;
  readonly leaseTtlMs: number;
  readonly tombstoneTtlMs: number;
  /** Informers' full resync period; 0: never. */
  readonly resyncMs: number;
}

/** `enrich.cache`: the engine's metadata cache over KV saker_meta. */
export interface EnrichCacheConfig {
  /** How long an event whose container is not known yet waits for its metadata. */
  readonly waitMs: number;
  /** LRU bound of the cache. */
  readonly maxEntries: number;
  /** An entry not refreshed for this long is dropped. */
  readonly ttlMs: number;
}

interface EnrichConfig {
  readonly node: EnrichNodeConfig;
  readonly cluster: EnrichClusterConfig;
  readonly cache: EnrichCacheConfig;
}

/** The outputs Falco's sections configure, by the name the sinks give them. */
export const SINK_OUTPUTS = ['stdout', 'file', 'syslog', 'http', 'program'] as const;
export type SinkOutputName = (typeof SINK_OUTPUTS)[number];

/** Saker's per-output settings (falcosidekick's `minimumpriority`, routing). */
export interface SinkOutputConfig {
  /** Alerts less severe are not delivered; null: every alert. */
  readonly minimumPriority: Priority | null;
  /** Routing condition in Falco's language over the alert (docs/sinks.md); null: every alert. */
  readonly condition: string | null;
  /** Deliveries in progress at once; null: the output's default (http 16, the others 1). */
  readonly concurrency: number | null;
}

/** Who may post to the falcosidekick-compatible input. */
export interface SinksInputAuthConfig {
  /** HTTPS; with `ca`, senders' client certificates signed by it authenticate (mTLS). Absolute paths. */
  readonly tls: ControlTlsConfig | null;
  /** Bearer token a POST may carry instead; null: none. */
  readonly token: string | null;
  /** Off loopback, accept posts that prove nothing. */
  readonly allowUnauthenticated: boolean;
  /** Off loopback, accept the token without TLS (readable on the network). */
  readonly allowPlaintextToken: boolean;
}

interface SinksConfig {
  /** `host:port` of the falcosidekick-compatible HTTP input; null: not served. */
  readonly inputListen: string | null;
  readonly input: SinksInputAuthConfig;
  readonly outputs: Readonly<Record<SinkOutputName, SinkOutputConfig>>;
  /** falcosidekick's outputs (`sinks.sidekick`): read by the sinks with their outputs' schemas. */
  readonly sidekick: ConfigSection;
}

export interface SakerConfig {
  /** The file that was loaded (absolute), or null when none was. */
  readonly file: string | null;
  /** Absolute paths of rules files and directories, in load order. */
  readonly rulesFiles: readonly string[];
  /** Reload rules when a rules file changes (Falco's `watch_config_files`). */
  readonly watchConfigFiles: boolean;
  readonly priority: Priority;
  readonly ruleMatching: RuleMatching;
  readonly jsonOutput: boolean;
  readonly jsonIncludeOutputProperty: boolean;
  readonly jsonIncludeTagsProperty: boolean;
  readonly jsonIncludeOutputFieldsProperty: boolean;
  readonly timeFormatIso8601: boolean;
  readonly bufferedOutputs: boolean;
  readonly stdoutOutput: { readonly enabled: boolean };
  readonly syslogOutput: { readonly enabled: boolean };
  readonly fileOutput: FileOutputConfig;
  readonly httpOutput: HttpOutputConfig;
  readonly programOutput: ProgramOutputConfig;
  /** Falco's `append_output`: text and fields added to rules' outputs; default Falco's (suggested output on). */
  readonly appendOutput: readonly AppendOutputConfig[];
  /** The `hostname` of every alert. */
  readonly hostname: string;
  readonly nats: NatsConfig;
  readonly streams: StreamsConfig;
  readonly kv: KvConfig;
  readonly rulesets: RulesetsConfig;
  readonly engine: EngineConfig;
  readonly control: ControlConfig;
  readonly telemetry: TelemetryConfig;
  readonly sensor: SensorConfig;
  readonly sinks: SinksConfig;
  readonly enrich: EnrichConfig;
  readonly audit: AuditConfig;
  /** The web UI (docs/ui.md). */
  readonly ui: UiConfig;
  readonly log: LogConfig;
}

export interface LoadConfigOptions {
  /** saker.yaml (or a falco.yaml). Absent: defaults, environment and overrides only. */
  readonly file?: string;
  /** Environment to read `SAKER__…` overrides (and FALCO_HOSTNAME) from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Values that win over the file and the environment, shaped like the YAML
   * (snake_case keys), e.g. `{ nats: { url: 'nats://x:4222' } }` from a flag.
   */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** Base for relative paths not written in a file. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Receives one-line notices (ignored Falco keys, deprecated spellings). Default: stderr. */
  readonly onNotice?: (message: string) => void;
}

/** The rules/ directory shipped with Saker (the repository's). */
export function defaultRulesDir(): string {
  // dist/src/config.js → the package → libs/ → the repository root.
  return fileURLToPath(new URL('../../../../rules', import.meta.url));
}

/**
 * Falco settings Saker accepts and ignores, so a user's falco.yaml loads.
 * Current keys and a few from older Falco releases.
 */
const FALCO_IGNORED_KEYS: readonly string[] = [
  'config_files',
  'rules',
  'capture',
  'load_plugins',
  'plugins',
  'plugins_hostinfo',
  'buffer_format_base64',
  'json_include_message_property',
  'outputs_queue',
  'static_fields',
  'webserver',
  'log_stderr',
  'log_syslog',
  'log_level',
  'libs_logger',
  'output_timeout',
  'syscall_event_timeouts',
  'metrics',
  'base_syscalls',
  'falco_libs',
  'container_engines',
  'grpc',
  'grpc_output',
  'metadata_download',
  'modern_bpf',
  'syscall_buf_size_preset',
  'syscall_drop_failed_exit',
  'outputs',
];

/** Falco's `engine` (the capture driver) shares its name with Saker's section; its keys are ignored. */
const FALCO_ENGINE_KEYS: readonly string[] = [
  'kind',
  'kmod',
  'ebpf',
  'modern_ebpf',
  'replay',
  'gvisor',
  'nodriver',
];

/** A Falco priority, in any of Falco's spellings. */
export const priority: Schema<Priority> = oneOf<Priority>(PRIORITIES, parsePriority);

/**
 * Falco's `syscall_event_drops.actions`: ignore, log, alert. `exit` is refused
 * (Saker does not stop watching because events were lost), and so is ignore
 * beside another action, which Falco does not allow either.
 */
function dropActions(): Schema<readonly SyscallDropAction[]> {
  const words = ['ignore', 'log', 'alert', 'exit'] as const;
  return map(list(oneOf<(typeof words)[number]>(words)), (actions, node, path) => {
    if (actions.includes('exit'))
      throw new ConfigError(
        path,
        'exit is not supported: Saker keeps watching when events are dropped (use log and alert)',
        node.origin,
      );
    if (actions.includes('ignore') && actions.length > 1)
      throw new ConfigError(path, 'ignore cannot be combined with log or alert', node.origin);
    return actions.filter((a): a is SyscallDropAction => a !== 'exit');
  });
}

/** A path: relative ones are taken from the directory of the file that wrote them. */
function pathSchema(cwd: string): Schema<string> {
  return map(string(), (value, node) => {
    if (value === '' || isAbsolute(value)) return value;
    return resolve(node.origin.kind === 'file' ? dirname(node.origin.file) : cwd, value);
  });
}

/** `host:port`, IPv6 as `[addr]:port`. */
export function hostPort(): Schema<string> {
  return map(string(), (value, node, path) => {
    try {
      parseHostPort(value, path);
    } catch (err) {
      if (err instanceof OptionError) throw new ConfigError(path, err.reason, node.origin, { cause: err });
      throw err;
    }
    return value;
  });
}

/** A secret (token, password): a string whose value no error ever shows. */
function secret(): Schema<string> {
  return {
    expected: 'a string',
    read(node, path) {
      if (node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number')) {
        return String(node.value);
      }
      throw new ConfigError(path, 'expected a string (the value is not shown: it is a secret)', node.origin);
    },
  };
}

/** An http:// or https:// URL, or ''. */
export function httpUrl(): Schema<string> {
  return map(string(), (value, node, path) => {
    if (value === '') return value;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigError(
        path,
        `expected an http:// or https:// URL, got ${JSON.stringify(value)}`,
        node.origin,
      );
    }
    return value;
  });
}

/** `nats://host:4222`, several separated by commas. */
export function natsUrl(): Schema<string> {
  return map(string(), (value, node, path) => {
    for (const part of value.split(',')) {
      if (!/^(?:(?:nats|tls|ws|wss):\/\/)?[^\s/]+(?::\d+)?\/?$/.test(part.trim())) {
        throw new ConfigError(
          path,
          `expected a NATS URL like nats://host:4222, got ${JSON.stringify(value)}`,
          node.origin,
        );
      }
    }
    return value;
  });
}

function sinkOutput() {
  return section({
    minimum_priority: field(nullable(priority), null),
    condition: field(nullable(string()), null),
    concurrency: field(nullable(concurrency()), null),
  });
}

/** A unix socket: an absolute path, or `unix:///path` (the CRI endpoint spelling). */
function socketPath(): Schema<string> {
  return map(string(), (value, node, path) => {
    const p = value.startsWith('unix://') ? value.slice('unix://'.length) : value;
    if (!isAbsolute(p)) {
      throw new ConfigError(
        path,
        `expected an absolute socket path or unix:///path, got ${JSON.stringify(value)}`,
        node.origin,
      );
    }
    return p;
  });
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** One stream's `max_bytes`, `max_age_ms` and `alert_ratio`. */
function streamLimits(maxBytes: number, maxAgeMs: number) {
  return section({
    max_bytes: field(number({ integer: true, min: 1024 }), maxBytes),
    max_age_ms: field(number({ integer: true, min: 1000 }), maxAgeMs),
    alert_ratio: field(number({ min: 0, max: 1 }), 0.8),
    replicas: field(number({ integer: true, min: 1, max: 5 }), 1),
  });
}

/** A subject prefix for replies: tokens of [A-Za-z0-9_-], dot-separated. */
function inboxPrefix(): Schema<string> {
  return map(string(), (value, node, path) => {
    if (!/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/.test(value)) {
      throw new ConfigError(
        path,
        `expected a subject prefix like _INBOX_engine, got ${JSON.stringify(value)}`,
        node.origin,
      );
    }
    return value;
  });
}

/** `tls:` of a connection or listener: the CA, certificate and key files. */
function tlsFiles(path: Schema<string>) {
  return section({
    ca: field(nullable(path), null),
    cert: field(nullable(path), null),
    key: field(nullable(path), null),
  });
}

/** A token-authenticated listener's keys: the token (or the file holding it), and the opt-out for tokens in clear off loopback. */
function tokenFields(path: Schema<string>) {
  return {
    token: field(nullable(secret()), null),
    token_file: field(nullable(path), null),
    allow_plaintext_token: field(boolean(), false),
  };
}

function enrichSection(path: Schema<string>) {
  const ms = (min: number) => number({ integer: true, min });
  return section({
    node: section({
      enabled: field(nullable(boolean()), null),
      cri_sockets: field(list(socketPath()), []),
      poll_interval_ms: field(ms(100), 2000),
      node_name: field(nullable(string()), null),
      tombstone_ttl_ms: field(ms(0), 300_000),
    }),
    cluster: section({
      enabled: field(boolean(), false),
      kubeconfig: field(path, ''),
      shards: field(number({ integer: true, min: 1, max: 1024 }), 1),
      instance: field(nullable(string()), null),
      lease_ttl_ms: field(ms(100), 5000),
      tombstone_ttl_ms: field(ms(0), 300_000),
      resync_ms: field(ms(0), 0),
    }),
    cache: section({
      wait_ms: field(ms(0), 500),
      max_entries: field(ms(1), 10_000),
      ttl_ms: field(ms(1), 600_000),
    }),
  });
}

function buildSchema(cwd: string, env: Readonly<Record<string, string | undefined>>) {
  const path = pathSchema(cwd);
  const hostDefault = (): string => env.FALCO_HOSTNAME || osHostname();
  return object(
    {
      // Falco's rules keys; `rules_file` is the spelling before Falco 0.38.
      rules_files: field(nullable(list(path)), null),
      rules_file: field(nullable(list(path)), null),
      watch_config_files: field(boolean(), true),
      priority: field(priority, 'DEBUG'),
      rule_matching: field(
        oneOf<RuleMatching>(['first', 'all'], (t) => (t === 'first' || t === 'all' ? t : undefined)),
        'first',
      ),
      // Falco's output keys.
      json_output: field(boolean(), false),
      json_include_output_property: field(boolean(), true),
      json_include_tags_property: field(boolean(), true),
      json_include_output_fields_property: field(boolean(), true),
      time_format_iso_8601: field(boolean(), false),
      buffered_outputs: field(boolean(), false),
      stdout_output: section({ enabled: field(boolean(), true) }),
      syslog_output: section({ enabled: field(boolean(), true) }),
      file_output: section({
        enabled: field(boolean(), false),
        keep_alive: field(boolean(), false),
        filename: field(string(), './events.txt'),
      }),
      http_output: section({
        enabled: field(boolean(), false),
        url: field(httpUrl(), ''),
        user_agent: field(string(), 'falcosecurity/falco'),
        insecure: field(boolean(), false),
        ca_cert: field(string(), ''),
        ca_bundle: field(string(), ''),
        ca_path: field(string(), '/etc/ssl/certs'),
        mtls: field(boolean(), false),
        client_cert: field(string(), '/etc/ssl/certs/client.crt'),
        client_key: field(string(), '/etc/ssl/certs/client.key'),
        echo: field(boolean(), false),
        compress_uploads: field(boolean(), false),
        keep_alive: field(boolean(), false),
        max_consecutive_timeouts: field(number({ integer: true, min: 0 }), 5),
      }),
      program_output: section({
        enabled: field(boolean(), false),
        keep_alive: field(boolean(), false),
        program: field(string(), ''),
      }),
      append_output: field(appendOutputSchema(), defaultAppendOutput),
      // Saker's own.
      hostname: field(string(), hostDefault),
      nats: section({
        url: field(nullable(natsUrl()), null),
        tls: tlsFiles(path),
        auth: section({
          creds_file: field(nullable(path), null),
          nkey_seed_file: field(nullable(path), null),
          user: field(nullable(string()), null),
          password_file: field(nullable(path), null),
          token_file: field(nullable(path), null),
        }),
        inbox_prefix: field(nullable(inboxPrefix()), null),
        spool: section({
          dir: field(nullable(path), null),
          max_bytes: field(number({ integer: true, min: 0 }), 64 * 1024 * 1024),
        }),
      }),
      streams: section({
        alerts: streamLimits(1024 ** 3, 7 * DAY_MS),
        audit: streamLimits(1024 ** 3, DAY_MS),
        deadletter: streamLimits(256 * 1024 ** 2, 14 * DAY_MS),
      }),
      kv: section({
        replicas: field(number({ integer: true, min: 1, max: 5 }), 1),
      }),
      rulesets: section({
        signing_key: field(nullable(path), null),
        trusted_keys: field(list(path), []),
        drop_alert_share: field(number({ min: 0.01, max: 1 }), 0.5),
      }),
      engine: section(
        {
          replicas: field(number({ integer: true, min: 1, max: 64 }), 1),
          queue_group: field(string(), 'engine'),
          min_priority: field(nullable(priority), null),
          batch: section({
            max_events: field(number({ integer: true, min: 1 }), 512),
            flush_interval_ms: field(number({ min: 0 }), 5),
          }),
        },
        { ignored: FALCO_ENGINE_KEYS },
      ),
      control: section({
        listen: field(hostPort(), '127.0.0.1:5060'),
        tls: tlsFiles(path),
        ...tokenFields(path),
        delegates: field(list(string()), ['token', 'unauthenticated:127.0.0.1', 'unauthenticated:::1']),
      }),
      audit: section({
        listen: field(nullable(hostPort()), null),
        path: field(string(), '/k8s-audit'),
        tls: section({
          cert: field(nullable(path), null),
          key: field(nullable(path), null),
          client_ca: field(nullable(path), null),
        }),
        ...tokenFields(path),
        allow_unauthenticated: field(boolean(), false),
        max_body_bytes: field(number({ integer: true, min: 1 }), 10 * 1024 * 1024),
        files: field(list(path), []),
        checkpoint_dir: field(nullable(path), null),
      }),
      log: section({
        level: field(oneOf<LogLevel>(LOG_LEVELS), 'info'),
        format: field(oneOf<LogFormat>(LOG_FORMATS), 'text'),
      }),
      telemetry: section({
        listen: field(nullable(hostPort()), '127.0.0.1:8765'),
        tracing: section({
          exporter: field(
            nullable(
              oneOf<'otlp' | 'none'>(['otlp', 'none'], (t) => (t === 'otlp' || t === 'none' ? t : undefined)),
            ),
            null,
          ),
          endpoint: field(nullable(httpUrl()), null),
          sample_ratio: field(nullable(number({ min: 0, max: 1 })), null),
          service_name: field(nullable(string()), null),
          headers: field(stringMap(), {}),
        }),
      }),
      sensor: section({
        enabled: field(boolean(), true),
        node_name: field(nullable(string()), null),
        worker: field(boolean(), false),
      }),
      // Falco's key, at the top level as in falco.yaml; Falco's defaults.
      syscall_event_drops: section(
        {
          threshold: field(number({ min: 0, max: 1 }), 0.1),
          actions: field(dropActions(), ['log', 'alert']),
          rate: field(number({ min: 0.0001 }), 0.03333),
          max_burst: field(number({ integer: true, min: 1 }), 1),
        },
        { ignored: ['simulate_drops'] },
      ),
      sinks: section({
        input: section({
          listen: field(nullable(hostPort()), null),
          tls: tlsFiles(path),
          token: field(nullable(string()), null),
          allow_unauthenticated: field(boolean(), false),
          allow_plaintext_token: field(boolean(), false),
        }),
        outputs: section({
          stdout: sinkOutput(),
          file: sinkOutput(),
          syslog: sinkOutput(),
          http: sinkOutput(),
          program: sinkOutput(),
        }),
        // Read by the sinks with their outputs' schemas (docs/sinks.md, "Outputs as descriptors").
        sidekick: deferredSection('sinks.sidekick', path),
      }),
      enrich: enrichSection(path),
      ui: uiSection({ path, hostPort: hostPort(), secret: secret(), url: httpUrl() }),
    },
    { ignored: FALCO_IGNORED_KEYS },
  );
}

function readLayers(
  opts: LoadConfigOptions,
  env: Readonly<Record<string, string | undefined>>,
): {
  node: CNode;
  file: string | null;
} {
  let node: CNode = emptyMap({ kind: 'default' });
  let file: string | null = null;
  if (opts.file !== undefined) {
    file = resolve(opts.cwd ?? process.cwd(), opts.file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
      throw new ConfigError(
        '',
        `cannot read the configuration: ${reason}`,
        { kind: 'file', file, line: 1, column: 1 },
        { cause: err },
      );
    }
    const doc = parseYamlConfig(text, file);
    if (doc !== null && !(doc.kind === 'scalar' && doc.value === null)) {
      if (doc.kind !== 'map') {
        throw new ConfigError('', 'expected a mapping of settings at the top of the file', doc.origin);
      }
      node = doc;
    }
  }
  node = mergeNodes(node, envLayer(env));
  if (opts.overrides !== undefined) {
    node = mergeNodes(node, nodeFromValue(opts.overrides, { kind: 'overrides' }, ''));
  }
  return { node, file };
}

/**
 * Loads the configuration. Throws {@link ConfigError} at the first problem:
 * an unknown key (with a suggestion), a value of the wrong type, bad YAML or
 * a bad `SAKER__…` variable, naming the key and where it was written.
 */
export function loadConfig(opts: LoadConfigOptions = {}): SakerConfig {
  const env = opts.env ?? process.env;
  refuseLegacyEnv(env);
  const cwd = opts.cwd ?? process.cwd();
  const onNotice = opts.onNotice ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { node, file } = readLayers(opts, env);

  const ignored: string[] = [];
  const notices: string[] = [];
  const ctx: ReadContext = {
    ignored: (path) => ignored.push(path),
    notice: (m) => notices.push(m),
  };
  const raw = buildSchema(cwd, env).read(node, '', ctx);

  let rulesFiles = raw.rulesFiles;
  if (rulesFiles === null && raw.rulesFile !== null) {
    rulesFiles = raw.rulesFile;
    notices.push('config: rules_file is the spelling before Falco 0.38; prefer rules_files');
  } else if (rulesFiles !== null && raw.rulesFile !== null) {
    notices.push('config: both rules_files and rules_file are set; rules_file is ignored');
  }
  if (ignored.length > 0) {
    const where = file ?? describeOrigin({ kind: 'overrides' });
    notices.unshift(`config: ${where}: ignoring Falco settings Saker does not use: ${ignored.join(', ')}`);
  }

  const tlsSection = (
    at: readonly string[],
    t: { cert: string | null; key: string | null; ca: string | null },
  ): ControlTlsConfig | null => {
    if (t.cert === null && t.key === null && t.ca === null) return null;
    if (t.cert === null || t.key === null) {
      const missing = `${at.join('.')}.tls.${t.cert === null ? 'cert' : 'key'}`;
      throw new ConfigError(
        missing,
        `required when ${at.join('.')}.tls is configured (cert and key go together)`,
        originOf(node, [...at, 'tls']),
      );
    }
    return { ca: t.ca, cert: t.cert, key: t.key };
  };
  const tls = tlsSection(['control'], raw.control.tls);
  const inputRaw = raw.sinks.input;
  const controlToken = secretValue(node, ['control', 'token'], raw.control.token, raw.control.tokenFile);

  const auditTlsRaw = raw.audit.tls;
  let auditTls: AuditConfig['tls'] = null;
  if (auditTlsRaw.cert !== null || auditTlsRaw.key !== null || auditTlsRaw.clientCa !== null) {
    if (auditTlsRaw.cert === null || auditTlsRaw.key === null) {
      throw new ConfigError(
        auditTlsRaw.cert === null ? 'audit.tls.cert' : 'audit.tls.key',
        'required when audit.tls is configured (cert and key go together)',
        originOf(node, ['audit', 'tls']),
      );
    }
    auditTls = { cert: auditTlsRaw.cert, key: auditTlsRaw.key, clientCa: auditTlsRaw.clientCa };
  }
  const auditToken = secretValue(node, ['audit', 'token'], raw.audit.token, raw.audit.tokenFile);
  const audit: AuditConfig = {
    listen: raw.audit.listen,
    path: raw.audit.path,
    tls: auditTls,
    tokens: (auditToken ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== ''),
    allowUnauthenticated: raw.audit.allowUnauthenticated,
    allowPlaintextToken: raw.audit.allowPlaintextToken,
    maxBodyBytes: raw.audit.maxBodyBytes,
    files: raw.audit.files,
    checkpointDir: raw.audit.checkpointDir,
  };

  const config: SakerConfig = {
    file,
    rulesFiles: rulesFiles ?? [defaultRulesDir()],
    watchConfigFiles: raw.watchConfigFiles,
    priority: raw.priority,
    ruleMatching: raw.ruleMatching,
    jsonOutput: raw.jsonOutput,
    jsonIncludeOutputProperty: raw.jsonIncludeOutputProperty,
    jsonIncludeTagsProperty: raw.jsonIncludeTagsProperty,
    jsonIncludeOutputFieldsProperty: raw.jsonIncludeOutputFieldsProperty,
    timeFormatIso8601: raw.timeFormatIso8601,
    bufferedOutputs: raw.bufferedOutputs,
    stdoutOutput: raw.stdoutOutput,
    syslogOutput: raw.syslogOutput,
    fileOutput: raw.fileOutput,
    httpOutput: raw.httpOutput,
    programOutput: raw.programOutput,
    appendOutput: raw.appendOutput,
    hostname: raw.hostname,
    nats: {
      url: raw.nats.url,
      tls: raw.nats.tls,
      auth: raw.nats.auth,
      inboxPrefix: raw.nats.inboxPrefix,
      spool: raw.nats.spool,
    },
    streams: raw.streams,
    kv: raw.kv,
    rulesets: raw.rulesets,
    engine: {
      replicas: raw.engine.replicas,
      queueGroup: raw.engine.queueGroup,
      minPriority: raw.engine.minPriority ?? raw.priority,
      batch: raw.engine.batch,
    },
    control: {
      listen: raw.control.listen,
      tls,
      token: controlToken,
      allowPlaintextToken: raw.control.allowPlaintextToken,
      delegates: raw.control.delegates,
    },
    telemetry: raw.telemetry,
    sensor: {
      enabled: raw.sensor.enabled,
      nodeName: raw.sensor.nodeName ?? raw.hostname,
      worker: raw.sensor.worker,
      drops: { ...raw.syscallEventDrops },
    },
    sinks: {
      inputListen: inputRaw.listen,
      input: {
        tls: tlsSection(['sinks', 'input'], inputRaw.tls),
        token: inputRaw.token,
        allowUnauthenticated: inputRaw.allowUnauthenticated,
        allowPlaintextToken: inputRaw.allowPlaintextToken,
      },
      outputs: raw.sinks.outputs,
      sidekick: raw.sinks.sidekick,
    },
    enrich: {
      node: { ...raw.enrich.node, nodeName: raw.enrich.node.nodeName ?? raw.sensor.nodeName ?? raw.hostname },
      cluster: { ...raw.enrich.cluster, instance: raw.enrich.cluster.instance ?? raw.hostname },
      cache: raw.enrich.cache,
    },
    audit,
    ui: finalizeUi(
      raw.ui,
      (keys) => originOf(node, keys),
      (keys, inline, file) => secretValue(node, keys, inline, file),
    ),
    log: raw.log,
  };
  for (const m of notices) onNotice(m);
  return deepFreeze(config);
}

/**
 * Variables of the spellings before SAKER__A__B. Refused by name, so a
 * deployment that still sets one learns it is not read (instead of running
 * without its token). Their values are never shown.
 */
const LEGACY_ENV: Readonly<Record<string, string>> = {
  SAKER_CONTROL_TOKEN: 'SAKER__CONTROL__TOKEN',
  SAKER_AUDIT_LISTEN: 'SAKER__AUDIT__LISTEN',
  SAKER_AUDIT_NATS: 'SAKER__NATS__URL',
  SAKER_AUDIT_TLS_CERT: 'SAKER__AUDIT__TLS__CERT',
  SAKER_AUDIT_TLS_KEY: 'SAKER__AUDIT__TLS__KEY',
  SAKER_AUDIT_CLIENT_CA: 'SAKER__AUDIT__TLS__CLIENT_CA',
  SAKER_AUDIT_TOKEN_FILE: 'SAKER__AUDIT__TOKEN_FILE',
  SAKER_AUDIT_LOG_FILE: 'SAKER__AUDIT__FILES',
  SAKER_AUDIT_TELEMETRY: 'SAKER__TELEMETRY__LISTEN',
};

function refuseLegacyEnv(env: Readonly<Record<string, string | undefined>>): void {
  for (const name of Object.keys(env).sort()) {
    if (env[name] === undefined) continue;
    const instead = LEGACY_ENV[name];
    const auditFlag = instead === undefined && name.startsWith('SAKER_AUDIT_');
    if (instead === undefined && !auditFlag) continue;
    throw new ConfigError(
      '',
      `no longer read; set ${instead ?? 'the audit section (SAKER__AUDIT__<KEY>, docs/config.md)'} instead`,
      { kind: 'env', envVar: name },
    );
  }
}

/**
 * A secret given inline (`token`) or in a file (`token_file`, read here;
 * surrounding whitespace dropped). Errors name the key and the file, never
 * the value.
 */
function secretValue(
  node: CNode,
  keys: readonly string[],
  inline: string | null,
  file: string | null,
): string | null {
  const key = keys.join('.');
  if (file === null) return inline;
  const fileKeys = [...keys.slice(0, -1), `${keys[keys.length - 1]}_file`];
  if (inline !== null) {
    throw new ConfigError(key, `set ${key} or ${key}_file, not both`, originOf(node, fileKeys));
  }
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`${key}_file`, `cannot read ${file}: ${reason}`, originOf(node, fileKeys), {
      cause: err,
    });
  }
}

/** Where a section was written, for errors about the section as a whole. */
function originOf(node: CNode, keys: readonly string[]): Origin {
  let at: CNode = node;
  let origin: Origin = node.origin;
  for (const key of keys) {
    if (at.kind !== 'map') break;
    const entry = at.entries.get(key);
    if (!entry) break;
    origin = entry.keyOrigin;
    at = entry.value;
  }
  return origin;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
