/**
 * Event batches: how sensors and audit ingest put events on the bus.
 *
 * Codec: JSON lines (one event per line, `\n` between lines, UTF-8). In
 * bench/codec.bench.ts (512 syscall events of ~500 B per batch) a JSON array,
 * JSON lines and a length-prefixed JSON framing land within ~25% of each other
 * (0.25-0.37 M events/s either way on the dev machine; the array is fastest to
 * encode). JSON lines won because one bad event spoils only its own line: the
 * decoder reports it and keeps the rest. Validation with parseEvent, not the
 * framing, dominates decoding (0.16 M events/s validated). It is also the
 * replay file format of @saker/events.
 *
 * Batcher: size-bounded (events and bytes) and time-bounded (flush interval),
 * with at most `maxInFlight` batches being sent. When all slots are busy and
 * the open batch is full, new events are dropped and counted: memory stays
 * bounded at (maxInFlight + 1) batches, whatever the sender's speed.
 */
import { Buffer } from 'node:buffer';
import { EventValidationError, type SakerEvent, parseEvent } from '@saker/events';
import { InvalidBatchEventError } from './errors.js';
import { HEADERS } from './subjects.js';
import type { Bus, BusHeaders } from './transport.js';

/** The codec name carried in the Saker-Batch-Codec header. */
export const BATCH_CODEC = 'jsonl';

/** An encoded batch, ready to publish. */
export interface EncodedBatch {
  readonly data: Uint8Array;
  readonly count: number;
}

export interface DecodedBatch {
  readonly events: SakerEvent[];
  /** Lines that were not valid events, with why. Blank lines are not counted. */
  readonly invalid: InvalidBatchEventError[];
}

/** Encodes events as one JSON-lines batch. */
export function encodeBatch(events: readonly SakerEvent[]): EncodedBatch {
  return {
    data: new TextEncoder().encode(events.map((e) => JSON.stringify(e)).join('\n')),
    count: events.length,
  };
}

/** The headers to publish a batch with. */
export function batchHeaders(count: number): BusHeaders {
  return { [HEADERS.batchCodec]: BATCH_CODEC, [HEADERS.batchCount]: String(count) };
}

/**
 * Decodes a batch, validating every event with parseEvent. Never throws: a line
 * that is not JSON or not an event goes to `invalid` and decoding goes on.
 * With `headers`, a batch in another codec is reported as one invalid line.
 */
export function decodeBatch(data: Uint8Array, headers?: BusHeaders): DecodedBatch {
  const events: SakerEvent[] = [];
  const invalid: InvalidBatchEventError[] = [];
  const codec = headers?.[HEADERS.batchCodec];
  if (codec !== undefined && codec !== BATCH_CODEC) {
    invalid.push(new InvalidBatchEventError(1, '$', `unknown batch codec ${JSON.stringify(codec)}`));
    return { events, invalid };
  }
  const text = new TextDecoder().decode(data);
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      invalid.push(
        new InvalidBatchEventError(line, '$', `not JSON: ${(err as Error).message}`, { cause: err }),
      );
      continue;
    }
    try {
      events.push(parseEvent(value));
    } catch (err) {
      if (err instanceof EventValidationError) {
        invalid.push(new InvalidBatchEventError(line, err.path, err.reason, { cause: err }));
      } else {
        invalid.push(new InvalidBatchEventError(line, '$', String(err), { cause: err }));
      }
    }
  }
  return { events, invalid };
}

export type BatchSender = (batch: EncodedBatch) => void | Promise<void>;

export interface BatcherOptions {
  /** Sends one batch. A rejection counts the batch's events as dropped. */
  send: BatchSender;
  /** Most events in one batch. Default 512. */
  maxEvents?: number;
  /** Most bytes in one batch (stay below the server's max_payload, 1 MiB by default). Default 512 KiB. */
  maxBytes?: number;
  /** Send a non-empty batch at the latest this long after its first event. Default 50 ms. */
  flushIntervalMs?: number;
  /** Most batches being sent at once; past that, events are dropped. Default 4. */
  maxInFlight?: number;
  /** Told about each failed send and how many events it lost. */
  onError?: (err: unknown, dropped: number) => void;
}

export interface BatcherStats {
  /** Events taken into a batch. */
  readonly accepted: number;
  /** Events in batches whose send succeeded. */
  readonly published: number;
  /** Events lost: refused (full, oversize, closed) or in a failed send. */
  readonly dropped: number;
  /** Batches sent successfully. */
  readonly batches: number;
  /** Batches whose send failed. */
  readonly failedBatches: number;
  readonly inFlight: number;
  readonly buffered: number;
}

