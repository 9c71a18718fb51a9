import { OptionError } from '@saker/runtime';

/**
 * Why a webhook request was refused. Each maps to one HTTP status and one
 * metrics label, so an operator can tell a misconfigured API server from an
 * attack from a bug by the counters alone.
 */
export type RejectReason =
  | 'unauthenticated'
  | 'method'
  | 'path'
  | 'encoding'
  | 'body_too_large'
  | 'bad_gzip'
  | 'bad_body'
  | 'bad_json'
  | 'bad_event'
  | 'handoff'
  | 'internal';

const STATUS: Readonly<Record<RejectReason, number>> = {
  unauthenticated: 401,
  method: 405,
  path: 404,
  encoding: 415,
  body_too_large: 413,
  bad_gzip: 400,
  bad_body: 400,
  bad_json: 400,
  bad_event: 400,
  // 503 with Retry-After: the API server's webhook backend retries it.
  handoff: 503,
  internal: 500,
};

/** A webhook request that is answered with an error status; `message` names what was wrong and where. */
export class AuditRequestError extends Error {
  override readonly name = 'AuditRequestError';
  readonly reason: RejectReason;
  readonly status: number;

  constructor(reason: RejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.status = STATUS[reason];
  }
}

/** The events could not be handed to the bus (no stream, no ack in time, connection lost). */
export class AuditHandoffError extends Error {
  override readonly name = 'AuditHandoffError';
  readonly subject: string;

  constructor(subject: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.subject = subject;
  }
}

/** A checkpoint file that exists but cannot be read or written. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  readonly file: string;
  readonly operation: 'read' | 'write';

  constructor(file: string, operation: 'read' | 'write', message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
    this.operation = operation;
  }
}

/** A bad configuration value, named by its key (fail fast, never fall back silently). */
export class AuditConfigError extends OptionError {
  override readonly name = 'AuditConfigError';

  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(key, message, undefined, options);
  }
}
