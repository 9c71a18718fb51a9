export type {
  AuditConfig,
  ControlConfig,
  ControlTlsConfig,
  EngineConfig,
  EnrichCacheConfig,
  EnrichClusterConfig,
  EnrichConfig,
  EnrichNodeConfig,
  FileOutputConfig,
  HttpOutputConfig,
  LoadConfigOptions,
  LogConfig,
  NatsConfig,
  StreamLimitsConfig,
  StreamsConfig,
  RulesetsConfig,
  ProgramOutputConfig,
  RuleMatching,
  SakerConfig,
  SensorConfig,
  SinkOutputConfig,
  SinkOutputName,
  SinksConfig,
  SinksInputAuthConfig,
  TelemetryConfig,
  TracingConfig,
} from './config.js';
export {
  FALCO_ENGINE_KEYS,
  FALCO_IGNORED_KEYS,
  SINK_OUTPUTS,
  defaultRulesDir,
  hostPort,
  httpUrl,
  loadConfig,
  natsUrl,
  priority,
} from './config.js';
export type { Field, Fields, ObjectOf, Schema } from './schema.js';
export { boolean, field, list, map, nullable, number, object, oneOf, section, string } from './schema.js';
export type { SectionTools } from './section.js';
export { ConfigSection } from './section.js';
export { caseless, checked, concurrency, emptyOr, stringList, stringMap } from './values.js';
export type { AppendOutputConfig } from './append-output.js';
export type { UiConfig, UiOidcConfig, UiRole } from './ui.js';
export type { Origin } from './errors.js';
export { ConfigError } from './errors.js';
export { ENV_PREFIX } from './tree.js';
export type {
  AlertFormatView,
  BusView,
  EngineView,
  EnrichCacheView,
  EnrichClusterView,
  EnrichNodeView,
  OutputsView,
  RulesView,
  SensorView,
  SinksView,
  TelemetryView,
} from './views.js';
export {
  alertFormatView,
  busView,
  controlView,
  engineView,
  enrichCacheView,
  enrichClusterView,
  enrichNodeView,
  outputsView,
  rulesView,
  sensorView,
  sinksView,
  telemetryView,
} from './views.js';
