export type { EngineService } from './engine.js';
export { EngineStartError, start } from './engine.js';
export type { EngineOptions, MetadataOption, ResolvedEngineOptions } from './options.js';
export {
  EngineOptionsError,
  isMetadataProvider,
  resolveEngineOptions,
  resolveKvMetadataOptions,
} from './options.js';
export type { KvMetadataProvider, KvMetadataStats } from './metadata-cache.js';
export { createKvMetadataProvider } from './metadata-cache.js';
export type { KvMetadataOptions, ResolvedKvMetadataOptions } from './metadata-options.js';
export { joinBatch } from './metadata-join.js';
export type { MetadataNeed, MetadataProvider } from './metadata.js';
export { isMetadataField, metadataNeed, needsMetadata } from './metadata.js';
export type { InternalAlert, OutgoingAlert } from './alerts.js';
export {
  INTERNAL_SOURCE,
  RELOAD_FAILURE_RULE,
  RULES_DROP_RULE,
  SIGNATURE_FAILURE_RULE,
  STREAM_FILL_RULE,
  alertMsgId,
  eventIdentity,
  internalAlert,
  reloadFailureAlert,
} from './alerts.js';
export { AlertSpool, SPOOL_FILE } from './spool.js';
export type { EngineState, EngineStats } from './stats.js';
export { ENGINE_STATS_SUBJECTS, EngineStatsError, decodeEngineStats, encodeEngineStats } from './stats.js';
export type { LoadedRuleset, RulesetLoadOutcome } from './ruleset-state.js';
export { compileDocument, compileKvValue, prepareRuleset } from './ruleset-state.js';
export type { LogSink } from './log.js';
export { RateLimitedLog } from './log.js';
export type { RulesetCompileLimits } from './ruleset-vet.js';
export { DEFAULT_COMPILE_LIMITS, RulesetVetter, compileKvValueBounded } from './ruleset-vet.js';
