import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  type Msg,
  type NatsConnection,
  type Subscription as NatsSub,
  connect,
} from '@nats-io/transport-node';
import {
  BusClosedError,
  BusConnectionError,
  BusError,
  type BusOperation,
  BusTransportError,
} from '../errors.js';
import { checkReply, serveRequests } from '../respond.js';
import { assertBucketName, assertPublishSubject, assertSubjectPattern } from '../subject-syntax.js';
import type {
  Bus,
  BusHeaders,
  BusMessage,
  ConsumerOptions,
  DurableConsumer,
  DurableMessage,
  KvOptions,
  KvStore,
  PublishAck,
  PublishDurableOptions,
  RequestHandler,
  RequestOptions,
  StreamInfo,
  StreamOptions,
  SubscribeOptions,
  Subscription,
} from '../transport.js';
import { toBusError, toPermissionError, translating } from './errors.js';

function toBusErrorAsync(err: Error): BusError {
  const translated = toBusError(err, { operation: 'publish' });
  return translated instanceof BusError
    ? translated
    : new BusTransportError('publish', undefined, { cause: err });
}
import { type StreamLimitsByName, withStreamLimits } from '../stream-limits.js';
import {
  type NatsAuthFiles,
  type NatsConnectSecurity,
  type NatsTlsFiles,
  natsConnectSecurity,
  redactNatsUrl,
} from './auth.js';
import { fromNatsHeaders, toNatsHeaders } from './headers.js';
import { NatsKvStore } from './kv.js';
import { StreamPublisher } from './publish-batch.js';
import {
  assertPrefetch,
  ensureConsumer,
  ensureStream,
  openFeed,
  publishDurable,
  streamInfo,
} from './stream.js';

export interface NatsBusOptions {
  /** One server URL or several (nats://host:port). */
  url: string | readonly string[];
  /** The connection's name, shown by the server's monitoring. */
  name?: string;
  /** Reconnect attempts after a lost connection; -1 forever. Default -1. */
  maxReconnectAttempts?: number;
  /** Give up on the first connect after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Let nats.js capture a stack trace for every request and JetStream publish,
   * in case it fails (its `noAsyncTraces: false`). Default false: that capture
   * cost ~6 % of an engine's CPU at 2,800 alerts/s, and bus errors name their
   * operation and subject anyway.
   */
  asyncTraces?: boolean;
  /** TLS towards the server (CA, client certificate and key files). Default: none, or what the URL scheme asks. */
  tls?: NatsTlsFiles | null;
  /** How to authenticate (creds file, nkey seed, user/password, token; all from files). Default: none. */
  auth?: NatsAuthFiles | null;
  /** Limits of Saker's streams, by stream name, for streams created without explicit limits (libs/bus/src/stream-limits.ts). */
  streamLimits?: StreamLimitsByName;
  /** Copies of each KV bucket made without its own `replicas` (saker.yaml `kv.replicas`). Default 1. */
  kvReplicas?: number;
  /**
   * Errors the server reports outside any call, such as a core publish it
   * refused (BusPermissionError): a fire-and-forget publish cannot throw it.
   */
  onAsyncError?: (err: BusError) => void;
  /** Prefix of reply subjects; a service's NATS user may read only its own (natsPermissions). Default `_INBOX`. */
  inboxPrefix?: string;
}

function toBusMessage(m: Msg): BusMessage {
  return {
    subject: m.subject,
    data: m.data,
    headers: fromNatsHeaders(m.headers),
    reply: m.reply === undefined || m.reply === '' ? undefined : m.reply,
  };
}

