export type { Counter, Gauge, Histogram, HistogramOptions, Labels } from './metrics.js';
export { DEFAULT_BUCKETS, MetricsRegistry, escapeHelp, escapeLabelValue } from './metrics.js';
export type { HealthCheck, HealthReport, TelemetryServer, TelemetryServerOptions } from './server.js';
export { METRICS_CONTENT_TYPE, healthReport, serveTelemetry } from './server.js';
export type { Attributes, Context, Span, SpanOptions, StartedSpan, Tracer } from './tracing.js';
export {
  ROOT_CONTEXT,
  SpanKind,
  contextFromHeaders,
  endSpan,
  extractTraceContext,
  getTracer,
  injectTraceContext,
  startSpan,
  traceHeaders,
  withContext,
  withSpan,
} from './tracing.js';
export { MetricDefinitionError, MetricUsageError, TelemetryConfigError } from './errors.js';
export type { ListenerSecurity } from './listen.js';
export {
  bearerTokenMatches,
  isLoopbackHost,
  plaintextTokenProblem,
  plaintextTokenWarning,
} from './listen.js';
export { REDACTED, isSecretKey, redactText, redactUrl, redactValue } from './redact.js';
