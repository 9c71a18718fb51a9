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
  ProgramOutputConfig,
  RuleMatching,
  SakerConfig,
  SensorConfig,
  SidekickConfig,
  SidekickOutputName,
  SinkOutputConfig,
  SinkOutputName,
  SinksConfig,
  TelemetryConfig,
} from './config.js';
export {
  FALCO_ENGINE_KEYS,
  FALCO_IGNORED_KEYS,
  SIDEKICK_OUTPUTS,
  SINK_OUTPUTS,
  defaultRulesDir,
  loadConfig,
} from './config.js';
export type { AppendOutputConfig } from './append-output.js';
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
