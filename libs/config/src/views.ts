/**
 * What each service needs from the configuration, as plain values. A service
 * takes its view, not the whole SakerConfig, so it can be configured (and
 * tested) without a file.
 */
import type { Priority } from '@saker/rules';
import type { AppendOutputConfig } from './append-output.js';
import type {
  ControlConfig,
  EngineConfig,
  EnrichCacheConfig,
  EnrichClusterConfig,
  EnrichNodeConfig,
  FileOutputConfig,
  HttpOutputConfig,
  NatsConfig,
  ProgramOutputConfig,
  RuleMatching,
  SakerConfig,
  SinkOutputConfig,
  SinkOutputName,
  SinksInputAuthConfig,
  StreamLimitsConfig,
  TelemetryConfig,
} from './config.js';
import type { ConfigSection } from './section.js';

export interface BusView {
  /** null: the in-memory bus (one process). */
  readonly url: string | null;
  /** The rest is what connectBus (@saker/bus NatsBusOptions) takes, by the same names. */
  readonly tls: NatsConfig['tls'];
  readonly auth: NatsConfig['auth'];
  readonly inboxPrefix?: string;
  /** Limits by stream name (SAKER_ALERTS, SAKER_AUDIT, SAKER_DEADLETTER). */
  readonly streamLimits: Readonly<
    Record<string, { readonly maxBytes: number; readonly maxAgeMs: number; readonly replicas: number }>
  >;
  /** Copies of each KV bucket (saker.yaml `kv.replicas`). */
  readonly kvReplicas: number;
}

export interface RulesView {
  readonly files: readonly string[];
  readonly watch: boolean;
  readonly minPriority: Priority;
  readonly matching: RuleMatching;
}

export interface EngineView extends EngineConfig {
  readonly hostname: string;
  readonly ruleMatching: RuleMatching;
  readonly timeIso8601: boolean;
  /** Falco's `append_output`, for EngineOptions.appendOutput (and `saker replay`). */
  readonly appendOutput: readonly AppendOutputConfig[];
}

/** How an alert becomes a line: Falco's text, or Falco's JSON with its include switches. */
export interface AlertFormatView {
  readonly json: boolean;
  readonly includeOutput: boolean;
  readonly includeTags: boolean;
  readonly includeOutputFields: boolean;
  readonly timeIso8601: boolean;
}

export interface OutputsView {
  readonly format: AlertFormatView;
  readonly buffered: boolean;
  readonly stdout: { readonly enabled: boolean };
  readonly syslog: { readonly enabled: boolean };
  readonly file: FileOutputConfig;
  readonly http: HttpOutputConfig;
  readonly program: ProgramOutputConfig;
}

/** Saker's side of the sinks: the HTTP input and per-output filters (Falco's sections are in OutputsView). */
export interface SinksView {
  readonly hostname: string;
  /** The falcosidekick-compatible HTTP input and who may post to it; null: not served. */
  readonly input: ({ readonly host: string; readonly port: number } & SinksInputAuthConfig) | null;
  readonly outputs: Readonly<Record<SinkOutputName, SinkOutputConfig>>;
  /** falcosidekick's outputs (`sinks.sidekick`): the sinks read it with their outputs' schemas (docs/sinks.md). */
  readonly sidekick: ConfigSection;
}

export interface SensorView {
  readonly enabled: boolean;
  readonly nodeName: string;
  readonly hostname: string;
}

export interface TelemetryView extends TelemetryConfig {
  readonly hostname: string;
}

export function busView(c: SakerConfig): BusView {
  const limits = (l: StreamLimitsConfig) => ({
    maxBytes: l.maxBytes,
    maxAgeMs: l.maxAgeMs,
    replicas: l.replicas,
  });
  return {
    url: c.nats.url,
    tls: c.nats.tls,
    auth: c.nats.auth,
    ...(c.nats.inboxPrefix === null ? {} : { inboxPrefix: c.nats.inboxPrefix }),
    streamLimits: {
      SAKER_ALERTS: limits(c.streams.alerts),
      SAKER_AUDIT: limits(c.streams.audit),
      SAKER_DEADLETTER: limits(c.streams.deadletter),
    },
    kvReplicas: c.kv.replicas,
  };
}

export function rulesView(c: SakerConfig): RulesView {
  return {
    files: c.rulesFiles,
    watch: c.watchConfigFiles,
    minPriority: c.engine.minPriority,
    matching: c.ruleMatching,
  };
}

export function engineView(c: SakerConfig): EngineView {
  return {
    ...c.engine,
    hostname: c.hostname,
    ruleMatching: c.ruleMatching,
    timeIso8601: c.timeFormatIso8601,
    appendOutput: c.appendOutput,
  };
}

export function controlView(c: SakerConfig): ControlConfig {
  return c.control;
}

export function alertFormatView(c: SakerConfig): AlertFormatView {
  return {
    json: c.jsonOutput,
    includeOutput: c.jsonIncludeOutputProperty,
    includeTags: c.jsonIncludeTagsProperty,
    includeOutputFields: c.jsonIncludeOutputFieldsProperty,
    timeIso8601: c.timeFormatIso8601,
  };
}

export function outputsView(c: SakerConfig): OutputsView {
  return {
    format: alertFormatView(c),
    buffered: c.bufferedOutputs,
    stdout: c.stdoutOutput,
    syslog: c.syslogOutput,
    file: c.fileOutput,
    http: c.httpOutput,
    program: c.programOutput,
  };
}

export function sinksView(c: SakerConfig): SinksView {
  const listen = c.sinks.inputListen;
  let input: SinksView['input'] = null;
  if (listen !== null) {
    // Validated as host:port when loaded; IPv6 as [addr]:port.
    const at = listen.lastIndexOf(':');
    input = {
      host: listen.slice(0, at).replace(/^\[(.*)\]$/, '$1'),
      port: Number(listen.slice(at + 1)),
      ...c.sinks.input,
    };
  }
  return { hostname: c.hostname, input, outputs: c.sinks.outputs, sidekick: c.sinks.sidekick };
}

export function sensorView(c: SakerConfig): SensorView {
  return { ...c.sensor, hostname: c.hostname };
}

export function telemetryView(c: SakerConfig): TelemetryView {
  return { ...c.telemetry, hostname: c.hostname };
}

/** Node-mode enrichment (the CRI socket); `enabled: null` means on when a socket is found. */
export type EnrichNodeView = EnrichNodeConfig;

/** Cluster-mode enrichment (API server watches in shards). */
export type EnrichClusterView = EnrichClusterConfig;

/** The engine's metadata cache over KV saker_meta. */
export type EnrichCacheView = EnrichCacheConfig;

export function enrichNodeView(c: SakerConfig): EnrichNodeView {
  return c.enrich.node;
}

export function enrichClusterView(c: SakerConfig): EnrichClusterView {
  return c.enrich.cluster;
}

export function enrichCacheView(c: SakerConfig): EnrichCacheView {
  return c.enrich.cache;
}