/** Batches events for `send`. Dispose (or close()) to flush and stop its timer. */
export class EventBatcher implements AsyncDisposable {
  readonly #send: BatchSender;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #flushIntervalMs: number;
  readonly #maxInFlight: number;
  readonly #onError: ((err: unknown, dropped: number) => void) | undefined;

  #lines: string[] = [];
  #bytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The timer fired while every slot was busy: send as soon as one frees. */
  #due = false;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  #accepted = 0;
  #published = 0;
  #dropped = 0;
  #batches = 0;
  #failedBatches = 0;

  constructor(options: BatcherOptions) {
    this.#send = options.send;
    this.#maxEvents = positive('maxEvents', options.maxEvents ?? 512);
    this.#maxBytes = positive('maxBytes', options.maxBytes ?? 512 * 1024);
    this.#flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? 50);
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight ?? 4);
    this.#onError = options.onError;
  }

  stats(): BatcherStats {
    return {
      accepted: this.#accepted,
      published: this.#published,
      dropped: this.#dropped,
      batches: this.#batches,
      failedBatches: this.#failedBatches,
      inFlight: this.#inFlight.size,
      buffered: this.#lines.length,
    };
  }

  /** Adds an event; false when it was dropped (batcher full, event too big, or closed). */
  add(event: SakerEvent): boolean {
    if (this.#closed) {
      this.#dropped++;
      return false;
    }
    const line = JSON.stringify(event);
    const size = Buffer.byteLength(line, 'utf8') + 1;
    if (size > this.#maxBytes) {
      this.#dropped++;
      return false;
    }
    if (this.#lines.length >= this.#maxEvents || this.#bytes + size > this.#maxBytes) {
      if (!this.#trySend()) {
        this.#dropped++;
        return false;
      }
    }
    this.#lines.push(line);
    this.#bytes += size;
    this.#accepted++;
    if (this.#lines.length >= this.#maxEvents) this.#trySend();
    else if (this.#timer === undefined && !this.#due) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (!this.#trySend()) this.#due = true;
      }, this.#flushIntervalMs);
    }
    return true;
  }

  /** Sends what is buffered (waiting for a free slot) and waits for every send in flight. */
  async flush(): Promise<void> {
    while (this.#lines.length > 0) {
      if (this.#trySend()) break;
      await Promise.race(this.#inFlight);
    }
    await Promise.all(this.#inFlight);
  }

  /** Flushes, then refuses new events. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Sends the open batch when a slot is free; false when every slot is busy. */
  #trySend(): boolean {
    if (this.#lines.length === 0) return true;
    if (this.#inFlight.size >= this.#maxInFlight) return false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = false;
    const count = this.#lines.length;
    const batch: EncodedBatch = { data: new TextEncoder().encode(this.#lines.join('\n')), count };
    this.#lines = [];
    this.#bytes = 0;
    let sending: Promise<void>;
    try {
      sending = Promise.resolve(this.#send(batch));
    } catch (err) {
      sending = Promise.reject(err);
    }
    const tracked: Promise<void> = sending.then(
      () => {
        this.#published += count;
        this.#batches++;
      },
      (err: unknown) => {
        this.#dropped += count;
        this.#failedBatches++;
        this.#onError?.(err, count);
      },
    );
    const settled = tracked.finally(() => {
      this.#inFlight.delete(settled);
      // A slot is free: send the batch that filled up (or timed out) meanwhile.
      if (this.#lines.length >= this.#maxEvents || this.#due) this.#trySend();
      else if (this.#lines.length > 0 && this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          if (!this.#trySend()) this.#due = true;
        }, this.#flushIntervalMs);
      }
    });
    this.#inFlight.add(settled);
    return true;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`batcher: ${name} must be a positive number, got ${value}`);
  return value;
}

/**
 * A sender that publishes each batch on `subject` and then waits for the
 * server to have read it (flush): the wait is what makes maxInFlight a real
 * bound on what is queued in the client.
 */
export function busBatchSender(bus: Pick<Bus, 'publish' | 'flush'>, subject: string): BatchSender {
  return async (batch) => {
    bus.publish(subject, batch.data, batchHeaders(batch.count));
    await bus.flush();
  };
}
