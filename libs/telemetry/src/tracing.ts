/**
 * The tracing facade services code against. It uses `@opentelemetry/api`
 * only: without `initTelemetry` (from `@saker/telemetry/sdk`) every span is a
 * cheap no-op, so libraries and tests never need the SDK.
 */
import {
  type Attributes,
  type Context,
  type Span,
  SpanStatusCode,
  type Tracer,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';

export type { Attributes, Context, Span, Tracer };

/** A tracer named after the module or service that creates spans (e.g. `saker.engine`). */
export function getTracer(name: string, version?: string): Tracer {
  return trace.getTracer(name, version);
}

/**
 * Runs `fn` inside a new active span, recording a thrown error on the span;
 * the span ends when `fn` settles.
 */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  fn: (span: Span) => Promise<T> | T,
  attributes?: Attributes,
): Promise<T> {
  return tracer.startActiveSpan(name, attributes ? { attributes } : {}, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Writes the active trace context (W3C `traceparent`/`tracestate`) into a
 * header carrier, e.g. a NATS message's headers. No-op without the SDK.
 */
export function injectTraceContext(carrier: Record<string, string>, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier);
}

/** Reads a trace context from a header carrier; run work under it with `context.with`. */
export function extractTraceContext(
  carrier: Readonly<Record<string, string | undefined>>,
  ctx: Context = context.active(),
): Context {
  return propagation.extract(ctx, carrier);
}

/** Runs `fn` with `ctx` as the active context (for work started from an extracted context). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
