export type { Counter, Gauge, Histogram } from './metrics.js';
export { MetricsRegistry } from './metrics.js';
export type { HealthCheck, HealthReport, TelemetryServer } from './server.js';
export { healthReport, serveTelemetry } from './server.js';
export type { Context, Tracer } from './tracing.js';
export {
  ROOT_CONTEXT,
  SpanKind,
  contextFromHeaders,
  endSpan,
  getTracer,
  startSpan,
  traceHeaders,
} from './tracing.js';

export {
  bearerTokenMatches,
  isLoopbackHost,
  plaintextTokenProblem,
  plaintextTokenWarning,
} from './listen.js';
export { REDACTED, isSecretKey, redactText, redactUrl } from './redact.js';
