export type {
  ControlConfig,
  ControlTlsConfig,
  EngineConfig,
  FileOutputConfig,
  HttpOutputConfig,
  LoadConfigOptions,
  NatsConfig,
  ProgramOutputConfig,
  RuleMatching,
  SakerConfig,
  SensorConfig,
  TelemetryConfig,
} from './config.js';
export { FALCO_ENGINE_KEYS, FALCO_IGNORED_KEYS, defaultRulesDir, loadConfig } from './config.js';
export type { Origin } from './errors.js';
export { ConfigError } from './errors.js';
export { ENV_PREFIX } from './tree.js';
export type {
  AlertFormatView,
  BusView,
  EngineView,
  OutputsView,
  RulesView,
  SensorView,
  TelemetryView,
} from './views.js';
export {
  alertFormatView,
  busView,
  controlView,
  engineView,
  outputsView,
  rulesView,
  sensorView,
  telemetryView,
} from './views.js';
