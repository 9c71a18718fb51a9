/**
 * Event batches: how sensors and audit ingest put events on the bus.
 *
 * Codecs (named by the Saker-Batch-Codec header; docs/bus.md has the format):
 * - `binary-v1` (batch-binary.ts): a string table and fixed records, read
 *   lazily through views; what EventBatcher sends by default.
 * - v1 `jsonl`: JSON lines, one event per line. The replay file format of
 *   @saker/events too, and encodeBatch's default.
 * - v2 `jsonl-shared`: JSON lines after a first line `{"shared":[...]}` that
 *   carries, once, every sub-object (proc, ancestors, user, group, container,
 *   k8s) two or more events of the batch carry; events refer to an entry by
 *   its index. Each entry is validated once per batch and decoded events
 *   share it, frozen. With bench:pipeline's ~900 B events, a batch of 512 is
 *   42 % smaller and decodes ~40 % faster than v1: JSON.parse is most of the
 *   decoding cost, so fewer bytes to parse is what pays.
 * In libs/bus/bench/codec.bench.ts a JSON array, JSON lines and a
 * length-prefixed framing land within ~25 % of each other; JSON lines won
 * because one bad event spoils only its own line: the decoder reports it and
 * keeps the rest.
 *
 * Batcher: adaptive (an event on an idle path goes out at once; under load
 * batches grow), size-bounded (events and bytes) and time-bounded (the
 * linger), with at most `maxInFlight` batches being sent. When all slots are
 * busy and the open batch is full, new events are dropped and counted: memory
 * stays bounded at (maxInFlight + 1) batches, whatever the sender's speed.
 */
import { Buffer } from 'node:buffer';
import {
  EventValidationError,
  SHARED_PARTS,
  type SakerEvent,
  type SharedChecks,
  type SharedPart,
  parseEvent,
} from '@saker/events';
import {
  BATCH_CODEC_BINARY,
  BinaryBatchWriter,
  decodeBinary,
  deepFreeze,
  encodeBinary,
  toPlainEvent,
} from './batch-binary.js';
import { InvalidBatchEventError, NoStreamError } from './errors.js';
import { HEADERS } from './subjects.js';
import type { Bus, BusHeaders } from './transport.js';

/** The codec name of v1 (JSON lines) in the Saker-Batch-Codec header; what EventBatcher sends. */
export const BATCH_CODEC = 'jsonl';

/** The codec name of v2 (JSON lines with a table of shared sub-objects, docs/bus.md). */
export const BATCH_CODEC_V2 = 'jsonl-shared';

/** Every codec decodeBatch reads (`binary-v1`: batch-binary.ts, what EventBatcher sends by default). */
export const BATCH_CODECS = [BATCH_CODEC, BATCH_CODEC_V2, BATCH_CODEC_BINARY] as const;
export type BatchCodec = (typeof BATCH_CODECS)[number];

/** An encoded batch, ready to publish. */
export interface EncodedBatch {
  readonly data: Uint8Array;
  readonly count: number;
  /** Its codec; absent means v1 (`jsonl`). */
  readonly codec?: BatchCodec;
}

export interface DecodedBatch {
  readonly events: SakerEvent[];
  /** Lines that were not valid events, with why. Blank lines are not counted. */
  readonly invalid: InvalidBatchEventError[];
}

export interface EncodeOptions {
  /** Default `jsonl` (v1), the codec `batchHeaders(count)` announces. */
  readonly codec?: BatchCodec;
}

/** Encodes events as one batch: JSON lines (v1) by default, v2 with shared sub-objects, or binary. */
export function encodeBatch(events: readonly SakerEvent[], options: EncodeOptions = {}): EncodedBatch {
  const codec = options.codec ?? BATCH_CODEC;
  if (codec === BATCH_CODEC_BINARY) return { data: encodeBinary(events), count: events.length, codec };
  const text =
    codec === BATCH_CODEC_V2 ? encodeShared(events) : events.map((e) => JSON.stringify(e)).join('\n');
  return { data: new TextEncoder().encode(text), count: events.length, codec };
}

/** The headers to publish a batch with. */
export function batchHeaders(count: number, codec: BatchCodec = BATCH_CODEC): BusHeaders {
  return { [HEADERS.batchCodec]: codec, [HEADERS.batchCount]: String(count) };
}

