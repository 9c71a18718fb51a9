/**
 * A one-node Kafka broker for tests, speaking the real wire protocol over
 * TCP (or TLS) on loopback: Kafka cannot run on this machine, so this
 * stands in for it and checks what the client sends.
 *
 * Implemented (non-flexible versions only, advertised in ApiVersions so a
 * client negotiates exactly these):
 * - ApiVersions v0–v2;
 * - Metadata v4 (topics, allow_auto_topic_creation);
 * - Produce v3, records in RecordBatch v2: the batch CRC-32C is verified,
 *   gzip batches are inflated, every record (key, value, headers,
 *   timestamp) is decoded and stored per topic/partition with its offset;
 *   `acks = 0` gets no answer, as Kafka does;
 * - SaslHandshake v1 and SaslAuthenticate v0–v1 for PLAIN; with SASL on,
 *   any other request before authentication closes the connection.
 *
 * Test controls: `failProduce(code, times)` answers Produce with an error
 * code (nothing stored), `down()` closes the listener and every connection,
 * `up()` listens again on the same port. Requests it cannot decode close the
 * connection and are kept in `protocolErrors`, so a test can assert none.
 */
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { type TLSSocket, createServer as createTlsServer } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { WireReader, WireWriter, crc32c } from './kafka-wire.js';

const API = {
  Produce: 0,
  Metadata: 3,
  SaslHandshake: 17,
  ApiVersions: 18,
  SaslAuthenticate: 36,
} as const;

/** Kafka error codes the broker answers with. */
export const KAFKA_ERRORS = {
  NONE: 0,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  INVALID_REQUIRED_ACKS: 21,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  SASL_AUTHENTICATION_FAILED: 58,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
} as const;

const SUPPORTED: readonly [number, number, number][] = [
  [API.Produce, 3, 3],
  [API.Metadata, 4, 4],
  [API.SaslHandshake, 1, 1],
  [API.ApiVersions, 0, 2],
  [API.SaslAuthenticate, 0, 1],
];

interface KafkaRecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

/** One stored record. */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly KafkaRecordHeader[];
  readonly timestamp: bigint;
  /** The batch's compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  readonly compression: number;
}

export interface MockKafkaBrokerOptions {
  /** Topics that exist from the start: name → partition count. */
  readonly topics?: Readonly<Record<string, number>>;
  /** Partitions of a topic created by a Metadata request that allows it. Default 1. */
  readonly autoCreatePartitions?: number;
  /** Require SASL PLAIN with these credentials. */
  readonly sasl?: { readonly username: string; readonly password: string };
  /** Serve TLS with this key and certificate (PEM); with `clientCa`, require a client certificate it signed. */
  readonly tls?: {
    readonly key: Buffer | string;
    readonly cert: Buffer | string;
    readonly clientCa?: Buffer | string;
  };
  readonly nodeId?: number;
}

interface Conn {
  readonly socket: Socket;
  buffer: Buffer;
  authenticated: boolean;
  mechanism: string | null;
}

export class MockKafkaBroker implements AsyncDisposable {
  readonly host = '127.0.0.1';
  #port = 0;
  readonly #o: MockKafkaBrokerOptions;
  readonly #partitions = new Map<string, number>();
  readonly #logs = new Map<string, KafkaRecord[]>();
  readonly #conns = new Set<Conn>();
  #server: Server | undefined;
  #failures: { code: number; left: number } | null = null;
  /** Requests received, by API key. */
  readonly requests = new Map<number, number>();
  /** The `acks` of every Produce request. */
  readonly acks: number[] = [];
  /** Client ids seen in request headers. */
  readonly clientIds = new Set<string>();
  /** Produce requests answered with an injected error. */
  failedProduces = 0;
  /** Requests the broker could not decode or did not expect (should stay empty). */
  readonly protocolErrors: string[] = [];
  /** Metadata requests' allow_auto_topic_creation values. */
  readonly autoCreateRequests: boolean[] = [];
  /** The `records` bytes of the last partition appended to, as received. */
  lastRecords: Buffer | null = null;

  private constructor(o: MockKafkaBrokerOptions) {
    this.#o = o;
    for (const [t, n] of Object.entries(o.topics ?? {})) this.#partitions.set(t, n);
  }

  static async start(o: MockKafkaBrokerOptions = {}): Promise<MockKafkaBroker> {
    const b = new MockKafkaBroker(o);
    await b.up();
    return b;
  }

  get port(): number {
    return this.#port;
  }

  /** `host:port`, as a bootstrap address. */
  get address(): string {
    return `${this.host}:${this.#port}`;
  }

