/**
 * `@saker/telemetry/sdk`: wires the OpenTelemetry SDK once, at the edge of a
 * process (a service's main, or `saker run`). Libraries never import this.
 *
 * Traces are sampled parent-based: a span follows its parent's decision, and a
 * root span is kept with probability `sampleRatio`. Spans are exported over
 * OTLP/HTTP only when an endpoint is configured; without one no exporter and
 * no tracer provider is installed, but W3C trace context still propagates so a
 * sampled trace passes through an unexported service unbroken.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { TelemetryConfigError } from './errors.js';

export { TelemetryConfigError } from './errors.js';

export interface TelemetryInitConfig {
  /** `service.name` on every span, e.g. `saker-engine`. */
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** `service.instance.id`, e.g. the host or pod name. */
  readonly instanceId?: string;
  /**
   * OTLP/HTTP base URL (`http://collector:4318`) or full traces URL
   * (`…/v1/traces`). Absent or empty: no exporter.
   */
  readonly tracingEndpoint?: string;
  /** Extra headers sent to the collector (e.g. authorization). */
  readonly tracingHeaders?: Readonly<Record<string, string>>;
  /** Probability a root span is sampled, 0..1; default 0.1. */
  readonly sampleRatio?: number;
}

export interface TelemetryHandle {
  /** True when spans are exported. */
  readonly exporting: boolean;
  /** The normalized traces URL, or undefined without an exporter. */
  readonly endpoint: string | undefined;
  /** Flushes pending spans and uninstalls the SDK; safe to call twice. */
  shutdown(): Promise<void>;
}

export const DEFAULT_SAMPLE_RATIO = 0.1;

/** Appends `/v1/traces` to a base URL; keeps a URL that already names it. */
export function tracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (cause) {
    throw new TelemetryConfigError('tracing.endpoint', `not a URL: ${JSON.stringify(endpoint)}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TelemetryConfigError('tracing.endpoint', `must be http:// or https://, got ${url.protocol}`);
  }
  if (!url.pathname.endsWith('/v1/traces')) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  }
  return url.toString();
}

export async function initTelemetry(config: TelemetryInitConfig): Promise<TelemetryHandle> {
  if (typeof config.serviceName !== 'string' || config.serviceName === '') {
    throw new TelemetryConfigError('serviceName', 'is required');
  }
  const ratio = config.sampleRatio ?? DEFAULT_SAMPLE_RATIO;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new TelemetryConfigError('tracing.sample_ratio', `must be a number in 0..1, got ${String(ratio)}`);
  }
  const endpoint =
    config.tracingEndpoint === undefined || config.tracingEndpoint === ''
      ? undefined
      : tracesUrl(config.tracingEndpoint);

  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(contextManager)) {
    contextManager.disable();
    throw new TelemetryConfigError('init', 'telemetry is already initialised in this process');
  }
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  let provider: BasicTracerProvider | undefined;
  if (endpoint !== undefined) {
    const exporter = new OTLPTraceExporter({
      url: endpoint,
      ...(config.tracingHeaders ? { headers: { ...config.tracingHeaders } } : {}),
    });
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': config.serviceName,
        ...(config.serviceVersion ? { 'service.version': config.serviceVersion } : {}),
        ...(config.instanceId ? { 'service.instance.id': config.instanceId } : {}),
      }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    trace.setGlobalTracerProvider(provider);
  }

  let done: Promise<void> | undefined;
  return {
    exporting: provider !== undefined,
    endpoint,
    shutdown(): Promise<void> {
      done ??= (async () => {
        try {
          await provider?.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
        }
      })();
      return done;
    },
  };
}