/** Connects to NATS. BusConnectionError when no server answers. */
export async function connectNats(options: NatsBusOptions): Promise<NatsBus> {
  const urls = typeof options.url === 'string' ? options.url.split(',') : [...options.url];
  let security: NatsConnectSecurity;
  try {
    security = natsConnectSecurity(urls, options.tls, options.auth);
  } catch (err) {
    const where = urls.map(redactNatsUrl).join(',');
    throw new BusConnectionError(where, err instanceof Error ? err.message : String(err), { cause: err });
  }
  const servers = security.servers;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      ...(security.authenticator === undefined ? {} : { authenticator: security.authenticator }),
      ...(security.tls === undefined ? {} : { tls: security.tls }),
      name: options.name,
      ...(options.inboxPrefix === undefined ? {} : { inboxPrefix: options.inboxPrefix }),
      maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
      timeout: options.connectTimeoutMs ?? 5_000,
      noAsyncTraces: options.asyncTraces !== true,
    });
  } catch (err) {
    throw new BusConnectionError(security.display, err instanceof Error ? err.message : String(err), {
      cause: err,
    });
  }
  const onAsyncError = options.onAsyncError;
  if (onAsyncError !== undefined) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type !== 'error') continue;
        const denied = toPermissionError(s.error, 'publish');
        onAsyncError(denied ?? toBusErrorAsync(s.error));
      }
    })();
  }
  return new NatsBus(nc, options.streamLimits, options.kvReplicas, options.inboxPrefix);
}

/** The Bus on a NATS connection: core for publish/subscribe/request, JetStream for streams and KV. */
export class NatsBus implements Bus {
  readonly nc: NatsConnection;
  readonly #js: JetStreamClient;
  #jsm: Promise<JetStreamManager> | undefined;
  #kvm: Kvm | undefined;
  readonly #feeds = new Set<DurableConsumer>();
  readonly closed: Promise<void>;
  readonly #streamLimits: StreamLimitsByName;
  readonly #kvReplicas: number;
  readonly #batches: StreamPublisher;

  constructor(
    nc: NatsConnection,
    streamLimits: StreamLimitsByName = {},
    kvReplicas = 1,
    inboxPrefix: string | undefined = undefined,
  ) {
    this.nc = nc;
    this.#batches = new StreamPublisher(nc, inboxPrefix);
    this.#streamLimits = streamLimits;
    this.#kvReplicas = kvReplicas;
    this.#js = jetstream(nc);
    this.closed = nc.closed().then(() => undefined);
  }

  get isClosed(): boolean {
    return this.nc.isClosed();
  }

