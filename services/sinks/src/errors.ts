/**
 * The sinks' failure modes, one class each. An output signals how a failed
 * delivery should be handled by throwing a DeliveryError: retryable ones are
 * tried again with backoff, permanent ones go to the dead-letter subject.
 */

/** How a failed delivery is handled. */
import { OptionError } from '@saker/runtime';
export type DeliveryErrorKind = 'retryable' | 'permanent';

/** A delivery failed. Thrown by `Output.deliver`; anything else thrown counts as retryable. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly kind: DeliveryErrorKind;
  /** The output that failed. */
  readonly output: string;
  /**
   * The wait the receiver asked for (an HTTP Retry-After on 429/503), in ms:
   * the runner waits this long (at most the output's `backoff.maxMs`)
   * instead of its exponential backoff, and starts no other delivery meanwhile.
   */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: DeliveryErrorKind,
    output: string,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    super(message, options === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.output = output;
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** Wraps what an output threw: a DeliveryError stays as it is, anything else becomes retryable. */
  static from(output: string, err: unknown): DeliveryError {
    if (err instanceof DeliveryError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new DeliveryError('retryable', output, message, { cause: err });
  }
}

/**
 * A retryable delivery failure (network, 5xx, 429, a program that died);
 * `retryAfterMs`: the wait the receiver asked for, when it said.
 */
export function retryable(
  output: string,
  message: string,
  cause?: unknown,
  retryAfterMs?: number,
): DeliveryError {
  return new DeliveryError('retryable', output, message, { cause, retryAfterMs });
}

/** A delivery failure that trying again cannot fix (4xx, an alert the receiver refuses). */
export function permanent(output: string, message: string, cause?: unknown): DeliveryError {
  return new DeliveryError('permanent', output, message, { cause });
}

/** Bad sinks options: names the option (`outputs[1].condition`) and why. */
export class SinksOptionsError extends OptionError {
  override readonly name = 'SinksOptionsError';
  /** The option's path (`outputs[1].condition`); the runtime's `key`. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super(path, reason);
    this.path = path;
  }
}

/** An alert body that is not Falco's JSON alert: names the JSON path of the first bad field. */
export class AlertValidationError extends Error {
  override readonly name = 'AlertValidationError';
  /** `$.priority`, `$.output_fields`, or `$` when the body is not a JSON object. */
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Thrown by `deliverBatch` when only some items of the batch failed (a bulk
 * API answering per item): the items not in `failures` count as delivered,
 * each failed one is retried or dead-lettered by its own error. Keys are
 * indexes into the batch.
 */
export class PartialBatchError extends DeliveryError {
  readonly failures: ReadonlyMap<number, DeliveryError>;

  constructor(output: string, failures: ReadonlyMap<number, DeliveryError>) {
    const first = failures.values().next().value;
    super(
      'retryable',
      output,
      `${failures.size} item(s) of the batch failed${first ? `: ${first.message}` : ''}`,
    );
    this.failures = failures;
  }
}
