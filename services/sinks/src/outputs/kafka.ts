import { type Schema, boolean, caseless, checked, field, map, string } from '@saker/config';
/**
 * Kafka, through kafkajs: one record per alert on `topic`, its value the
 * alert's JSON line (Falco's payload, as falcosidekick produces it), no key
 * and no headers, the partition chosen by falcosidekick's `balancer`
 * (kafka-balancer.ts).
 *
 * - Delivered means the broker acknowledged the produce with the configured
 *   `requiredAcks` (default `all`: every in-sync replica has it). With
 *   `none` Kafka sends no answer, so delivered only means written to the
 *   socket.
 * - The producer connects at the first delivery; a broker that cannot be
 *   reached is a retryable failure, so the framework's backoff (not
 *   kafkajs's) paces retries. kafkajs retries a request once, briefly, to
 *   ride out a leader change.
 * - Outcomes: errors that concern the alert itself (MESSAGE_TOO_LARGE,
 *   RECORD_LIST_TOO_LARGE, INVALID_RECORD) are permanent; every other failure (network,
 *   unknown topic, leader election, authentication, a timeout) is retryable:
 *   an operator can fix a topic, an ACL or a password before the alert's
 *   maximum age.
 * - The batching hook sends a batch in one `send` (one request per broker);
 *   all or nothing, so a batch that failed on one partition after another
 *   stored its share is sent again whole (at-least-once duplicates).
 */
import type { FalcoAlert } from '@saker/rules';
import { CompressionTypes, Kafka, type Message, type Producer, type SASLOptions, logLevel } from 'kafkajs';
import { type AlertFormat, alertLine } from '../alert.js';
import { SinksOptionsError, permanent, retryable } from '../errors.js';
import { ifSet, sidekickOutput } from '../sidekick/descriptor.js';
import { readPem } from './http-client.js';
import { KAFKA_BALANCERS, type KafkaBalancer, kafkaPartitioner } from './kafka-balancer.js';
import type { Delivery, Output } from './output.js';

type KafkaCompression = 'none' | 'gzip';
type KafkaRequiredAcks = 'none' | 'one' | 'all';
type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

interface KafkaTlsOptions {
  /** PEM of the CA(s) to trust instead of the system's. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Skip certificate checks. Default false. */
  readonly insecure?: boolean;
  /** Client certificate and key (PEM), for mutual TLS. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface KafkaOutputOptions {
  /** Default `kafka`. */
  readonly name?: string;
  readonly format: AlertFormat;
  /** Bootstrap brokers, `host[:port]` (port 9092 when left out). */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** The client id sent with every request. Default `saker-sinks`. */
  readonly clientId?: string;
  /** Default `round_robin`. */
  readonly balancer?: KafkaBalancer;
  /** Default `none`. */
  readonly compression?: KafkaCompression;
  /** Default `all`. */
  readonly requiredAcks?: KafkaRequiredAcks;
  /** Let the broker create a missing topic (Metadata's allow_auto_topic_creation). Default false. */
  readonly topicCreation?: boolean;
  /** TLS to the brokers: true (system CAs) or options. Default off. */
  readonly tls?: boolean | KafkaTlsOptions;
  readonly sasl?: {
    readonly mechanism: KafkaSaslMechanism;
    readonly username: string;
    readonly password: string;
  } | null;
  /** Per request (and the broker's produce timeout). Default 10 s. */
  readonly timeoutMs?: number;
  /** Per connection attempt. Default 3 s, as falcosidekick's dialer. */
  readonly connectTimeoutMs?: number;
  /** Drives the `_random` balancers. */
  readonly random?: () => number;
}

const ACKS: Readonly<Record<KafkaRequiredAcks, number>> = { none: 0, one: 1, all: -1 };
const COMPRESSION: Readonly<Record<KafkaCompression, CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
};
/** Broker errors about the records themselves: sending them again cannot succeed. */
const PERMANENT_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/** `host[:port]`, `[v6]:port`; a bad entry names `option`. */
function kafkaBroker(option: string, text: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:\s/]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[3] === undefined ? 9092 : Number(m[3]);
  if (!m || port < 1 || port > 65535) {
    throw new SinksOptionsError(option, `expected host[:port], got ${JSON.stringify(text)}`);
  }
  return m[1] === undefined ? `${m[2]}:${port}` : `[${m[1]}]:${port}`;
}

interface ErrorFacts {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

/** The kafkajs error and its causes (a retrier wraps the last failure), outermost first. */
function errorChain(err: unknown): ErrorFacts[] {
  const chain: ErrorFacts[] = [];
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && chain.length < 8) {
    const facts = e as ErrorFacts;
    chain.push(facts);
    e = facts.cause;
  }
  return chain;
}

export class KafkaOutput implements Output {
  readonly name: string;
  readonly #format: AlertFormat;
  readonly #topic: string;
  readonly #acks: number;
  readonly #compression: CompressionTypes;
  readonly #timeoutMs: number;
  readonly #producer: Producer;
  readonly #where: string;
  #connected: Promise<void> | undefined;