  #assertOpen(operation: BusOperation): void {
    if (this.nc.isClosed() || this.nc.isDraining()) throw new BusClosedError(operation);
  }

  /** The JetStream manager, made on first use (it asks the server for account info). */
  jsm(): Promise<JetStreamManager> {
    this.#jsm ??= jetstreamManager(this.nc).catch((err: unknown) => {
      this.#jsm = undefined;
      throw err;
    });
    return this.#jsm;
  }

  publish(subject: string, data: Uint8Array, headers?: BusHeaders): void {
    this.#assertOpen('publish');
    assertPublishSubject('publish', subject);
    try {
      // nats.js keeps a reference until it writes the socket; the caller may reuse its buffer.
      this.nc.publish(subject, data.slice(), { headers: toNatsHeaders(headers) });
    } catch (err) {
      throw toBusError(err, { operation: 'publish', subject });
    }
  }

  subscribe(subject: string, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen('subscribe');
    assertSubjectPattern('subscribe', subject);
    let inner: NatsSub;
    try {
      inner = this.nc.subscribe(subject, options.queue === undefined ? {} : { queue: options.queue });
    } catch (err) {
      throw toBusError(err, { operation: 'subscribe', subject });
    }
    return new NatsSubscription(inner, subject, options.queue);
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage> {
    this.#assertOpen('request');
    assertPublishSubject('request', subject);
    const ctx = { operation: 'request', subject, timeoutMs: options.timeoutMs } as const;
    const reply = await translating(ctx, () =>
      this.nc.request(subject, data, { timeout: options.timeoutMs, headers: toNatsHeaders(options.headers) }),
    );
    return checkReply(subject, toBusMessage(reply));
  }

  respond(subject: string, handler: RequestHandler, options: SubscribeOptions = {}): Subscription {
    const sub = this.subscribe(subject, options);
    serveRequests((s, d, h) => this.publish(s, d, h), sub, handler);
    return sub;
  }

  flush(): Promise<void> {
    return translating({ operation: 'flush' }, () => this.nc.flush());
  }

  async kv(bucket: string, options: KvOptions = {}): Promise<KvStore> {
    this.#assertOpen('kv.open');
    assertBucketName(bucket);
    this.#kvm ??= new Kvm(this.#js);
    const kvm = this.#kvm;
    const kv = await translating({ operation: 'kv.open', bucket }, () =>
      kvm.create(bucket, { history: options.history ?? 1, replicas: options.replicas ?? this.#kvReplicas }),
    );
    return new NatsKvStore(bucket, kv);
  }

  async stream(name: string, subjects: readonly string[], options: StreamOptions = {}): Promise<StreamInfo> {
    this.#assertOpen('stream.ensure');
    const jsm = await translating({ operation: 'stream.ensure', stream: name }, () => this.jsm());
    return ensureStream(jsm, name, subjects, withStreamLimits(name, options, this.#streamLimits));
  }

  async streamInfo(name: string): Promise<StreamInfo> {
    this.#assertOpen('stream.info');
    const jsm = await translating({ operation: 'stream.info', stream: name }, () => this.jsm());
    return streamInfo(jsm, name);
  }

  publishDurable(
    subject: string,
    data: Uint8Array,
    options: PublishDurableOptions = {},
  ): Promise<PublishAck> {
    this.#assertOpen('stream.publish');
    assertPublishSubject('stream.publish', subject);
    return publishDurable(this.#js, subject, data, options, toNatsHeaders(options.headers));
  }

  publishDurableBatch(
    messages: readonly DurableMessage[],
    options: { timeoutMs?: number } = {},
  ): Promise<(PublishAck | Error)[]> {
    try {
      this.#assertOpen('stream.publish');
    } catch (err) {
      return Promise.resolve(messages.map(() => err as Error));
    }
    return this.#batches.publish(messages, options.timeoutMs);
  }

  async consumer(
    stream: string,
    durableName: string,
    options: ConsumerOptions = {},
  ): Promise<DurableConsumer> {
    this.#assertOpen('consumer.ensure');
    assertPrefetch(stream, durableName, options.prefetch);
    const jsm = await translating({ operation: 'consumer.ensure', stream }, () => this.jsm());
    await ensureConsumer(jsm, stream, durableName, options);
    const feed = await openFeed(
      this.#js,
      jsm,
      stream,
      durableName,
      () => this.#feeds.delete(feed),
      options.prefetch,
    );
    this.#feeds.add(feed);
    return feed;
  }

  async drain(): Promise<void> {
    if (this.nc.isClosed() || this.nc.isDraining()) return this.closed;
    await Promise.all([...this.#feeds].map((f) => f.stop()));
    await translating({ operation: 'drain' }, () => this.nc.drain());
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await Promise.all([...this.#feeds].map((f) => f.stop().catch(() => undefined)));
    await translating({ operation: 'close' }, () => this.nc.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class NatsSubscription implements Subscription {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly #inner: NatsSub;
  readonly closed: Promise<void>;

  constructor(inner: NatsSub, subject: string, queue: string | undefined) {
    this.#inner = inner;
    this.subject = subject;
    this.queue = queue;
    this.closed = inner.closed.then(() => undefined);
  }

  unsubscribe(): void {
    if (!this.#inner.isClosed()) this.#inner.unsubscribe();
  }

  async drain(): Promise<void> {
    if (this.#inner.isClosed() || this.#inner.isDraining()) return;
    await translating({ operation: 'drain', subject: this.subject }, () => this.#inner.drain());
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BusMessage> {
    try {
      for await (const m of this.#inner) yield toBusMessage(m);
    } finally {
      this.unsubscribe();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.unsubscribe();
    return Promise.resolve();
  }
}
