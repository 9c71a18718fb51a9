/**
 * The boundary where nats.js errors become bus errors. Nothing from nats.js
 * escapes the NATS transport untranslated: callers branch on our classes.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  DrainingConnectionError,
  NoRespondersError as NatsNoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import {
  BusClosedError,
  BusError,
  type BusOperation,
  BusPermissionError,
  BusTimeoutError,
  BusTransportError,
  ConfigConflictError,
  KvKeyExistsError,
  KvRevisionMismatchError,
  NoRespondersError,
  NoStreamError,
  StreamNotFoundError,
} from '../errors.js';

/** JetStream API error codes this module branches on (see nats-server's errors.json). */
const CODES = {
  consumerNotFound: JetStreamApiCodes.ConsumerNotFound,
  streamNotFound: JetStreamApiCodes.StreamNotFound,
  wrongLastSequence: JetStreamApiCodes.StreamWrongLastSequence,
  streamSubjectOverlap: 10065,
  streamNameInUse: 10058,
  consumerNameExists: 10013,
  consumerCreate: 10012,
  streamUpdate: 10052,
} as const;

/** What was being done, for the translated error's fields. */
export interface ErrorContext {
  operation: BusOperation;
  subject?: string;
  timeoutMs?: number;
  bucket?: string;
  key?: string;
  expectedRevision?: number;
  stream?: string;
  consumer?: string;
}

/** The JetStream API error code of `err`, or undefined when it is not one. */
export function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof NatsNoRespondersError) return true;
  if (err instanceof RequestError) return err.isNoResponders();
  return err instanceof Error && err.cause !== undefined && isNoResponders(err.cause);
}

function isTimeout(err: unknown): boolean {
  if (err instanceof TimeoutError) return true;
  return err instanceof Error && err.cause instanceof TimeoutError;
}

function permissionViolation(err: unknown): PermissionViolationError | undefined {
  if (err instanceof PermissionViolationError) return err;
  if (err instanceof Error && err.cause !== undefined) return permissionViolation(err.cause);
  return undefined;
}

/** The bus error for a permission violation the server reported, or undefined when `err` is not one. */
export function toPermissionError(err: unknown, operation: BusOperation): BusPermissionError | undefined {
  const pv = permissionViolation(err);
  if (pv === undefined) return undefined;
  return new BusPermissionError(operation, pv.operation === 'publish' ? 'publish' : 'subscribe', pv.subject, {
    cause: err,
  });
}

/** Translates anything nats.js threw into the bus error for this failure mode. */
export function toBusError(err: unknown, ctx: ErrorContext): Error {
  if (err instanceof BusError) return err;
  const options = { cause: err };
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
    return new BusClosedError(ctx.operation, options);
  }
  const denied = toPermissionError(err, ctx.operation);
  if (denied !== undefined) return denied;
  const code = apiCode(err);
  const target = ctx.stream ?? ctx.bucket ?? '';
  switch (code) {
    case CODES.wrongLastSequence:
      if (ctx.operation === 'kv.create' && ctx.bucket !== undefined && ctx.key !== undefined) {
        return new KvKeyExistsError(ctx.bucket, ctx.key, options);
      }
      if (ctx.bucket !== undefined && ctx.key !== undefined) {
        return new KvRevisionMismatchError(
          ctx.operation,
          ctx.bucket,
          ctx.key,
          ctx.expectedRevision ?? 0,
          options,
        );
      }
      break;
    case CODES.streamNotFound:
      return new StreamNotFoundError(ctx.operation, target, options);
    case CODES.streamSubjectOverlap:
    case CODES.streamNameInUse:
    case CODES.consumerNameExists:
    case CODES.consumerCreate:
    case CODES.streamUpdate:
      return new ConfigConflictError(
        ctx.operation,
        ctx.consumer === undefined ? target : `${target}/${ctx.consumer}`,
        err instanceof Error ? err.message : String(err),
        options,
      );
  }
  if (isNoResponders(err)) {
    if (ctx.operation === 'stream.publish') return new NoStreamError(ctx.subject ?? '', options);
    // A JetStream call (KV, streams, consumers) names the API and what it was for.
    return new NoRespondersError(
      ctx.subject ?? `$JS.API (${ctx.operation}${target === '' ? '' : ` ${target}`})`,
      options,
    );
  }
  if (isTimeout(err))
    return new BusTimeoutError(ctx.operation, ctx.subject ?? '', ctx.timeoutMs ?? 0, options);
  return new BusTransportError(ctx.operation, ctx.subject ?? ctx.stream, options);
}

/** Runs `fn`, translating what it throws. */
export async function translating<T>(ctx: ErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toBusError(err, ctx);
  }
}
