import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import {
  BusClosedError,
  BusConnectionError,
  BusError,
  BusTimeoutError,
  ConfigConflictError,
  KvKeyExistsError,
  KvRevisionMismatchError,
  NoRespondersError,
} from '@saker/bus';
import { RulesetDocumentError } from '@saker/rules';

/**
 * A failure with its gRPC status, thrown by the RuleService handlers. The
 * message names what was wrong (for bad requests, the field).
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: status;
  /** Trailing metadata sent with the status (the load results of a refused ruleset). */
  readonly trailers: Metadata;

  constructor(code: status, message: string, options?: { trailers?: Metadata; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.trailers = options?.trailers ?? new Metadata();
  }
}

/**
 * The status a failure becomes at the gRPC boundary. Bus errors are
 * translated here and nowhere else, so a client never sees a NATS error:
 * - the bus closed, unreachable or slow: UNAVAILABLE (retryable);
 * - a guarded KV write lost a race (expected revision, create): ABORTED;
 * - the bucket exists with other settings: FAILED_PRECONDITION;
 * - the stored document does not decode: DATA_LOSS;
 * - anything else: INTERNAL.
 */
export function toStatus(err: unknown): Pick<StatusObject, 'code' | 'details' | 'metadata'> {
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata: err.trailers };
  const metadata = new Metadata();
  if (err instanceof KvRevisionMismatchError) {
    return {
      code: status.ABORTED,
      details: `the ruleset is no longer at revision ${err.expectedRevision}: another write came first; read it again and retry`,
      metadata,
    };
  }
  if (err instanceof KvKeyExistsError) {
    return {
      code: status.ABORTED,
      details: 'expected_revision 0 asks for no ruleset to exist, but one does',
      metadata,
    };
  }
  if (
    err instanceof BusClosedError ||
    err instanceof BusConnectionError ||
    err instanceof BusTimeoutError ||
    err instanceof NoRespondersError
  ) {
    return { code: status.UNAVAILABLE, details: `the bus is unavailable: ${err.message}`, metadata };
  }
  if (err instanceof ConfigConflictError) {
    return { code: status.FAILED_PRECONDITION, details: `the rules bucket: ${err.message}`, metadata };
  }
  if (err instanceof BusError) {
    return { code: status.UNAVAILABLE, details: `the bus failed: ${err.message}`, metadata };
  }
  if (err instanceof RulesetDocumentError) {
    return {
      code: status.DATA_LOSS,
      details: `the stored ruleset is not a valid document: ${err.message}`,
      metadata,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata };
}