  /** Stored records, in offset order per partition; all partitions of `topic` when `partition` is omitted. */
  records(topic: string, partition?: number): KafkaRecord[] {
    const out: KafkaRecord[] = [];
    const n = this.#partitions.get(topic) ?? 0;
    for (let p = 0; p < n; p++) {
      if (partition === undefined || partition === p) out.push(...(this.#logs.get(`${topic}/${p}`) ?? []));
    }
    return out;
  }

  /** The values of `records(topic)`, as UTF-8 text. */
  values(topic: string): string[] {
    return this.records(topic).map((r) => r.value?.toString('utf8') ?? '');
  }

  topics(): string[] {
    return [...this.#partitions.keys()];
  }

  /** Answers the next `times` Produce requests with `code` for every partition (nothing stored). */
  failProduce(code: number, times = Number.POSITIVE_INFINITY): void {
    this.#failures = { code, left: times };
  }

  clearFailures(): void {
    this.#failures = null;
  }

  /** Listens (again, on the same port after `down`). */
  async up(): Promise<void> {
    if (this.#server) return;
    const onSocket = (socket: Socket): void => this.#accept(socket);
    const t = this.#o.tls;
    const server = t
      ? createTlsServer(
          {
            key: t.key,
            cert: t.cert,
            ...(t.clientCa === undefined
              ? {}
              : { ca: t.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          (s: TLSSocket) => onSocket(s),
        )
      : createServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops every connection, as a broker that died. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const c of this.#conns) c.socket.destroy();
    this.#conns.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async close(): Promise<void> {
    await this.down();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(socket: Socket): void {
    const conn: Conn = { socket, buffer: Buffer.alloc(0), authenticated: !this.#o.sasl, mechanism: null };
    this.#conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
      this.#drain(conn);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.#conns.delete(conn));
  }

  #drain(conn: Conn): void {
    while (conn.buffer.length >= 4) {
      const size = conn.buffer.readInt32BE(0);
      if (size < 0 || size > 100 * 1024 * 1024) {
        this.#protocolError(conn, `bad frame size ${size}`);
        return;
      }
      if (conn.buffer.length < 4 + size) return;
      const frame = conn.buffer.subarray(4, 4 + size);
      conn.buffer = conn.buffer.subarray(4 + size);
      try {
        this.#handle(conn, frame);
      } catch (err) {
        this.#protocolError(conn, err instanceof Error ? err.message : String(err));
        return;
      }
    }
  }

  #protocolError(conn: Conn, why: string): void {
    this.protocolErrors.push(why);
    conn.socket.destroy();
  }

  #handle(conn: Conn, frame: Buffer): void {
    const r = new WireReader(frame);
    const apiKey = r.int16('header.api_key');
    const version = r.int16('header.api_version');
    const correlationId = r.int32('header.correlation_id');
    const clientId = r.nullableString('header.client_id');
    if (clientId !== null) this.clientIds.add(clientId);
    this.requests.set(apiKey, (this.requests.get(apiKey) ?? 0) + 1);
    const range = SUPPORTED.find(([k]) => k === apiKey);
    if (apiKey === API.ApiVersions && (range === undefined || version > range[2])) {
      // Kafka answers an ApiVersions it does not know in v0 form with UNSUPPORTED_VERSION.
      this.#send(conn, correlationId, this.#apiVersions(0, KAFKA_ERRORS.UNSUPPORTED_VERSION));
      return;
    }
    if (range === undefined || version < range[1] || version > range[2]) {
      throw new Error(`api ${apiKey} v${version} is not advertised`);
    }
    if (
      !conn.authenticated &&
      apiKey !== API.ApiVersions &&
      apiKey !== API.SaslHandshake &&
      apiKey !== API.SaslAuthenticate
    ) {
      throw new Error(`api ${apiKey} before SASL authentication`);
    }
    let body: Buffer | null;
    switch (apiKey) {
      case API.ApiVersions:
        body = this.#apiVersions(version, KAFKA_ERRORS.NONE);
        break;
      case API.Metadata:
        body = this.#metadata(r);
        break;
      case API.Produce:
        body = this.#produce(r);
        break;
      case API.SaslHandshake:
        body = this.#saslHandshake(conn, r);
        break;
      case API.SaslAuthenticate:
        body = this.#saslAuthenticate(conn, r, version);
        break;
      default:
        throw new Error(`api ${apiKey} not handled`);
    }
    if (r.remaining !== 0) throw new Error(`api ${apiKey}: ${r.remaining} trailing bytes`);
    if (body !== null) this.#send(conn, correlationId, body);
  }

  #send(conn: Conn, correlationId: number, body: Buffer): void {
    const head = Buffer.alloc(8);
    head.writeInt32BE(4 + body.length, 0);
    head.writeInt32BE(correlationId, 4);
    conn.socket.write(Buffer.concat([head, body]));
  }

  #apiVersions(version: number, error: number): Buffer {
    const w = new WireWriter().int16(error);
    w.array(
      error === KAFKA_ERRORS.NONE ? SUPPORTED : [[API.ApiVersions, 0, 2] as const],
      (w, [k, min, max]) => w.int16(k).int16(min).int16(max),
    );
    if (version >= 1) w.int32(0);
    return w.build();
  }

  #metadata(r: WireReader): Buffer {
    const wanted = r.nullableArray('metadata.topics', (r) => r.string('metadata.topics[].name'));
    const allowCreate = r.int8('metadata.allow_auto_topic_creation') !== 0;
    this.autoCreateRequests.push(allowCreate);
    const names = wanted ?? [...this.#partitions.keys()];
    const nodeId = this.#o.nodeId ?? 1;
    const w = new WireWriter().int32(0);
    w.array([0], (w) => w.int32(nodeId).nullableString(this.host).int32(this.#port).nullableString(null));
    w.nullableString('saker-test-cluster').int32(nodeId);
    w.array(names, (w, name) => {
      if (!this.#partitions.has(name) && allowCreate && /^[A-Za-z0-9._-]{1,249}$/.test(name)) {
        this.#partitions.set(name, this.#o.autoCreatePartitions ?? 1);
      }
      const n = this.#partitions.get(name);
      if (n === undefined) {
        w.int16(KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION).nullableString(name).int8(0).int32(0);
        return;
      }
      w.int16(KAFKA_ERRORS.NONE).nullableString(name).int8(0);
      w.array(
        Array.from({ length: n }, (_, i) => i),
        (w, p) =>
          w
            .int16(0)
            .int32(p)
            .int32(nodeId)
            .array([nodeId], (w, id) => w.int32(id))
            .array([nodeId], (w, id) => w.int32(id)),
      );
    });
    return w.build();
  }

  #produce(r: WireReader): Buffer | null {
    const transactionalId = r.nullableString('produce.transactional_id');
    if (transactionalId !== null) throw new Error('produce: transactional producer not expected');
    const acks = r.int16('produce.acks');
    r.int32('produce.timeout_ms');
    this.acks.push(acks);
    const topics = r.array('produce.topic_data', (r) => ({
      name: r.string('produce.topic_data[].name'),
      partitions: r.array('produce.partition_data', (r) => ({
        index: r.int32('produce.partition_data[].index'),
        records: r.nullableBytes('produce.partition_data[].records'),
      })),
    }));
    const injected = this.#failures !== null && this.#failures.left > 0 ? this.#failures.code : null;
    if (injected !== null && this.#failures) {
      this.#failures.left--;
      this.failedProduces++;
    }
    const answers = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (injected !== null) return { index: p.index, error: injected, base: -1n };
        return { index: p.index, ...this.#append(t.name, p.index, p.records, acks) };
      }),
    }));
    if (acks === 0) return null;
    const w = new WireWriter();
    w.array(answers, (w, t) =>
      w
        .nullableString(t.name)
        .array(t.partitions, (w, p) => w.int32(p.index).int16(p.error).int64(p.base).int64(-1n)),
    );
    w.int32(0);
    return w.build();
  }

  #append(
    topic: string,
    partition: number,
    records: Buffer | null,
    acks: number,
  ): { error: number; base: bigint } {
    const n = this.#partitions.get(topic);
    if (n === undefined || partition < 0 || partition >= n) {
      return { error: KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION, base: -1n };
    }
    if (acks !== 0 && acks !== 1 && acks !== -1)
      return { error: KAFKA_ERRORS.INVALID_REQUIRED_ACKS, base: -1n };
    const key = `${topic}/${partition}`;
    const log = this.#logs.get(key) ?? [];
    const base = BigInt(log.length);
    this.lastRecords = records === null ? null : Buffer.from(records);
    let decoded: KafkaRecord[];
    try {
      decoded = decodeRecordBatches(topic, partition, records ?? Buffer.alloc(0), base);
    } catch (err) {
      if (err instanceof BatchError) return { error: err.code, base: -1n };
      throw err;
    }
    log.push(...decoded);
    this.#logs.set(key, log);
    return { error: KAFKA_ERRORS.NONE, base };
  }

