/** Streams and durable pull consumers on JetStream. */
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  StorageType,
  type StreamUpdateConfig,
} from '@nats-io/jetstream';
import { type MsgHdrs, nanos } from '@nats-io/transport-node';
import { assertJsName, assertSubjectPattern } from '../subject-syntax.js';
import type {
  ConsumerOptions,
  ConsumerState,
  DurableConsumer,
  PublishAck,
  PublishDurableOptions,
  StreamInfo,
  StreamMessage,
  StreamOptions,
} from '../transport.js';
import { apiCode, toBusError, translating } from './errors.js';
import { fromNatsHeaders } from './headers.js';

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

function streamLimits(subjects: readonly string[], options: StreamOptions): Partial<StreamUpdateConfig> {
  const config: Partial<StreamUpdateConfig> = {
    subjects: [...subjects],
    max_msgs: options.maxMessages ?? -1,
    max_bytes: options.maxBytes ?? -1,
    max_age: options.maxAgeMs === undefined ? 0 : nanos(options.maxAgeMs),
  };
  if (options.duplicateWindowMs !== undefined) config.duplicate_window = nanos(options.duplicateWindowMs);
  return config;
}

export async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subjects: readonly string[],
  options: StreamOptions,
): Promise<StreamInfo> {
  assertJsName('stream.ensure', 'stream', name);
  for (const s of subjects) assertSubjectPattern('stream.ensure', s);
  const wanted = streamLimits(subjects, options);
  const ctx = { operation: 'stream.ensure', stream: name } as const;
  const info = await translating(ctx, async () => {
    try {
      const existing = await jsm.streams.info(name);
      // Storage cannot change on a live stream: only subjects and limits are updated.
      return await jsm.streams.update(name, { ...existing.config, ...wanted });
    } catch (err) {
      if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
      const storage = options.storage === 'memory' ? StorageType.Memory : StorageType.File;
      return jsm.streams.add({ ...wanted, name, storage });
    }
  });
  return {
    name: info.config.name,
    subjects: info.config.subjects ?? [],
    messages: info.state.messages,
    lastSequence: info.state.last_seq,
  };
}

export async function publishDurable(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  options: PublishDurableOptions,
  headers: MsgHdrs | undefined,
): Promise<PublishAck> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const ack = await translating({ operation: 'stream.publish', subject, timeoutMs }, () =>
    js.publish(subject, data, {
      headers,
      timeout: timeoutMs,
      ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
    }),
  );
  return { stream: ack.stream, sequence: ack.seq, duplicate: ack.duplicate };
}

interface ResolvedConsumerOptions {
  ackWaitMs: number;
  maxDeliver: number;
  filterSubject: string | undefined;
  deliverPolicy: 'all' | 'new';
  maxAckPending: number;
}

function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  return {
    ackWaitMs: options.ackWaitMs ?? 30_000,
    maxDeliver: options.maxDeliver ?? -1,
    filterSubject: options.filterSubject,
    deliverPolicy: options.deliverPolicy ?? 'all',
    maxAckPending: options.maxAckPending ?? 1000,
  };
}

