/**
 * One class per failure mode. Each has a fixed `name`, keeps the underlying
 * error as `cause`, and carries the fields a caller branches on. Both
 * transports throw these and only these: errors from the NATS client are
 * translated at the boundary (src/nats/errors.ts).
 */
import { redactText, redactUrl } from '@saker/telemetry';

/** What the bus was doing when it failed. */
export type BusOperation =
  | 'connect'
  | 'publish'
  | 'subscribe'
  | 'request'
  | 'flush'
  | 'drain'
  | 'close'
  | 'kv.open'
  | 'kv.get'
  | 'kv.put'
  | 'kv.create'
  | 'kv.update'
  | 'kv.delete'
  | 'kv.purge'
  | 'kv.keys'
  | 'kv.watch'
  | 'stream.ensure'
  | 'stream.info'
  | 'stream.publish'
  | 'consumer.ensure'
  | 'consumer.consume'
  | 'consumer.info'
  | 'consumer.delete';

/** Base of every bus error, for `instanceof BusError`. Not thrown itself. */
export abstract class BusError extends Error {
  abstract override readonly name: string;
  readonly operation: BusOperation;

  constructor(operation: BusOperation, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = operation;
  }
}

/** The bus (or the subscription) was closed or is draining. */
export class BusClosedError extends BusError {
  override readonly name = 'BusClosedError';
  constructor(operation: BusOperation, options?: { cause?: unknown }) {
    super(operation, `${operation}: the bus is closed`, options);
  }
}

/** The connection to the server could not be made or was lost. */
export class BusConnectionError extends BusError {
  override readonly name = 'BusConnectionError';
  readonly url: string;
  /** `url` (comma-separated servers) and `message` are redacted: a password in a NATS URL is never printed. */
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    const shown = url
      .split(',')
      .map((u) => redactUrl(u))
      .join(',');
    super('connect', `connect ${shown}: ${redactText(message)}`, options);
    this.url = shown;
  }
}

/** No answer within the deadline. */
export class BusTimeoutError extends BusError {
  override readonly name = 'BusTimeoutError';
  readonly subject: string;
  readonly timeoutMs: number;
  constructor(operation: BusOperation, subject: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(operation, `${operation} ${subject}: no answer within ${timeoutMs} ms`, options);
    this.subject = subject;
    this.timeoutMs = timeoutMs;
  }
}

/** A request went to a subject that nobody is subscribed to. */
export class NoRespondersError extends BusError {
  override readonly name = 'NoRespondersError';
  readonly subject: string;
  constructor(subject: string, options?: { cause?: unknown }) {
    super(
      'request',
      `request ${subject}: no responders${
        subject.startsWith('$JS.')
          ? ' (JetStream is not answering: a server without JetStream, or a leaf node whose hub is not connected yet)'
          : ''
      }`,
      options,
    );
    this.subject = subject;
  }
}

/** The header `respond` sets on a reply when the handler failed (HEADERS.handlerError). */
export const HANDLER_ERROR_HEADER = 'Saker-Handler-Error';

/** The responder's handler failed; `remoteMessage` is what it said. */
export class RemoteHandlerError extends BusError {
  override readonly name = 'RemoteHandlerError';
  readonly subject: string;
  readonly remoteMessage: string;
  constructor(subject: string, remoteMessage: string, options?: { cause?: unknown }) {
    super('request', `request ${subject}: the responder failed: ${remoteMessage}`, options);
    this.subject = subject;
    this.remoteMessage = remoteMessage;
  }

  /** The error a reply reports (it comes off the wire as a header), or null for a normal reply. */
  static parse(subject: string, headers: Readonly<Record<string, string>>): RemoteHandlerError | null {
    const message = headers[HANDLER_ERROR_HEADER];
    return message === undefined ? null : new RemoteHandlerError(subject, message);
  }
}

/** A subject (or a subject pattern, or a KV key) is not well formed. */
export class InvalidSubjectError extends BusError {
  override readonly name = 'InvalidSubjectError';
  readonly subject: string;
  readonly reason: string;
  constructor(operation: BusOperation, subject: string, reason: string, options?: { cause?: unknown }) {
    super(operation, `${operation}: invalid subject ${JSON.stringify(subject)}: ${reason}`, options);
    this.subject = subject;
    this.reason = reason;
  }
}