  constructor(o: KafkaOutputOptions) {
    this.name = o.name ?? 'kafka';
    const path = `outputs.${this.name}`;
    if (o.brokers.length === 0)
      throw new SinksOptionsError(`${path}.brokers`, 'at least one broker is required');
    const brokers = o.brokers.map((b, i) => kafkaBroker(`${path}.brokers[${i}]`, b));
    checkTopic(`${path}.topic`, o.topic);
    const balancer = o.balancer ?? 'round_robin';
    if (!KAFKA_BALANCERS.includes(balancer)) {
      throw new SinksOptionsError(
        `${path}.balancer`,
        `expected one of ${KAFKA_BALANCERS.join(', ')}, got ${String(balancer)}`,
      );
    }
    const acks = ACKS[o.requiredAcks ?? 'all'];
    if (acks === undefined) {
      throw new SinksOptionsError(
        `${path}.requiredAcks`,
        `expected none, one or all, got ${String(o.requiredAcks)}`,
      );
    }
    const compression = COMPRESSION[o.compression ?? 'none'];
    if (compression === undefined) {
      throw new SinksOptionsError(
        `${path}.compression`,
        `expected none or gzip (snappy, lz4 and zstd need codecs Saker does not ship), got ${String(o.compression)}`,
      );
    }
    this.#format = o.format;
    this.#topic = o.topic;
    this.#acks = acks;
    this.#compression = compression;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#where = `${brokers.join(',')} topic ${o.topic}`;
    const tls = o.tls === true ? {} : o.tls || undefined;
    const kafka = new Kafka({
      clientId: o.clientId || 'saker-sinks',
      brokers,
      ...(tls === undefined
        ? {}
        : {
            ssl: {
              rejectUnauthorized: !(tls.insecure ?? false),
              minVersion: 'TLSv1.2' as const,
              ...(tls.ca === undefined ? {} : { ca: Array.isArray(tls.ca) ? [...tls.ca] : [tls.ca] }),
              ...(tls.cert === undefined ? {} : { cert: tls.cert }),
              ...(tls.key === undefined ? {} : { key: tls.key }),
            },
          }),
      ...(o.sasl ? { sasl: saslOptions(path, o.sasl) } : {}),
      connectionTimeout: o.connectTimeoutMs ?? 3000,
      requestTimeout: this.#timeoutMs,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.NOTHING,
    });
    this.#producer = kafka.producer({
      createPartitioner: kafkaPartitioner(balancer, o.random),
      allowAutoTopicCreation: o.topicCreation ?? false,
      idempotent: false,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  #connect(): Promise<void> {
    if (this.#connected === undefined) {
      const connecting = this.#producer.connect();
      this.#connected = connecting;
      connecting.catch(() => {
        if (this.#connected === connecting) this.#connected = undefined;
      });
    }
    return this.#connected;
  }

  async #send(messages: Message[]): Promise<void> {
    try {
      await this.#connect();
      await this.#producer.send({
        topic: this.#topic,
        messages,
        acks: this.#acks,
        timeout: this.#timeoutMs,
        compression: this.#compression,
      });
    } catch (err) {
      throw this.#classify(err);
    }
  }

  #classify(err: unknown): Error {
    const chain = errorChain(err);
    const type = chain.map((e) => e.type).find((t): t is string => typeof t === 'string');
    const innermost = chain[chain.length - 1];
    const detail = typeof innermost?.message === 'string' ? innermost.message : String(err);
    const message = `produce to ${this.#where} failed: ${type === undefined ? '' : `${type}: `}${detail}`;
    return type !== undefined && PERMANENT_TYPES.has(type)
      ? permanent(this.name, message, err)
      : retryable(this.name, message, err);
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    return this.#send([{ key: null, value: alertLine(alert, raw, this.#format) }]);
  }

  deliverBatch(items: readonly Delivery[]): Promise<void> {
    return this.#send(items.map((d) => ({ key: null, value: alertLine(d.alert, d.raw, this.#format) })));
  }

  async close(): Promise<void> {
    const connected = this.#connected;
    this.#connected = undefined;
    if (connected !== undefined) await this.#producer.disconnect().catch(() => undefined);
  }
}

function saslOptions(
  path: string,
  s: { readonly mechanism: KafkaSaslMechanism; readonly username: string; readonly password: string },
): SASLOptions {
  // Empty credentials would only show up as authentication failures, retried
  // until every alert dead-letters: refuse them at start, naming the key.
  if (s.username === '') throw new SinksOptionsError(`${path}.sasl.username`, 'must not be empty with SASL');
  if (s.password === '') throw new SinksOptionsError(`${path}.sasl.password`, 'must not be empty with SASL');
  switch (s.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: s.username, password: s.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: s.username, password: s.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: s.username, password: s.password };
    default:
      throw new SinksOptionsError(
        `${path}.sasl.mechanism`,
        `expected plain, scram-sha-256 or scram-sha-512, got ${String(s.mechanism)}`,
      );
  }
}

