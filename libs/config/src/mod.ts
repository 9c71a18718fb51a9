export type { LoadConfigOptions, SakerConfig } from './config.js';
export { SINK_OUTPUTS, hostPort, httpUrl, loadConfig, natsUrl, priority } from './config.js';
export type { Field, Fields, ObjectOf, Schema } from './schema.js';
export { boolean, field, map, nullable, number, object, oneOf, section, string } from './schema.js';

export { ConfigSection } from './section.js';
export { caseless, checked, concurrency, emptyOr, stringList, stringMap } from './values.js';
export type { UiConfig, UiElasticsearchConfig, UiOidcConfig, UiRole } from './ui.js';
export { ConfigError } from './errors.js';

export type { AlertFormatView, EnrichClusterView, EnrichNodeView, OutputsView, SinksView } from './views.js';
export {
  alertFormatView,
  busView,
  enrichCacheView,
  enrichClusterView,
  enrichNodeView,
  outputsView,
  sinksView,
} from './views.js';
