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
  /** A span follows its remote parent's decision (default); false: every span is sampled by the ratio. */
  readonly parentBased?: boolean;
}

export interface TelemetryHandle {
  /** True when spans are exported. */
  readonly exporting: boolean;
  /** The normalized traces URL, or undefined without an exporter. */
  readonly endpoint: string | undefined;
  /** Flushes pending spans and uninstalls the SDK; safe to call twice. */
  shutdown(): Promise<void>;
}

const DEFAULT_SAMPLE_RATIO = 0.1;

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
      sampler:
        config.parentBased === false
          ? new TraceIdRatioBasedSampler(ratio)
          : new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
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

/** `telemetry.tracing` of saker.yaml; null: not set there (the OTEL_* variable or the default decides). */
export interface TracingFileSettings {
  /** `otlp` or `none`; null: otlp when an endpoint is set. */
  readonly exporter: 'otlp' | 'none' | null;
  /** OTLP/HTTP collector URL (`http://otel:4318`); null: OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string | null;
  /** Probability a root span is sampled; null: OTEL_TRACES_SAMPLER, else 0.1. */
  readonly sampleRatio: number | null;
  /** `service.name`; null: OTEL_SERVICE_NAME, else the service's own (`saker-engine`, …). */
  readonly serviceName: string | null;
  /** Headers sent to the collector (e.g. authorization). */
  readonly headers: Readonly<Record<string, string>>;
}

type Env = Readonly<Record<string, string | undefined>>;

function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value,key=value`, values URL-encoded. */
function parseOtelHeaders(name: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0)
      throw new TelemetryConfigError(
        name,
        `expected key=value pairs separated by commas, got ${JSON.stringify(part.trim())}`,
      );
    try {
      out[decodeURIComponent(part.slice(0, at).trim())] = decodeURIComponent(part.slice(at + 1).trim());
    } catch (cause) {
      throw new TelemetryConfigError(name, `bad percent-encoding in ${JSON.stringify(part.trim())}`, {
        cause,
      });
    }
  }
  return out;
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * The SDK settings of one process: saker.yaml's `telemetry.tracing` where a
 * key is set, else the standard OTEL_* variables (OTEL_SDK_DISABLED,
 * OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT,
 * OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL,
 * OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER[_ARG]), else the defaults (no
 * export; parent-based, ratio 0.1). A bad value fails, naming the variable.
 */
export function tracingInitConfig(
  defaultServiceName: string,
  file: TracingFileSettings | null,
  env: Env = process.env,
): TelemetryInitConfig {
  const serviceName = file?.serviceName ?? envValue(env, 'OTEL_SERVICE_NAME') ?? defaultServiceName;
  const disabled = envValue(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const exporterEnv = envValue(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase();
  if (exporterEnv !== undefined && exporterEnv !== 'otlp' && exporterEnv !== 'none') {
    throw new TelemetryConfigError(
      'OTEL_TRACES_EXPORTER',
      `Saker exports otlp or none, got ${JSON.stringify(exporterEnv)}`,
    );
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const p = envValue(env, name);
    // The exporter speaks OTLP/HTTP with JSON bodies; a collector's OTLP/HTTP receiver takes either encoding.
    if (p !== undefined && p !== 'http/json' && p !== 'http/protobuf') {
      throw new TelemetryConfigError(
        name,
        `Saker exports over OTLP/HTTP (http/json), got ${JSON.stringify(p)}`,
      );
    }
  }
  const tracesEndpoint = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const endpoint =
    file?.endpoint ?? tracesEndpoint ?? (baseEndpoint === undefined ? undefined : tracesUrl(baseEndpoint));
  const exporter = file?.exporter ?? exporterEnv ?? (endpoint === undefined ? 'none' : 'otlp');
  if (exporter === 'otlp' && endpoint === undefined) {
    throw new TelemetryConfigError(
      file?.exporter === 'otlp' ? 'telemetry.tracing.exporter' : 'OTEL_TRACES_EXPORTER',
      'otlp needs an endpoint: telemetry.tracing.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT',
    );
  }
  const headerVar =
    envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') === undefined
      ? 'OTEL_EXPORTER_OTLP_HEADERS'
      : 'OTEL_EXPORTER_OTLP_TRACES_HEADERS';
  const headerText = envValue(env, headerVar);
  const headers = {
    ...(headerText === undefined ? {} : parseOtelHeaders(headerVar, headerText)),
    ...file?.headers,
  };

  let sampleRatio = file?.sampleRatio ?? undefined;
  let parentBased = true;
  const sampler = envValue(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  if (sampler !== undefined) {
    if (!(SAMPLERS as readonly string[]).includes(sampler)) {
      throw new TelemetryConfigError(
        'OTEL_TRACES_SAMPLER',
        `expected one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(sampler)}`,
      );
    }
    parentBased = sampler.startsWith('parentbased_');
    if (sampleRatio === undefined) {
      if (sampler.endsWith('always_on')) sampleRatio = 1;
      else if (sampler.endsWith('always_off')) sampleRatio = 0;
      else {
        const arg = envValue(env, 'OTEL_TRACES_SAMPLER_ARG');
        const n = arg === undefined ? 1 : Number(arg);
        if (!(n >= 0 && n <= 1)) {
          throw new TelemetryConfigError(
            'OTEL_TRACES_SAMPLER_ARG',
            `expected a number in 0..1, got ${JSON.stringify(arg)}`,
          );
        }
        sampleRatio = n;
      }
    }
  }
  return {
    serviceName,
    ...(disabled || exporter === 'none' || endpoint === undefined ? {} : { tracingEndpoint: endpoint }),
    ...(Object.keys(headers).length === 0 ? {} : { tracingHeaders: headers }),
    ...(sampleRatio === undefined ? {} : { sampleRatio }),
    parentBased,
  };
}

/** initTelemetry with tracingInitConfig's settings: what a service's main calls once. */
export function startTracing(
  defaultServiceName: string,
  file: TracingFileSettings | null = null,
  env: Env = process.env,
): Promise<TelemetryHandle> {
  return initTelemetry(tracingInitConfig(defaultServiceName, file, env));
}