function checkTopic(option: string, topic: string): void {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    throw new SinksOptionsError(option, `expected 1 to 249 of [A-Za-z0-9._-], got ${JSON.stringify(topic)}`);
  }
}

/** `kafka.hostport`: comma-separated `host[:port]` bootstrap brokers. */
function kafkaHostPorts(): Schema<string> {
  return checked(string(), (value) => {
    for (const part of value.split(',')) {
      if (value !== '' && !/^(?:\[[0-9A-Fa-f:.]+\]|[^:[\]\s,/]+)(?::\d{1,5})?$/.test(part.trim())) {
        throw new SinksOptionsError(
          'hostport',
          `expected host[:port] separated by commas, got ${JSON.stringify(part.trim())}`,
        );
      }
    }
  });
}

/** falcosidekick's codecs: Saker ships gzip only. */
const kafkaCompression = map(
  checked(string(), (value) => {
    const v = value.toUpperCase();
    if (v === '' || v === 'NONE' || v === 'GZIP') return;
    throw new SinksOptionsError(
      'compression',
      ['SNAPPY', 'LZ4', 'ZSTD'].includes(v)
        ? `${v} is not supported (no codec shipped): use GZIP or NONE`
        : `expected one of NONE, GZIP, got ${JSON.stringify(value)}`,
    );
  }),
  (value) => (value.toUpperCase() === 'GZIP' ? ('GZIP' as const) : ('NONE' as const)),
);

const KAFKA_SASL: Readonly<Record<'PLAIN' | 'SCRAM_SHA256' | 'SCRAM_SHA512', KafkaSaslMechanism>> = {
  PLAIN: 'plain',
  SCRAM_SHA256: 'scram-sha-256',
  SCRAM_SHA512: 'scram-sha-512',
};

/** `sinks.sidekick.kafka`: falcosidekick's keys (docs/config.md says which ones Saker maps); on when `hostport` is set. */
export const kafkaSidekick = sidekickOutput({
  name: 'kafka',
  concurrency: 1,
  fields: {
    hostport: field(kafkaHostPorts(), ''),
    topic: field(
      checked(string(), (t) => (t === '' ? undefined : checkTopic('topic', t))),
      '',
    ),
    topiccreation: field(boolean(), false),
    sasl: field(caseless(['', 'PLAIN', 'SCRAM_SHA256', 'SCRAM_SHA512'] as const, ''), ''),
    tls: field(boolean(), false),
    checkcert: field(boolean(), true),
    mutualtls: field(boolean(), false),
    username: field(string(), ''),
    password: field(string(), ''),
    async: field(boolean(), false),
    requiredacks: field(caseless(['NONE', 'ONE', 'ALL'] as const, 'ALL'), 'ALL'),
    compression: field(kafkaCompression, 'NONE'),
    balancer: field(
      caseless(
        ['round_robin', 'least_bytes', 'crc32', 'crc32_random', 'murmur2', 'murmur2_random'] as const,
        'round_robin',
      ),
      'round_robin',
    ),
    clientid: field(string(), ''),
  },
  on: 'hostport',
  create: (k, ctx) => {
    if (k.topic === '') {
      throw new SinksOptionsError(
        'sinks.sidekick.kafka.topic',
        'required when sinks.sidekick.kafka.hostport is set',
      );
    }
    if (k.mutualtls && !k.tls) {
      throw new SinksOptionsError('sinks.sidekick.kafka.mutualtls', 'needs sinks.sidekick.kafka.tls: true');
    }
    const sasl =
      k.sasl === '' ? null : { mechanism: KAFKA_SASL[k.sasl], username: k.username, password: k.password };
    // Named by their keys here; the constructor would name its own options.
    if (sasl !== null) saslOptions('sinks.sidekick.kafka', sasl);
    const t = ctx.tls('kafka', k);
    const cas = [
      ...(k.tls ? [ctx.readCa('kafka')] : []),
      ...(t.mutualTls?.caCertFile === undefined
        ? []
        : [readPem('sinks.sidekick.mutualtlsclient.cacertfile', t.mutualTls.caCertFile)]),
    ].filter((c) => c !== undefined);
    const client =
      t.mutualTls === null || t.mutualTls === undefined
        ? {}
        : {
            cert: readPem('sinks.sidekick.mutualtlsclient.certfile', t.mutualTls.clientCertFile),
            key: readPem('sinks.sidekick.mutualtlsclient.keyfile', t.mutualTls.clientKeyFile),
          };
    return new KafkaOutput({
      format: ctx.format,
      brokers: k.hostport
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== ''),
      topic: k.topic,
      ...ifSet('clientId', k.clientid),
      balancer: k.balancer,
      compression: k.compression === 'GZIP' ? 'gzip' : 'none',
      requiredAcks: k.requiredacks === 'NONE' ? 'none' : k.requiredacks === 'ONE' ? 'one' : 'all',
      topicCreation: k.topiccreation,
      tls: k.tls ? { insecure: !k.checkcert, ...(cas.length === 0 ? {} : { ca: cas }), ...client } : false,
      sasl,
    });
  },
});