/**
 * A part whose JSON is this short stays inline: its index would save nothing
 * (an index has at most 4 digits in a batch of 512 events), so a v2 batch is
 * never longer than the same events in v1 plus its first line's 14 bytes.
 */
const MIN_SHARED_JSON = 9;

/**
 * v2 text: line 1 is `{"shared":[...]}`, the sub-objects (SHARED_PARTS) that
 * two or more events of the batch carry, each once (equal JSON, one entry);
 * then one event per line, in which such a part is the index of its entry
 * instead of the value. A part only one event carries stays inline: the
 * decoder then checks it with its event, and needs no table entry for it.
 */
function encodeShared(events: readonly SakerEvent[]): string {
  /** JSON of each part value seen (by identity: a sensor hands the same objects again); null: inline. */
  const jsonOf = new Map<unknown, string | null>();
  const uses = new Map<string, number>();
  for (const e of events) {
    if (e.source !== 'syscall') continue;
    for (const part of SHARED_PARTS) {
      const v: unknown = e[part];
      if (v === undefined || v === null || typeof v !== 'object') continue;
      let json = jsonOf.get(v);
      if (json === undefined) {
        const s = JSON.stringify(v);
        json = s.length < MIN_SHARED_JSON ? null : s;
        jsonOf.set(v, json);
      }
      if (json !== null) uses.set(json, (uses.get(json) ?? 0) + 1);
    }
  }
  const table: string[] = [];
  const index = new Map<string, number>();
  const lines: string[] = [];
  for (const e of events) {
    if (e.source !== 'syscall') {
      lines.push(JSON.stringify(e));
      continue;
    }
    const copy: Record<string, unknown> = { ...toPlainEvent(e) };
    for (const part of SHARED_PARTS) {
      const json = jsonOf.get(copy[part]);
      if (json === undefined || json === null || (uses.get(json) ?? 0) < 2) continue;
      let at = index.get(json);
      if (at === undefined) {
        at = table.length;
        table.push(json);
        index.set(json, at);
      }
      copy[part] = at;
    }
    lines.push(JSON.stringify(copy));
  }
  return `{"shared":[${table.join(',')}]}\n${lines.join('\n')}`;
}

/**
 * Decodes a batch, validating every event with parseEvent. Never throws: a line
 * that is not JSON or not an event goes to `invalid` and decoding goes on.
 * The Saker-Batch-Codec header picks the codec (v1 when there are no headers
 * or no codec header); a batch in an unknown codec is reported as one invalid
 * line.
 */
export function decodeBatch(data: Uint8Array, headers?: BusHeaders): DecodedBatch {
  const events: SakerEvent[] = [];
  const invalid: InvalidBatchEventError[] = [];
  const codec = headers?.[HEADERS.batchCodec];
  if (codec === BATCH_CODEC_BINARY) {
    decodeBinary(data, events, invalid);
    return { events, invalid };
  }
  if (codec === BATCH_CODEC_V2) {
    decodeShared(new TextDecoder().decode(data), events, invalid);
    return { events, invalid };
  }
  if (codec !== undefined && codec !== BATCH_CODEC) {
    invalid.push(new InvalidBatchEventError(1, '$', `unknown batch codec ${JSON.stringify(codec)}`));
    return { events, invalid };
  }
  decodeLines(new TextDecoder().decode(data), 1, undefined, undefined, events, invalid);
  return { events, invalid };
}

/** The shared table of a v2 batch, or why it could not be read. */
type Table = { readonly entries: readonly unknown[] } | { readonly error: string };

function decodeShared(text: string, events: SakerEvent[], invalid: InvalidBatchEventError[]): void {
  if (text.length === 0) return;
  let end = text.indexOf('\n');
  if (end === -1) end = text.length;
  const table = readTable(text.slice(0, end));
  let checks: SharedChecks | undefined;
  if ('entries' in table) {
    checks = {
      shared: new Set(table.entries),
      passed: {
        proc: new Set(),
        ancestors: new Set(),
        user: new Set(),
        group: new Set(),
        container: new Set(),
        k8s: new Set(),
      },
    };
  }
  decodeLines(text.slice(end + 1), 2, table, checks, events, invalid);
}