  #saslHandshake(conn: Conn, r: WireReader): Buffer {
    const mechanism = r.string('sasl_handshake.mechanism');
    const ok = this.#o.sasl !== undefined && mechanism === 'PLAIN';
    if (ok) conn.mechanism = mechanism;
    return new WireWriter()
      .int16(ok ? KAFKA_ERRORS.NONE : KAFKA_ERRORS.UNSUPPORTED_SASL_MECHANISM)
      .array(this.#o.sasl ? ['PLAIN'] : [], (w, m) => w.nullableString(m))
      .build();
  }

  #saslAuthenticate(conn: Conn, r: WireReader, version: number): Buffer {
    const bytes = r.nullableBytes('sasl_authenticate.auth_bytes') ?? Buffer.alloc(0);
    const w = new WireWriter();
    const want = this.#o.sasl;
    if (conn.mechanism !== 'PLAIN' || want === undefined) {
      w.int16(KAFKA_ERRORS.ILLEGAL_SASL_STATE).nullableString('no handshake').bytes(Buffer.alloc(0));
    } else {
      // RFC 4616: [authzid] NUL authcid NUL passwd
      const [, user, pass] = bytes.toString('utf8').split('\u0000');
      if (user === want.username && pass === want.password) {
        conn.authenticated = true;
        w.int16(KAFKA_ERRORS.NONE).nullableString(null).bytes(Buffer.alloc(0));
      } else {
        w.int16(KAFKA_ERRORS.SASL_AUTHENTICATION_FAILED)
          .nullableString('Authentication failed: Invalid username or password')
          .bytes(Buffer.alloc(0));
      }
    }
    if (version >= 1) w.int64(0n);
    return w.build();
  }
}

