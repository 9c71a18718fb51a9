/**
 * The transport interface every Saker service talks to. Two implementations
 * keep the same semantics: NATS (src/nats, distributed shape) and in-memory
 * (src/memory, `saker run`). test/contract.ts is the executable definition of
 * those semantics; both implementations run it.
 */

/** Message headers: one value per name. Names are case-sensitive. */
export type BusHeaders = Readonly<Record<string, string>>;

/** A message received on a subscription or as a reply. */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Empty when the message had none. */
  readonly headers: BusHeaders;
  /** Where a reply goes, for requests; undefined otherwise. */
  readonly reply: string | undefined;
}

export interface SubscribeOptions {
  /** Join this queue group: each message goes to exactly one member of the group. */
  queue?: string;
}

/**
 * Messages for a subject or pattern, in order, as an async iterable. It ends
 * after unsubscribe(), drain() or the bus closing. Dispose to unsubscribe.
 */
export interface Subscription extends AsyncIterable<BusMessage>, AsyncDisposable {
  readonly subject: string;
  readonly queue: string | undefined;
  /** Stops at once: messages not yet read are discarded. */
  unsubscribe(): void;
  /** Stops taking new messages; the iterator still yields those already received, then ends. */
  drain(): Promise<void>;
  /** Resolves when the subscription has ended. */
  readonly closed: Promise<void>;
}

export interface RequestOptions {
  /** Fail with BusTimeoutError when no reply arrives in time. */
  timeoutMs: number;
  headers?: BusHeaders;
}

/** A reply: bytes, or bytes with headers. */
export type Reply = Uint8Array | { data: Uint8Array; headers?: BusHeaders };

/** Handles one request for `respond`. A throw becomes a RemoteHandlerError at the requester. */
export type RequestHandler = (request: BusMessage) => Reply | Promise<Reply>;

// --- KV ------------------------------------------------------------------

export type KvOperation = 'PUT' | 'DEL' | 'PURGE';

export interface KvEntry {
  readonly bucket: string;
  readonly key: string;
  /** Empty for DEL and PURGE. */
  readonly value: Uint8Array;
  /** Monotonic across the bucket (the stream sequence in NATS), not per key. */
  readonly revision: number;
  readonly operation: KvOperation;
  readonly created: Date;
}

/** An entry from a watch: `isUpdate` is false for the current values sent first. */
export interface KvWatchEntry extends KvEntry {
  readonly isUpdate: boolean;
}

export interface KvOptions {
  /** Values kept per key (NATS: 1..64). The in-memory store keeps only the latest. Default 1. */
  history?: number;
  /** Copies kept in a NATS cluster (3: R3), set when the bucket is made (an existing bucket keeps its own). Default: the bus's `kvReplicas`, else 1; the in-memory store ignores it. */
  replicas?: number;
}

export interface KvWatchOptions {
  /** A key or key pattern (`*`, `>`). Default `>`: every key. */
  key?: string;
}

/** Current values first (PUT only, by revision), then every change, including DEL and PURGE. */
export interface KvWatch extends AsyncIterable<KvWatchEntry>, AsyncDisposable {
  stop(): void;
}

export interface KvStore {
  readonly bucket: string;
  /** The latest value, or null when the key is absent, deleted or purged. */
  get(key: string): Promise<KvEntry | null>;
  /** Writes a value; resolves with its revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /** Writes only when the key is absent (or deleted); KvKeyExistsError otherwise. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes only when the key's latest revision is `expectedRevision`; KvRevisionMismatchError otherwise. */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number>;
  /** Marks the key deleted (a DEL entry). With `expectedRevision`, only when the key is at it. */
  delete(key: string, options?: { expectedRevision?: number }): Promise<void>;
  /** Deletes the key and its history (a PURGE entry). */
  purge(key: string): Promise<void>;
  /** Keys that hold a value, matching `filter` (default `>`), sorted. */
  keys(filter?: string): Promise<string[]>;
  /** Resolves once the watch is in place: no later change can be missed. */
  watch(options?: KvWatchOptions): Promise<KvWatch>;
}

// --- streams and durable consumers ---------------------------------------

export interface StreamOptions {
  /** Drop messages older than this. Default: keep. */
  maxAgeMs?: number;
  /** Keep at most this many messages (oldest dropped). Default: unlimited. */
  maxMessages?: number;
  /** Keep at most this many bytes (oldest dropped). Default: unlimited. */
  maxBytes?: number;
  /** Where NATS keeps the stream. Default 'file'. The in-memory bus ignores it. */
  storage?: 'file' | 'memory';
  /** Window for `msgId` de-duplication. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Copies kept in a NATS cluster (R3: three servers). Set when the stream is made. Default 1; the in-memory bus ignores it. */
  replicas?: number;
}

export interface StreamInfo {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly messages: number;
  readonly lastSequence: number;
  /** Bytes stored now. */
  readonly bytes: number;
  /** The stream's limits; null: unlimited. */
  readonly limits: {
    readonly maxBytes: number | null;
    readonly maxAgeMs: number | null;
    readonly maxMessages: number | null;
  };
}