function readTable(line: string): Table {
  let head: unknown;
  try {
    head = JSON.parse(line);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof head !== 'object' || head === null || !Array.isArray((head as { shared?: unknown }).shared)) {
    return { error: 'expected {"shared":[...]}' };
  }
  const entries = (head as { shared: unknown[] }).shared;
  // Entries are shared between events: frozen, so nobody edits one event's part in all of them.
  for (const e of entries) deepFreeze(e);
  return { entries };
}

/** Puts each shared part's table entry in place of its index; the reason when an index is wrong. */
function resolveShared(value: unknown, table: Table): { path: string; reason: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<SharedPart, unknown>;
  if ((o as { source?: unknown }).source !== 'syscall') return undefined;
  for (const part of SHARED_PARTS) {
    const ref = o[part];
    if (typeof ref !== 'number') continue;
    if (!('entries' in table)) {
      return {
        path: `$.${part}`,
        reason: `refers to shared entry ${ref}, but line 1 is not a shared table: ${table.error}`,
      };
    }
    const entry = Number.isInteger(ref) && ref >= 0 ? table.entries[ref] : undefined;
    if (entry === undefined) {
      return {
        path: `$.${part}`,
        reason: `expected the index of a shared entry (0-${table.entries.length - 1}), got ${ref}`,
      };
    }
    o[part] = entry;
  }
  return undefined;
}

function decodeLines(
  text: string,
  firstLine: number,
  table: Table | undefined,
  checks: SharedChecks | undefined,
  events: SakerEvent[],
  invalid: InvalidBatchEventError[],
): void {
  let line = firstLine - 1;
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
    if (table !== undefined) {
      const wrong = resolveShared(value, table);
      if (wrong !== undefined) {
        const cause = new EventValidationError(wrong.path, wrong.reason);
        invalid.push(new InvalidBatchEventError(line, wrong.path, wrong.reason, { cause }));
        continue;
      }
    }
    try {
      events.push(parseEvent(value, checks));
    } catch (err) {
      if (err instanceof EventValidationError) {
        invalid.push(new InvalidBatchEventError(line, err.path, err.reason, { cause: err }));
      } else {
        invalid.push(new InvalidBatchEventError(line, '$', String(err), { cause: err }));
      }
    }
  }
}

export type BatchSender = (batch: EncodedBatch) => void | Promise<void>;