/** Creates the durable, or updates the fields that may change on a live one. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  options: ConsumerOptions,
): Promise<ConsumerInfo> {
  assertJsName('consumer.ensure', 'stream', stream);
  assertJsName('consumer.ensure', 'consumer', durable);
  if (options.filterSubject !== undefined) assertSubjectPattern('consumer.ensure', options.filterSubject);
  const o = resolveConsumerOptions(options);
  const ctx = { operation: 'consumer.ensure', stream, consumer: durable } as const;
  return translating(ctx, async () => {
    let existing: ConsumerInfo | undefined;
    try {
      existing = await jsm.consumers.info(stream, durable);
    } catch (err) {
      if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
    }
    if (existing === undefined) {
      const config: Partial<ConsumerConfig> = {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(o.ackWaitMs),
        max_deliver: o.maxDeliver,
        max_ack_pending: o.maxAckPending,
        deliver_policy: o.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      };
      if (o.filterSubject !== undefined) config.filter_subject = o.filterSubject;
      return jsm.consumers.add(stream, config);
    }
    const c = existing.config;
    if (
      c.ack_wait === nanos(o.ackWaitMs) &&
      c.max_deliver === o.maxDeliver &&
      c.max_ack_pending === o.maxAckPending &&
      (c.filter_subject ?? undefined) === o.filterSubject
    ) {
      return existing;
    }
    return jsm.consumers.update(stream, durable, {
      ack_wait: nanos(o.ackWaitMs),
      max_deliver: o.maxDeliver,
      max_ack_pending: o.maxAckPending,
      ...(o.filterSubject === undefined ? {} : { filter_subject: o.filterSubject }),
    });
  });
}

function toStreamMessage(m: JsMsg): StreamMessage {
  const deliveryCount = m.info.deliveryCount;
  return {
    subject: m.subject,
    data: m.data,
    headers: fromNatsHeaders(m.headers),
    sequence: m.seq,
    deliveryCount,
    redelivered: deliveryCount > 1,
    ack: () => m.ack(),
    nak: (delayMs?: number) => m.nak(delayMs !== undefined && delayMs > 0 ? delayMs : undefined),
    working: () => m.working(),
    term: () => m.term(),
  };
}

/** Throws RangeError unless `prefetch` is absent or an integer >= 1. */
export function assertPrefetch(stream: string, durable: string, prefetch: number | undefined): void {
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 1)) {
    throw new RangeError(`consumer ${stream}/${durable}: prefetch must be an integer >= 1, got ${prefetch}`);
  }
}

/** Starts a pull feed on an existing durable, `prefetch` messages ahead of its reader (default 100). */
export async function openFeed(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  onEnd: () => void,
  prefetch?: number,
): Promise<DurableConsumer> {
  const ctx = { operation: 'consumer.consume', stream, consumer: durable } as const;
  assertPrefetch(stream, durable, prefetch);
  const consumer = await translating(ctx, () => js.consumers.get(stream, durable));
  const messages = await translating(ctx, () =>
    consumer.consume(prefetch === undefined ? undefined : { max_messages: prefetch }),
  );
  return new NatsFeed(jsm, stream, durable, messages, onEnd);
}

class NatsFeed implements DurableConsumer {
  readonly stream: string;
  readonly name: string;
  readonly #jsm: JetStreamManager;
  readonly #messages: ConsumerMessages;
  readonly #onEnd: () => void;
  #stopping: Promise<void> | undefined;

  constructor(
    jsm: JetStreamManager,
    stream: string,
    name: string,
    messages: ConsumerMessages,
    onEnd: () => void,
  ) {
    this.#jsm = jsm;
    this.stream = stream;
    this.name = name;
    this.#messages = messages;
    this.#onEnd = onEnd;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#onEnd();
      try {
        // stop(), not close(): close() resolves only once a reader has drained the
        // iterator, and a feed is often stopped with nobody reading it.
        this.#messages.stop();
      } catch (err) {
        throw toBusError(err, { operation: 'consumer.consume', stream: this.stream, consumer: this.name });
      }
    })();
    return this.#stopping;
  }

  async state(): Promise<ConsumerState> {
    const info = await translating(
      { operation: 'consumer.info', stream: this.stream, consumer: this.name },
      () => this.#jsm.consumers.info(this.stream, this.name),
    );
    return {
      stream: this.stream,
      name: this.name,
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
      delivered: info.delivered.consumer_seq,
    };
  }

  async delete(): Promise<void> {
    await this.stop().catch(() => undefined);
    await translating({ operation: 'consumer.delete', stream: this.stream, consumer: this.name }, () =>
      this.#jsm.consumers.delete(this.stream, this.name),
    );
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamMessage> {
    try {
      for await (const m of this.#messages) yield toStreamMessage(m);
    } finally {
      void this.stop().catch(() => undefined);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop().catch(() => undefined);
  }
}
