export type { SinksService, StopOptions } from './service.js';
export { start } from './service.js';
export type {
  BatchOptions,
  DedupOptions,
  InputOptions,
  InputTls,
  OutputSettings,
  ResolvedOutputSettings,
  ResolvedSinksOptions,
  SinksLog,
  SinksLogLevel,
  SinksOptions,
} from './options.js';
export { resolveSinksOptions } from './options.js';
export type { OutputStats } from './runner.js';
export type { AlertFormat, ParsedAlert } from './alert.js';
export {
  DEDUP_COUNT_FIELD,
  DEFAULT_FORMAT,
  alertJson,
  alertLine,
  alertText,
  parseAlert,
  toAlert,
} from './alert.js';
export type { DeliveryErrorKind } from './errors.js';
export {
  AlertValidationError,
  DeliveryError,
  PartialBatchError,
  SinksOptionsError,
  permanent,
  retryable,
} from './errors.js';
export type { RouteResult } from './fields.js';
export { alertFields, compileRoute } from './fields.js';
export type { BackoffOptions } from './backoff.js';
export { backoffDelay } from './backoff.js';
export type { DeadLetterReason, FilterReason, SinksMetrics } from './metrics.js';
export { ALL_DEAD_LETTERS, DEAD_LETTER_STREAM, deadLetterSubject, durableName } from './subjects.js';
export { testAlert } from './input.js';
export type {
  FalcoOutputsOptions,
  OutputExtras,
  OutputsFromConfigOptions,
  SidekickFromConfigOptions,
} from './config.js';
export {
  falcoOutputsFromConfig,
  inputOptionsFromConfig,
  outputsFromConfig,
  sidekickOutputsFromConfig,
} from './config.js';
export type { SidekickConfig, SidekickOutputConfig, SidekickOutputName } from './sidekick/registry.js';
export { readSidekickConfig } from './sidekick/registry.js';
export type { Delivery, Output } from './outputs/output.js';
export type { StdoutOutputOptions } from './outputs/stdout.js';
export { StdoutOutput } from './outputs/stdout.js';
export type { FileOutputOptions } from './outputs/file.js';
export { FileOutput } from './outputs/file.js';
export type { HttpOutputOptions } from './outputs/http.js';
export { HttpOutput } from './outputs/http.js';
export type { ProgramOutputOptions } from './outputs/program.js';
export { ProgramOutput } from './outputs/program.js';
export type {
  SyslogOutputOptions,
  SyslogRecordOptions,
  SyslogTlsOptions,
  SyslogTransport,
} from './outputs/syslog.js';
export {
  SYSLOG_FACILITIES,
  SyslogOutput,
  escapeSyslogMsg,
  octetFrame,
  rfc5424Record,
  syslogPri,
  truncateUtf8,
} from './outputs/syslog.js';
export type { HttpTargetOptions } from './outputs/http-client.js';
export { isRetryableStatus } from './outputs/http-client.js';
export type { ElasticsearchOutputOptions, IndexSuffix } from './outputs/elasticsearch.js';
export { ElasticsearchOutput, elasticDocument, indexName } from './outputs/elasticsearch.js';
export type { LokiOutputOptions } from './outputs/loki.js';
export { LokiOutput } from './outputs/loki.js';
export type { AlertmanagerAlert, AlertmanagerOutputOptions } from './outputs/alertmanager.js';
export { AlertmanagerOutput, sanitizeLabelName } from './outputs/alertmanager.js';
export type { PrometheusOutputOptions } from './outputs/prometheus.js';
export { PrometheusOutput } from './outputs/prometheus.js';
export type { NatsOutputOptions } from './outputs/nats.js';
export { NatsOutput, natsSubject, subjectToken } from './outputs/nats.js';
export type { RedisOutputOptions } from './outputs/redis.js';
export { RedisOutput, parseResp, respCommand } from './outputs/redis.js';
export type {
  KafkaCompression,
  KafkaOutputOptions,
  KafkaRequiredAcks,
  KafkaSaslMechanism,
  KafkaTlsOptions,
} from './outputs/kafka.js';
export { KafkaOutput, kafkaBroker } from './outputs/kafka.js';
export type { KafkaBalancer } from './outputs/kafka-balancer.js';
export { KAFKA_BALANCERS, crc32, kafkaPartitioner, murmur2 } from './outputs/kafka-balancer.js';
export type { SmtpOutputOptions } from './outputs/smtp.js';
export { SmtpOutput, dotStuff, headerValue, quotedPrintable } from './outputs/smtp.js';
export type { Enricher, SidekickCommonOptions } from './sidekick/enrich.js';
export type { SidekickHttpOptions, SidekickTlsOptions } from './sidekick/transport.js';
export { PRIORITY_COLORS, chatText, priorityColor } from './sidekick/chat-text.js';
export { compileEnricher, sidekickSettings, withSidekick } from './sidekick/enrich.js';
export { parseKeyValues } from './sidekick/key-values.js';
export { Template } from './sidekick/template.js';
export { SidekickHttp } from './sidekick/transport.js';
export type { WebhookOutputOptions } from './outputs/webhook.js';
export { WebhookOutput } from './outputs/webhook.js';
export type { SlackOutputFormat, SlackOutputOptions } from './outputs/slack.js';
export { SLACK_LIMITS, SlackOutput, slackEscapeChar, slackText } from './outputs/slack.js';
export type { TeamsOutputFormat, TeamsOutputOptions } from './outputs/teams.js';
export { TEAMS_LIMITS, TeamsOutput, teamsEscapeChar, teamsText } from './outputs/teams.js';
export type { DiscordOutputOptions } from './outputs/discord.js';
export { DISCORD_LIMITS, DiscordOutput, discordEscapeChar, discordText } from './outputs/discord.js';
export type { PagerDutyOutputOptions, PagerDutySeverity } from './outputs/pagerduty.js';
export {
  PAGERDUTY_ENDPOINTS,
  PAGERDUTY_LIMITS,
  PAGERDUTY_SEVERITY,
  PagerDutyOutput,
} from './outputs/pagerduty.js';
export type { OpsgenieOutputOptions, OpsgeniePriority } from './outputs/opsgenie.js';
export {
  OPSGENIE_ENDPOINTS,
  OPSGENIE_LIMITS,
  OPSGENIE_PRIORITY,
  OpsgenieOutput,
} from './outputs/opsgenie.js';
