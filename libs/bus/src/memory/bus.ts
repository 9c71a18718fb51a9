import {
  BusClosedError,
  type BusOperation,
  BusTimeoutError,
  NoRespondersError,
  NoStreamError,
  StreamNotFoundError,
} from '../errors.js';
import { checkReply, serveRequests } from '../respond.js';
import { type StreamLimitsByName, withStreamLimits } from '../stream-limits.js';
import { assertBucketName, assertPublishSubject, assertSubjectPattern } from '../subject-syntax.js';
import type {
  Bus,
  BusHeaders,
  BusMessage,
  ConsumerOptions,
  ConsumerState,
  DurableConsumer,
  DurableMessage,
  KvOptions,
  KvStore,
  KvWatch,
  PublishAck,
  PublishDurableOptions,
  RequestHandler,
  RequestOptions,
  StreamInfo,
  StreamMessage,
  StreamOptions,
  SubscribeOptions,
  Subscription,
} from '../transport.js';
import { type BrokerMessage, type BrokerSubscriber, MemoryBroker } from './broker.js';
import { MemoryKvStore } from './kv.js';
import { AsyncQueue } from './queue.js';
import { MSG_ID_HEADER, type MemoryConsumer } from './stream.js';

const NO_HEADERS: BusHeaders = Object.freeze({});

export interface MemoryBusOptions {
  /** The broker to join; a bus made without one owns a private broker and closes it on close(). */
  broker?: MemoryBroker;
  /** Limits of Saker's streams, by name, for streams made without explicit limits. */
  streamLimits?: StreamLimitsByName;
}

/** A client of a MemoryBroker, with the semantics of the NATS transport. */
export class MemoryBus implements Bus {
  readonly broker: MemoryBroker;
  readonly #ownsBroker: boolean;
  readonly #subs = new Set<MemorySubscription>();
  readonly #feeds = new Set<MemoryFeed>();
  readonly #watches = new Set<KvWatch>();
  readonly #requests = new Set<(err: Error) => void>();
  #closed = false;
  #resolveClosed: () => void = () => undefined;
  readonly closed: Promise<void>;
  readonly #streamLimits: StreamLimitsByName;

