/**
 * The contract every output implements, built-in (stdout, file, syslog,
 * http, program) or plugged in later (chat, SIEM). The framework owns
 * consuming, filtering, dedup, retries and dead-lettering; an output only
 * delivers, and says through the error it throws whether trying again helps.
 */
import type { FalcoAlert } from '@saker/rules';
import { PartialBatchError } from '../errors.js';

/** One alert ready for an output. */
export interface Delivery {
  readonly alert: FalcoAlert;
  /** Falco's JSON line for the alert, honouring the output's `json_include_*` keys. */
  readonly raw: string;
}

export interface Output {
  /** The output's name: a subject token (`[A-Za-z0-9_-]+`), unique among the outputs. */
  readonly name: string;
  /**
   * Delivers one alert. Resolves once it is delivered (written, sent,
   * answered 2xx). Throws DeliveryError: `retryable` (tried again with
   * backoff until the alert's maximum age) or `permanent` (dead-lettered at
   * once). Anything else thrown counts as retryable.
   */
  deliver(alert: FalcoAlert, raw: string): Promise<void>;
  /**
   * Optional batching hook: delivers several alerts at once, all or nothing
   * (on a throw every alert of the batch is retried or dead-lettered). Used
   * when the output's settings ask for batches (`batch.maxAlerts` > 1).
   * A bulk API that answers per item throws PartialBatchError instead: then
   * only the failed items are retried or dead-lettered.
   */
  deliverBatch?(items: readonly Delivery[]): Promise<void>;
  /** Optional: reopen files (SIGUSR1 for the file output, as Falco does). */
  reopen?(): Promise<void>;
  /** Releases sockets, files and processes. Called once, after the last delivery. */
  close(): Promise<void>;
}

/**
 * deliver() of an output whose batches answer per item: one alert as a batch
 * of one, its failure thrown as it is rather than as a PartialBatchError.
 */
export async function deliverAsBatch(
  output: Required<Pick<Output, 'deliverBatch'>>,
  alert: FalcoAlert,
  raw: string,
): Promise<void> {
  try {
    await output.deliverBatch([{ alert, raw }]);
  } catch (err) {
    if (err instanceof PartialBatchError) {
      const only = err.failures.get(0);
      if (only !== undefined) throw only;
    }
    throw err;
  }
}