export interface PublishDurableOptions {
  headers?: BusHeaders;
  /** De-duplication id: a second publish with the same id in the window is not stored again. */
  msgId?: string;
  /** How long to wait for the stream's acknowledgement. Default 5000 ms. */
  timeoutMs?: number;
}

/** One message of `publishDurableBatch`. */
export interface DurableMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: BusHeaders;
  /** De-duplication id, as PublishDurableOptions.msgId. */
  readonly msgId?: string;
}

export interface PublishAck {
  readonly stream: string;
  readonly sequence: number;
  /** True when `msgId` had been seen: nothing was stored. */
  readonly duplicate: boolean;
}

export interface ConsumerOptions {
  /** Redeliver a message not acked within this time. Default 30000 ms. */
  ackWaitMs?: number;
  /** Give up on a message after this many deliveries. Default unlimited (-1). */
  maxDeliver?: number;
  /** Deliver only messages on these subjects (pattern). Default: all of the stream. */
  filterSubject?: string;
  /** Where a new durable starts: every stored message, or only new ones. Default 'all'. */
  deliverPolicy?: 'all' | 'new';
  /** Most messages delivered and not yet acked at once. Default 1000. */
  maxAckPending?: number;
  /**
   * Messages the feed fetches ahead of its reader (NATS: the pull batch;
   * the in-memory bus ignores it). Their ack wait runs from when the server
   * sent them, so a slow reader wants few. Default 100.
   */
  prefetch?: number;
}

/** A message from a durable consumer. Settle it exactly once: ack, nak or term. */
export interface StreamMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: BusHeaders;
  /** The message's sequence in the stream. */
  readonly sequence: number;
  /** 1 on first delivery, then +1 per redelivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** Done: never delivered again to this consumer. */
  ack(): void;
  /** Not done: deliver again after `delayMs` (default at once). */
  nak(delayMs?: number): void;
  /** Still working on it: restart the ack-wait clock. */
  working(): void;
  /** Never deliver again, without processing. */
  term(): void;
}

export interface ConsumerState {
  readonly stream: string;
  readonly name: string;
  /** Stored messages not yet delivered. */
  readonly pending: number;
  /** Delivered and not yet acked. */
  readonly ackPending: number;
  /**
   * Deliveries made so far, redeliveries included (NATS: the consumer's
   * `delivered.consumer_seq`). With nothing pending or unacked, this equal to
   * the number of messages means none was ever delivered twice.
   */
  readonly delivered: number;
}

/**
 * A durable consumer's message feed. Its position lives in the server (or
 * broker): stop it and open it again by name to resume where it was; any
 * message delivered and not acked comes again after ack-wait.
 */
export interface DurableConsumer extends AsyncIterable<StreamMessage>, AsyncDisposable {
  readonly stream: string;
  readonly name: string;
  /** Stops this feed (the durable stays). */
  stop(): Promise<void>;
  state(): Promise<ConsumerState>;
  /** Removes the durable from the stream. */
  delete(): Promise<void>;
}

// --- the bus -------------------------------------------------------------

export interface Bus extends AsyncDisposable {
  /** Fire and forget on core subjects. Throws InvalidSubjectError or BusClosedError. */
  publish(subject: string, data: Uint8Array, headers?: BusHeaders): void;
  subscribe(subject: string, options?: SubscribeOptions): Subscription;
  /** One request, one reply. BusTimeoutError, NoRespondersError or RemoteHandlerError. */
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage>;
  /** Answers requests on `subject` with `handler` until the returned subscription ends. */
  respond(subject: string, handler: RequestHandler, options?: SubscribeOptions): Subscription;
  /** Resolves when the server has seen everything sent so far (subscriptions included). */
  flush(): Promise<void>;

  /** Opens the bucket, creating it when absent. */
  kv(bucket: string, options?: KvOptions): Promise<KvStore>;

  /** Creates the stream, or updates its subjects and limits when it exists. */
  stream(name: string, subjects: readonly string[], options?: StreamOptions): Promise<StreamInfo>;
  /** The stream's state and limits. StreamNotFoundError when it is absent. */
  streamInfo(name: string): Promise<StreamInfo>;
  /** Publishes into a stream and waits for it to be stored. NoStreamError when no stream captures it. */
  publishDurable(subject: string, data: Uint8Array, options?: PublishDurableOptions): Promise<PublishAck>;
  /**
   * Publishes several messages into streams at once and waits for each
   * acknowledgement, at most `timeoutMs` (default 5000) for the whole batch.
   * Never rejects: entry i is message i's ack, or the error publishDurable
   * would have thrown for it (NoStreamError, BusTimeoutError, ...). A batch
   * costs one timer, not one per message (docs/bus.md).
   */
  publishDurableBatch(
    messages: readonly DurableMessage[],
    options?: { timeoutMs?: number },
  ): Promise<(PublishAck | Error)[]>;
  /** Creates (or updates) the durable and starts its feed. StreamNotFoundError when the stream is absent. */
  consumer(stream: string, durableName: string, options?: ConsumerOptions): Promise<DurableConsumer>;

  /** Lets subscriptions and feeds finish what they hold, then closes. */
  drain(): Promise<void>;
  /** Closes at once. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the bus is closed, whoever closed it. */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
}