export interface BatcherOptions {
  /** Sends one batch. A rejection counts the batch's events as dropped. */
  send: BatchSender;
  /** The codec of the batches. Default `binary-v1` (docs/bus.md). */
  codec?: BatchCodec;
  /** Most events in one batch. Default 512. */
  maxEvents?: number;
  /** Most bytes in one batch (stay below the server's max_payload, 1 MiB by default). Default 512 KiB. */
  maxBytes?: number;
  /**
   * The linger under load: an event that comes while a batch is being sent
   * joins a batch that goes out when full, as soon as no send is under way
   * (see minGapMs), or this long after its first event at the latest.
   * Default 5 ms.
   */
  flushIntervalMs?: number;
  /**
   * The shortest time between two sends when nothing is being sent: an event
   * on an idle path goes out at once (with the events added in the same
   * tick), and one that comes sooner after the last send goes out once this
   * long has passed since it. It keeps a flow in batches even when sends
   * return at once (the memory bus). 0 to 'flushIntervalMs'; default 1 ms.
   */
  minGapMs?: number;
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

/** The batch being filled, in one codec. */
interface BatchWriter {
  readonly count: number;
  readonly byteLength: number;
  add(event: SakerEvent): void;
  /** Takes the last added event out again. */
  undo(): void;
  finish(): Uint8Array;
}

/** JSON lines (v1), or v2 (bounded by its v1 size, which v2 never exceeds by more than its first line). */
class JsonWriter implements BatchWriter {
  readonly #shared: boolean;
  readonly #lines: string[] = [];
  readonly #events: SakerEvent[] = [];
  readonly #sizes: number[] = [];
  #bytes = 0;
  constructor(shared: boolean) {
    this.#shared = shared;
    if (shared) this.#bytes = SHARED_HEAD_BYTES;
  }
  get count(): number {
    return this.#sizes.length;
  }
  get byteLength(): number {
    return this.#bytes;
  }
  add(event: SakerEvent): void {
    const line = JSON.stringify(event);
    const size = Buffer.byteLength(line, 'utf8') + 1;
    this.#sizes.push(size);
    this.#bytes += size;
    if (this.#shared) this.#events.push(event);
    else this.#lines.push(line);
  }
  undo(): void {
    const size = this.#sizes.pop();
    if (size === undefined) return;
    this.#bytes -= size;
    if (this.#shared) this.#events.pop();
    else this.#lines.pop();
  }
  finish(): Uint8Array {
    if (this.#shared) return encodeBatch(this.#events, { codec: BATCH_CODEC_V2 }).data;
    return new TextEncoder().encode(this.#lines.join('\n'));
  }
}

/** `{"shared":[]}` and its newline: what a v2 batch adds to its v1 size at most. */
const SHARED_HEAD_BYTES = 14;

function writerFor(codec: BatchCodec): BatchWriter {
  return codec === BATCH_CODEC_BINARY ? new BinaryBatchWriter() : new JsonWriter(codec === BATCH_CODEC_V2);
}

/**
 * Batches events for `send`, adaptively: an event that finds the path idle
 * (nothing being sent, and no batch sent for `minGapMs`) goes out at once,
 * with whatever was added in the same tick. Otherwise it joins the open
 * batch, which goes out when full (events or bytes), as soon as no send is
 * under way and `minGapMs` has passed since the last one, or the linger
 * (`flushIntervalMs`) after its first event at the latest, once a send slot
 * is free. So a lone event waits for nothing, a send's round trip is never
 * paid twice (what comes meanwhile goes out when it completes), and under
 * load batches grow to what the sends in flight collect: a consumer
 * downstream (the engine) pays its per-batch cost once per batch, not per
 * event, and at most one batch per `minGapMs` even when `send` returns at
 * once (the memory bus). Once a flow fills batches (the last one held an
 * eighth of maxEvents or more), the next one waits to be full or for the
 * linger, as before, until the linger passes with no send: under a heavy
 * flow a batch per linger, not one per round trip or minGapMs, each of
 * which costs the producer and the engine a turn. Dispose (or close()) to
 * flush and stop its timer.
 */
/** A batch of at least this share of maxEvents means a flow: the next batch lingers. */
const FLOW_SHARE = 1 / 8;

export class EventBatcher implements AsyncDisposable {
  readonly #send: BatchSender;
  readonly #codec: BatchCodec;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #flushIntervalMs: number;
  readonly #minGapMs: number;
  readonly #maxInFlight: number;
  readonly #onError: ((err: unknown, dropped: number) => void) | undefined;

  #open: BatchWriter;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When #timer fires (performance.now()). */
  #timerAt = 0;
  /** A send at the end of this tick is scheduled (the path was idle). */
  #soon = false;
  /** The linger ran out while every slot was busy: send as soon as one frees. */
  #due = false;
  /** When the last batch was handed to `send` (performance.now()). */
  #lastSend = Number.NEGATIVE_INFINITY;
  /**
   * The last batch held a flow's worth (FLOW_SHARE of maxEvents, or full by
   * bytes): the next one lingers instead of going out at once.
   */
  #lastFlow = false;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  #accepted = 0;
  #published = 0;
  #dropped = 0;
  #batches = 0;
  #failedBatches = 0;

  constructor(options: BatcherOptions) {
    this.#send = options.send;
    this.#codec = options.codec ?? BATCH_CODEC_BINARY;
    if (!(BATCH_CODECS as readonly string[]).includes(this.#codec))
      throw new RangeError(`batcher: codec must be one of ${BATCH_CODECS.join(', ')}, got ${this.#codec}`);
    this.#maxEvents = positive('maxEvents', options.maxEvents ?? 512);
    this.#maxBytes = positive('maxBytes', options.maxBytes ?? 512 * 1024);
    this.#flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? 5);
    const gap = options.minGapMs ?? Math.min(1, this.#flushIntervalMs);
    if (!(gap >= 0 && gap <= this.#flushIntervalMs))
      throw new RangeError(
        `batcher: minGapMs must be between 0 and flushIntervalMs (${this.#flushIntervalMs}), got ${gap}`,
      );
    this.#minGapMs = gap;
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight ?? 4);
    this.#onError = options.onError;
    this.#open = writerFor(this.#codec);
  }

  stats(): BatcherStats {
    return {
      accepted: this.#accepted,
      published: this.#published,
      dropped: this.#dropped,
      batches: this.#batches,
      failedBatches: this.#failedBatches,
      inFlight: this.#inFlight.size,
      buffered: this.#open.count,
    };
  }

  /** Adds an event; false when it was dropped (batcher full, event too big, or closed). */
  add(event: SakerEvent): boolean {
    if (this.#closed) {
      this.#dropped++;
      return false;
    }
    if (this.#open.count >= this.#maxEvents && !this.#trySend()) {
      this.#dropped++;
      return false;
    }
    this.#open.add(event);
    if (this.#open.byteLength > this.#maxBytes) {
      this.#open.undo();
      // Alone it does not fit; otherwise it opens the next batch, once this one is out.
      if (this.#open.count === 0 || !this.#trySend(true)) {
        this.#dropped++;
        return false;
      }
      this.#open.add(event);
      if (this.#open.byteLength > this.#maxBytes) {
        this.#open.undo();
        this.#dropped++;
        return false;
      }
    }
    this.#accepted++;
    if (this.#open.count >= this.#maxEvents) this.#trySend();
    else this.#schedule();
    return true;
  }

  /** Sends what is buffered (waiting for a free slot) and waits for every send in flight. */
  async flush(): Promise<void> {
    while (this.#open.count > 0) {
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

  /** The path is idle: send once the current tick has added what it has. */
  #sendSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    queueMicrotask(() => {
      this.#soon = false;
      if (this.#open.count > 0 && !this.#trySend()) this.#due = true;
    });
  }

  /**
   * When the open batch goes: nothing being sent, at the end of this tick
   * (or once minGapMs has passed since the last send); else when a send
   * completes, or the linger after its first event at the latest. After a
   * batch that held a flow's worth (#lastFlow) it goes when full or after
   * the linger, unless the linger has passed since that batch went.
   */
  #schedule(): void {
    const since = performance.now() - this.#lastSend;
    if (this.#inFlight.size > 0 || (this.#lastFlow && since < this.#flushIntervalMs)) {
      // The linger's timer, if armed, is this batch's (a send clears it), so it is never later.
      if (this.#timer === undefined && !this.#due) this.#arm(this.#flushIntervalMs);
      return;
    }
    if (since >= this.#minGapMs) this.#sendSoon();
    else this.#arm(this.#minGapMs - since);
  }

  /** Sends the open batch in `ms` (or sooner, when armed for sooner already). */
  #arm(ms: number): void {
    const at = performance.now() + ms;
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#trySend()) this.#due = true;
    }, ms);
  }

  /**
   * Sends the open batch when a slot is free; false when every slot is busy.
   * `byBytes`: it goes because the next event would pass maxBytes (it is full).
   */
  #trySend(byBytes = false): boolean {
    if (this.#open.count === 0) return true;
    if (this.#inFlight.size >= this.#maxInFlight) return false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = false;
    const count = this.#open.count;
    this.#lastSend = performance.now();
    this.#lastFlow = byBytes || count >= this.#maxEvents * FLOW_SHARE;
    const batch: EncodedBatch = { data: this.#open.finish(), count, codec: this.#codec };
    this.#open = writerFor(this.#codec);
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
      // A slot is free: send what collected meanwhile when the batch is full or its linger ran
      // out, or as soon as nothing is being sent (#schedule); else it keeps lingering.
      if (this.#open.count === 0) return;
      if (this.#open.count >= this.#maxEvents || this.#due) this.#trySend();
      else this.#schedule();
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
/**
 * Sends each batch into the stream that captures `subject` and waits for it
 * to be stored (SAKER_AUDIT for audit batches): a batch counts as published
 * only once stored. When no stream captures the subject, falls back to
 * busBatchSender's publish and flush.
 */
export function busDurableBatchSender(
  bus: Pick<Bus, 'publish' | 'flush' | 'publishDurable'>,
  subject: string,
): BatchSender {
  const core = busBatchSender(bus, subject);
  return async (batch) => {
    try {
      await bus.publishDurable(subject, batch.data, { headers: batchHeaders(batch.count, batch.codec) });
    } catch (err) {
      if (!(err instanceof NoStreamError)) throw err;
      await core(batch);
    }
  };
}

export function busBatchSender(bus: Pick<Bus, 'publish' | 'flush'>, subject: string): BatchSender {
  return async (batch) => {
    bus.publish(subject, batch.data, batchHeaders(batch.count, batch.codec));
    await bus.flush();
  };
}
