/**
 * A ruleset received at run time (KV saker_rules) is compiled first in a
 * worker thread with a time and a heap limit, and only a ruleset that
 * compiled there within them is compiled again on the main thread, where
 * compiled conditions can live (closures do not cross threads). A hostile
 * ruleset that gets past the loader's own caps (aliases, macro expansion)
 * costs the worker, not the event loop that serves /healthz and the inputs.
 */
import { Worker } from 'node:worker_threads';
import type { AppendOutputEntry } from '@saker/rules';
import { type RulesetLoadOutcome, compileKvValue } from './ruleset-state.js';

export interface RulesetCompileLimits {
  /** The worker is stopped, and the ruleset refused, after this long. */
  readonly timeoutMs: number;
  /** The worker's old-generation heap; past it the ruleset is refused. */
  readonly maxHeapMb: number;
}

/** Default ruleset compile limits: Falco's default rules compile in about 0.3 s and 50 MB. */
export const DEFAULT_COMPILE_LIMITS: RulesetCompileLimits = { timeoutMs: 20_000, maxHeapMb: 512 };

/** What the worker posts back. */
export type VetReply = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** The data the worker reads. */
export interface VetRequest {
  readonly data: Uint8Array;
  readonly appendOutput: readonly AppendOutputEntry[];
}

/** Compiles `data` in a worker thread under `limits`; never throws. */
export function vetKvValue(
  data: Uint8Array,
  appendOutput: readonly AppendOutputEntry[],
  limits: RulesetCompileLimits,
): Promise<VetReply> {
  return new Promise<VetReply>((resolve) => {
    const request: VetRequest = { data, appendOutput };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./ruleset-vet-worker.js', import.meta.url), {
        workerData: request,
        resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb, stackSizeMb: 4 },
      });
    } catch (err) {
      resolve({ ok: false, error: `could not start the compile worker: ${String(err)}` });
      return;
    }
    let settled = false;
    const settle = (reply: VetReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(reply);
    };
    const timer = setTimeout(
      () => settle({ ok: false, error: `compiling took longer than ${limits.timeoutMs} ms (the limit)` }),
      limits.timeoutMs,
    );
    worker.once('message', (reply: VetReply) => settle(reply));
    worker.once('error', (err: Error & { code?: string }) =>
      settle({
        ok: false,
        error:
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `compiling needed more than ${limits.maxHeapMb} MB of heap (the limit)`
            : `the compile worker failed: ${err.message}`,
      }),
    );
    worker.once('exit', (code) =>
      settle({ ok: false, error: `the compile worker exited (code ${code}) without an answer` }),
    );
  });
}

/** Decodes and compiles a KV value: first in a worker under `limits`, then, if it passed, here. */
export async function compileKvValueBounded(
  data: Uint8Array,
  revision: number,
  appendOutput: readonly AppendOutputEntry[],
  limits: RulesetCompileLimits,
): Promise<RulesetLoadOutcome> {
  const vetted = await vetKvValue(data, appendOutput, limits);
  if (!vetted.ok) return vetted;
  return compileKvValue(data, revision, appendOutput);
}