/** A batch the broker refuses, with the error code it answers. */
class BatchError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Every record of the v2 record batches in `buf`, numbered from `base`. */
export function decodeRecordBatches(
  topic: string,
  partition: number,
  buf: Buffer,
  base: bigint,
): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  const r = new WireReader(buf);
  while (r.remaining > 0) {
    r.int64('batch.base_offset');
    const length = r.int32('batch.length');
    const batch = new WireReader(r.raw(length, 'batch'));
    batch.int32('batch.partition_leader_epoch');
    const magic = batch.int8('batch.magic');
    if (magic !== 2) throw new BatchError(KAFKA_ERRORS.CORRUPT_MESSAGE, `magic ${magic}, expected 2`);
    const crc = batch.uint32('batch.crc');
    const covered = batch.buf.subarray(batch.offset);
    if (crc32c(covered) !== crc) throw new BatchError(KAFKA_ERRORS.CORRUPT_MESSAGE, 'batch CRC-32C mismatch');
    const attributes = batch.int16('batch.attributes');
    batch.int32('batch.last_offset_delta');
    const firstTimestamp = batch.int64('batch.base_timestamp');
    batch.int64('batch.max_timestamp');
    batch.int64('batch.producer_id');
    batch.int16('batch.producer_epoch');
    batch.int32('batch.base_sequence');
    const count = batch.int32('batch.records_count');
    const compression = attributes & 0x07;
    let body = batch.raw(batch.remaining, 'batch.records');
    if (compression === 1) body = gunzipSync(body);
    else if (compression !== 0) {
      throw new BatchError(KAFKA_ERRORS.UNSUPPORTED_COMPRESSION_TYPE, `codec ${compression}`);
    }
    const rr = new WireReader(body);
    for (let i = 0; i < count; i++) {
      const len = rr.varint('record.length');
      const rec = new WireReader(rr.raw(len, 'record'));
      rec.int8('record.attributes');
      const tsDelta = rec.varlong('record.timestamp_delta');
      const offsetDelta = rec.varint('record.offset_delta');
      const key = rec.varBytes('record.key');
      const value = rec.varBytes('record.value');
      const nHeaders = rec.varint('record.headers.count');
      const headers: KafkaRecordHeader[] = [];
      for (let h = 0; h < nHeaders; h++) {
        const hk = rec.varBytes('record.header.key');
        headers.push({ key: hk?.toString('utf8') ?? '', value: rec.varBytes('record.header.value') });
      }
      if (rec.remaining !== 0) throw new Error(`record ${i}: ${rec.remaining} trailing bytes`);
      out.push({
        topic,
        partition,
        offset: base + BigInt(out.length),
        key: key === null ? null : Buffer.from(key),
        value: value === null ? null : Buffer.from(value),
        headers,
        timestamp: firstTimestamp + tsDelta,
        compression,
      });
      if (offsetDelta !== i) throw new Error(`record ${i}: offset delta ${offsetDelta}`);
    }
    if (rr.remaining !== 0) throw new Error(`batch: ${rr.remaining} bytes after ${count} records`);
  }
  return out;
}
