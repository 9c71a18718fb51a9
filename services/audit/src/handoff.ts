/**
 * Hands k8s_audit events to the bus, and says when they are safe. The
 * webhook answers 200, and the file source moves its checkpoint, only after
 * `send` resolves:
 *
 * - `durable`: every chunk goes into the SAKER_AUDIT stream with
 *   publishDurable and is acknowledged by JetStream. A JetStream publish is
 *   also an ordinary message on the subject, so the engines' core
 *   subscriptions receive it as before.
 * - `publish`: a core publish followed by a flush (the server has it). This
 *   is the in-memory bus of `saker run`, where the publish is the hand-off.
 */
import { createHash } from 'node:crypto';
import { type Bus, STREAMS, SUBJECTS, batchHeaders } from '@saker/bus';
import { ROOT_CONTEXT, SpanKind, endSpan, getTracer, startSpan, traceHeaders } from '@saker/telemetry';
import { AuditHandoffError } from './errors.js';

/** A proxy: it uses the provider the process's main installs (a no-op without one). */
const tracer = getTracer('saker.audit');

/** The stream that keeps audit event batches. */
export const AUDIT_STREAM = STREAMS.audit;

export type HandoffMode = 'durable' | 'publish';

export interface HandoffOptions {
  readonly mode: HandoffMode;
  /** Largest bus message; events are packed into chunks no larger (NATS max_payload is 1 MiB). */
  readonly maxMessageBytes: number;
  /** How long to wait for each JetStream ack. */
  readonly ackTimeoutMs: number;
}

/** One event that cannot travel on the bus at all (larger than a message). */
export interface OversizedEvent {
  readonly index: number;
  readonly bytes: number;
}

export interface HandoffResult {
  readonly published: number;
  readonly messages: number;
  /** Events left out because one alone exceeds maxMessageBytes. */
  readonly oversized: OversizedEvent[];
}

/** Packs encoded event lines (see encode.ts) into `jsonl` batches of at most `max` bytes. */
export function packChunks(
  lines: readonly string[],
  max: number,
): { chunks: { data: Buffer; count: number }[]; oversized: OversizedEvent[] } {
  const chunks: { data: Buffer; count: number }[] = [];
  const oversized: OversizedEvent[] = [];
  let parts: string[] = [];
  let size = 0;
  const close = (): void => {
    if (parts.length === 0) return;
    chunks.push({ data: Buffer.from(parts.join('\n'), 'utf8'), count: parts.length });
    parts = [];
    size = 0;
  };
  lines.forEach((line, index) => {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes > max) {
      oversized.push({ index, bytes });
      return;
    }
    // +1: the newline before it.
    if (parts.length > 0 && size + 1 + bytes > max) close();
    size += (parts.length > 0 ? 1 : 0) + bytes;
    parts.push(line);
  });
  close();
  return { chunks, oversized };
}

/** Sends events to SUBJECTS.k8sAuditEvents and resolves once the bus has them. */
export class AuditHandoff {
  readonly #bus: Bus;
  readonly #options: HandoffOptions;

  constructor(bus: Bus, options: HandoffOptions) {
    this.#bus = bus;
    this.#options = options;
  }

  get maxMessageBytes(): number {
    return this.#options.maxMessageBytes;
  }

  get mode(): HandoffMode {
    return this.#options.mode;
  }

  /** Declares SAKER_AUDIT (durable mode). Limits: see docs/audit.md. */
  async prepare(stream: { maxAgeMs: number; maxBytes: number } | undefined): Promise<void> {
    if (this.#options.mode !== 'durable' || stream === undefined) return;
    await this.#bus.stream(AUDIT_STREAM.name, AUDIT_STREAM.subjects, {
      maxAgeMs: stream.maxAgeMs,
      maxBytes: stream.maxBytes,
    });
  }

  /** Sends encoded event lines (encodeAuditLine). Throws AuditHandoffError when any chunk is not confirmed. */
  async send(lines: readonly string[]): Promise<HandoffResult> {
    const subject = SUBJECTS.k8sAuditEvents;
    const { chunks, oversized } = packChunks(lines, this.#options.maxMessageBytes);
    if (chunks.length === 0) return { published: 0, messages: 0, oversized };
    // A trace starts here, one span per hand-off; the engines continue it from the headers.
    const { span, context } = startSpan(tracer, 'audit.handoff', ROOT_CONTEXT, {
      kind: SpanKind.PRODUCER,
      attributes: { 'messaging.destination.name': subject, 'saker.batch.messages': chunks.length },
    });
    const headersOf = (count: number) => traceHeaders(context, batchHeaders(count));
    try {
      if (this.#options.mode === 'durable') {
        await Promise.all(
          chunks.map((c) =>
            this.#bus.publishDurable(subject, c.data, {
              headers: headersOf(c.count),
              // Same events, same id: a batch the API server sends again after a
              // 503 whose publish did land is not stored twice (2-minute window).
              msgId: createHash('sha256').update(c.data).digest('base64url'),
              timeoutMs: this.#options.ackTimeoutMs,
            }),
          ),
        );
      } else {
        for (const c of chunks) this.#bus.publish(subject, c.data, headersOf(c.count));
        await this.#bus.flush();
      }
      span.end();
    } catch (err) {
      endSpan(span, err);
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new AuditHandoffError(subject, `events not handed to the bus: ${why}`, { cause: err });
    }
    return {
      published: chunks.reduce((n, c) => n + c.count, 0),
      messages: chunks.length,
      oversized,
    };
  }
}
