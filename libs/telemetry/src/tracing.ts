/**
 * The tracing facade services code against. It uses `@opentelemetry/api`
 * only: without `initTelemetry` (from `@saker/telemetry/sdk`) every span is a
 * cheap no-op, so libraries and tests never need the SDK.
 */
import {
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  ROOT_CONTEXT as apiRootContext,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';

export type { Attributes, Context, Span, Tracer };
export { SpanKind };

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
function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * The pipeline's spans are started with an explicit parent instead of the
 * active context: the hot paths (a batch, a delivery) then pay no
 * AsyncLocalStorage switch, and a span costs one no-op object when tracing is
 * off or the trace is not sampled.
 */
export interface StartedSpan {
  readonly span: Span;
  /** `parent` with `span` in it: the parent of the next step's spans and what headers carry. */
  readonly context: Context;
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Other traces this span continues (e.g. the alerts of one batched delivery). */
  readonly links?: readonly Context[];
}

/** The context with no span: the parent of a trace's first span. */
export const ROOT_CONTEXT: Context = apiRootContext;

/** Starts a span under `parent` without making it active. End it with endSpan. */
export function startSpan(tracer: Tracer, name: string, parent: Context, o: SpanOptions = {}): StartedSpan {
  const links = o.links?.flatMap((c) => {
    const sc = trace.getSpanContext(c);
    return sc === undefined ? [] : [{ context: sc }];
  });
  const span = tracer.startSpan(
    name,
    {
      ...(o.kind === undefined ? {} : { kind: o.kind }),
      ...(o.attributes === undefined ? {} : { attributes: o.attributes }),
      ...(links === undefined || links.length === 0 ? {} : { links }),
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a span, recording `err` (when given) as its error. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

/**
 * `base` plus the W3C trace context of `ctx` (`traceparent`, `tracestate`), as
 * message headers; `base` itself when there is nothing to carry (no SDK, or
 * no span in `ctx`).
 */
export function traceHeaders(
  ctx: Context,
  base: Readonly<Record<string, string>> = {},
): Readonly<Record<string, string>> {
  if (trace.getSpanContext(ctx) === undefined) return base;
  const carrier: Record<string, string> = { ...base };
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context a message's headers carry, from the root: the parent of the receiver's span. */
export function contextFromHeaders(headers: Readonly<Record<string, string | undefined>>): Context {
  if (headers.traceparent === undefined) return apiRootContext;
  return propagation.extract(apiRootContext, headers);
}