  constructor(options: MemoryBusOptions = {}) {
    this.#streamLimits = options.streamLimits ?? {};
    this.#ownsBroker = options.broker === undefined;
    this.broker = options.broker ?? new MemoryBroker();
    this.closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #assertOpen = (operation: BusOperation): void => {
    if (this.#closed || this.broker.isClosed) throw new BusClosedError(operation);
  };

  publish(subject: string, data: Uint8Array, headers?: BusHeaders): void {
    this.#assertOpen('publish');
    assertPublishSubject('publish', subject);
    this.broker.publish(toBrokerMessage(subject, data, headers, undefined));
  }

  subscribe(subject: string, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen('subscribe');
    assertSubjectPattern('subscribe', subject);
    const sub = new MemorySubscription(this.broker, subject, options.queue, () => this.#subs.delete(sub));
    this.#subs.add(sub);
    return sub;
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage> {
    this.#assertOpen('request');
    assertPublishSubject('request', subject);
    const inbox = `_INBOX.${crypto.randomUUID().replaceAll('-', '')}`;
    const sub = this.subscribe(inbox);
    let onClose: ((err: Error) => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reached = this.broker.publish(toBrokerMessage(subject, data, options.headers, inbox));
      if (reached === 0) throw new NoRespondersError(subject);
      const reply = await new Promise<BusMessage>((resolve, reject) => {
        onClose = reject;
        this.#requests.add(reject);
        timer = setTimeout(
          () => reject(new BusTimeoutError('request', subject, options.timeoutMs)),
          options.timeoutMs,
        );
        sub[Symbol.asyncIterator]()
          .next()
          .then((r) => (r.done ? reject(new BusClosedError('request')) : resolve(r.value)), reject);
      });
      return checkReply(subject, reply);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (onClose !== undefined) this.#requests.delete(onClose);
      sub.unsubscribe();
    }
  }

  respond(subject: string, handler: RequestHandler, options: SubscribeOptions = {}): Subscription {
    const sub = this.subscribe(subject, options);
    serveRequests((s, d, h) => this.publish(s, d, h), sub, handler);
    return sub;
  }

  async flush(): Promise<void> {
    this.#assertOpen('flush');
  }

  async kv(bucket: string, options: KvOptions = {}): Promise<KvStore> {
    this.#assertOpen('kv.open');
    assertBucketName(bucket);
    return new MemoryKvStore(this.broker.bucket(bucket, options), this.#assertOpen, this.#watches);
  }

  async stream(name: string, subjects: readonly string[], options: StreamOptions = {}): Promise<StreamInfo> {
    this.#assertOpen('stream.ensure');
    return this.broker
      .ensureStream(name, subjects, withStreamLimits(name, options, this.#streamLimits))
      .info();
  }

  async streamInfo(name: string): Promise<StreamInfo> {
    this.#assertOpen('stream.info');
    const s = this.broker.getStream(name);
    if (s === undefined) throw new StreamNotFoundError('stream.info', name);
    return s.info();
  }

  async publishDurable(
    subject: string,
    data: Uint8Array,
    options: PublishDurableOptions = {},
  ): Promise<PublishAck> {
    this.#assertOpen('stream.publish');
    assertPublishSubject('stream.publish', subject);
    const stream = this.broker.streamFor(subject);
    if (stream === undefined) throw new NoStreamError(subject);
    const headers =
      options.msgId === undefined ? options.headers : { ...options.headers, [MSG_ID_HEADER]: options.msgId };
    const message = toBrokerMessage(subject, data, headers, undefined);
    // Capture first so the ack carries the sequence; then core subscribers see it, as on NATS.
    const ack = stream.append(message);
    if (!ack.duplicate) this.broker.publishCoreOnly(message);
    return ack;
  }

  publishDurableBatch(
    messages: readonly DurableMessage[],
    options: { timeoutMs?: number } = {},
  ): Promise<(PublishAck | Error)[]> {
    return Promise.all(
      messages.map((m) =>
        this.publishDurable(m.subject, m.data, {
          ...(m.headers === undefined ? {} : { headers: m.headers }),
          ...(m.msgId === undefined ? {} : { msgId: m.msgId }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        }).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
      ),
    );
  }

  async consumer(
    stream: string,
    durableName: string,
    options: ConsumerOptions = {},
  ): Promise<DurableConsumer> {
    this.#assertOpen('consumer.ensure');
    const s = this.broker.getStream(stream);
    if (s === undefined) throw new StreamNotFoundError('consumer.ensure', stream);
    const state = s.consumer(durableName, options);
    const feed = new MemoryFeed(state, () => this.#feeds.delete(feed));
    this.#feeds.add(feed);
    state.attach(feed);
    return feed;
  }

  async drain(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subs].map((s) => s.drain()));
    for (const f of this.#feeds) f.end(false);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#subs) s.unsubscribe();
    for (const f of this.#feeds) f.end(true);
    for (const w of this.#watches) w.stop();
    for (const reject of this.#requests) reject(new BusClosedError('request'));
    if (this.#ownsBroker) this.broker.close();
    this.#resolveClosed();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function toBrokerMessage(
  subject: string,
  data: Uint8Array,
  headers: BusHeaders | undefined,
  reply: string | undefined,
): BrokerMessage {
  // The broker keeps its own copy: the publisher may reuse its buffer, as it may with a socket.
  return {
    subject,
    data: data.slice(),
    headers: headers === undefined ? NO_HEADERS : Object.freeze({ ...headers }),
    reply,
  };
}

class MemorySubscription implements Subscription, BrokerSubscriber {
  readonly subject: string;
  readonly pattern: string;
  readonly queue: string | undefined;
  readonly #broker: MemoryBroker;
  readonly #messages: AsyncQueue<BusMessage>;
  readonly #onEnd: () => void;
  readonly closed: Promise<void>;

  constructor(broker: MemoryBroker, subject: string, queue: string | undefined, onEnd: () => void) {
    this.subject = subject;
    this.pattern = subject;
    this.queue = queue;
    this.#broker = broker;
    this.#onEnd = onEnd;
    this.#messages = new AsyncQueue<BusMessage>(broker.subscriptionCapacity, () => this.#remove());
    this.closed = this.#messages.finished;
    broker.addSubscriber(this);
  }

  deliver(message: BrokerMessage): boolean {
    return this.#messages.push(message);
  }

  #remove(): void {
    this.#broker.removeSubscriber(this);
    this.#onEnd();
  }

  unsubscribe(): void {
    this.#remove();
    this.#messages.abort();
  }

  async drain(): Promise<void> {
    this.#remove();
    this.#messages.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<BusMessage> {
    return this.#messages[Symbol.asyncIterator]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.unsubscribe();
    return Promise.resolve();
  }
}

class MemoryFeed implements DurableConsumer {
  readonly stream: string;
  readonly name: string;
  readonly #state: MemoryConsumer;
  readonly #messages: AsyncQueue<StreamMessage>;
  readonly #onEnd: () => void;

  constructor(state: MemoryConsumer, onEnd: () => void) {
    this.stream = state.stream.name;
    this.name = state.name;
    this.#state = state;
    this.#onEnd = onEnd;
    this.#messages = new AsyncQueue<StreamMessage>(Number.POSITIVE_INFINITY, () => this.end(true));
  }

  push(message: StreamMessage): boolean {
    return this.#messages.push(message);
  }

  /** Detaches from the durable; `discard` drops what was delivered and not read (it stays pending). */
  end(discard: boolean): void {
    this.#state.detach(this);
    this.#onEnd();
    if (discard) this.#messages.abort();
    else this.#messages.end();
  }

  async stop(): Promise<void> {
    this.end(true);
  }

  async state(): Promise<ConsumerState> {
    return this.#state.state();
  }

  async delete(): Promise<void> {
    this.end(true);
    this.#state.stream.deleteConsumer(this.name);
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamMessage> {
    return this.#messages[Symbol.asyncIterator]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