/** A name (bucket, stream, consumer, subject token such as a node name) is not allowed. */
export class InvalidNameError extends BusError {
  override readonly name = 'InvalidNameError';
  /** What the name is for: 'node', 'bucket', 'stream', 'consumer', 'source', 'priority', ... */
  readonly kind: string;
  readonly value: string;
  readonly reason: string;
  constructor(operation: BusOperation, kind: string, value: string, reason: string) {
    super(operation, `invalid ${kind} name ${JSON.stringify(value)}: ${reason}`);
    this.kind = kind;
    this.value = value;
    this.reason = reason;
  }
}

/** `create` found the key already holding a value. */
export class KvKeyExistsError extends BusError {
  override readonly name = 'KvKeyExistsError';
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, options?: { cause?: unknown }) {
    super('kv.create', `kv ${bucket}: key ${JSON.stringify(key)} already exists`, options);
    this.bucket = bucket;
    this.key = key;
  }
}

/** `update` (or a guarded delete) expected a revision the key no longer has. */
export class KvRevisionMismatchError extends BusError {
  override readonly name = 'KvRevisionMismatchError';
  readonly bucket: string;
  readonly key: string;
  readonly expectedRevision: number;
  constructor(
    operation: BusOperation,
    bucket: string,
    key: string,
    expectedRevision: number,
    options?: { cause?: unknown },
  ) {
    super(
      operation,
      `kv ${bucket}: key ${JSON.stringify(key)} is not at revision ${expectedRevision}`,
      options,
    );
    this.bucket = bucket;
    this.key = key;
    this.expectedRevision = expectedRevision;
  }
}

/**
 * The server refused: this connection's NATS user may not publish to, or
 * subscribe on, `subject` (docs/security.md has the permission map).
 */
export class BusPermissionError extends BusError {
  override readonly name = 'BusPermissionError';
  readonly subject: string;
  /** What was refused: a publish (requests and JetStream calls included) or a subscription. */
  readonly refused: 'publish' | 'subscribe';
  constructor(
    operation: BusOperation,
    refused: 'publish' | 'subscribe',
    subject: string,
    options?: { cause?: unknown },
  ) {
    super(operation, `${operation}: permission denied to ${refused} ${subject}`, options);
    this.subject = subject;
    this.refused = refused;
  }
}

/** A stream named by a consumer does not exist. */
export class StreamNotFoundError extends BusError {
  override readonly name = 'StreamNotFoundError';
  readonly stream: string;
  constructor(operation: BusOperation, stream: string, options?: { cause?: unknown }) {
    super(operation, `${operation}: stream ${stream} not found`, options);
    this.stream = stream;
  }
}

/** A durable publish went to a subject that no stream captures. */
export class NoStreamError extends BusError {
  override readonly name = 'NoStreamError';
  readonly subject: string;
  constructor(subject: string, options?: { cause?: unknown }) {
    super('stream.publish', `stream.publish ${subject}: no stream captures this subject`, options);
    this.subject = subject;
  }
}

/** A stream or consumer exists with a configuration that cannot be changed to the one asked for. */
export class ConfigConflictError extends BusError {
  override readonly name = 'ConfigConflictError';
  /** The stream, consumer (stream/durable) or bucket name. */
  readonly target: string;
  constructor(operation: BusOperation, target: string, message: string, options?: { cause?: unknown }) {
    super(operation, `${operation} ${target}: ${message}`, options);
    this.target = target;
  }
}

/** Any other failure the server or client reported, kept whole in `cause`. */
export class BusTransportError extends BusError {
  override readonly name = 'BusTransportError';
  readonly subject: string | undefined;
  constructor(operation: BusOperation, subject: string | undefined, options: { cause: unknown }) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(operation, `${operation}${subject === undefined ? '' : ` ${subject}`}: ${why}`, options);
    this.subject = subject;
  }
}

/** One line of an event batch that is not a valid event; decoding goes on with the next line. */
export class InvalidBatchEventError extends Error {
  override readonly name = 'InvalidBatchEventError';
  /** 1-based line in the batch. */
  readonly line: number;
  /** JSON path of the first wrong field (`$` when the line is not JSON at all). */
  readonly path: string;
  readonly reason: string;
  constructor(line: number, path: string, reason: string, options?: { cause?: unknown }) {
    super(`batch line ${line}: ${path}: ${reason}`, options);
    this.line = line;
    this.path = path;
    this.reason = reason;
  }
}
