/**
 * A ruleset received at run time (KV saker_rules) is compiled first in a
 * worker thread with a time and a heap limit, and only a ruleset that
 * compiled there within them is compiled again on the main thread, where
 * compiled conditions can live (closures do not cross threads). A hostile
 * ruleset that gets past the loader's own caps (aliases, macro expansion)
 * costs the worker, not the event loop that serves /healthz and the inputs.
 *
 * The worker is started once and kept (loading the rules library in a fresh
 * thread costs more than compiling a usual ruleset), one ruleset at a time;
 * a worker stopped by a limit is replaced on the next ruleset.
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

/** What the worker is sent. */
export interface VetRequest {
  readonly id: number;
  readonly data: Uint8Array;
  readonly appendOutput: readonly AppendOutputEntry[];
}

/** The worker's answer to request `id`. */
export type VetAnswer = VetReply & { readonly id: number };

/** Compiles rulesets in a kept worker thread under limits. Close it when done. */
export class RulesetVetter {
  readonly #limits: RulesetCompileLimits;
  #worker: Worker | undefined;
  #nextId = 1;
  /** One ruleset at a time: the limits are per ruleset. */
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(limits: RulesetCompileLimits = DEFAULT_COMPILE_LIMITS) {
    this.#limits = limits;
  }

  /** Starts the worker now, so the first ruleset does not wait for it. */
  warm(): void {
    if (!this.#closed) this.#spawn();
  }

  /** Compiles `data` in the worker; never throws. */
  vet(data: Uint8Array, appendOutput: readonly AppendOutputEntry[]): Promise<VetReply> {
    const run = this.#chain.then(() => this.#vetOne(data, appendOutput));
    this.#chain = run;
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    await w?.terminate();
  }

  #spawn(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const w = new Worker(new URL('./ruleset-vet-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.#limits.maxHeapMb, stackSizeMb: 4 },
    });
    // An idle worker does not keep the process alive.
    w.unref();
    w.on('error', () => undefined);
    w.once('exit', () => {
      if (this.#worker === w) this.#worker = undefined;
    });
    this.#worker = w;
    return w;
  }

  #vetOne(data: Uint8Array, appendOutput: readonly AppendOutputEntry[]): Promise<VetReply> {
    if (this.#closed) return Promise.resolve({ ok: false, error: 'the engine is stopping' });
    let worker: Worker;
    try {
      worker = this.#spawn();
    } catch (err) {
      return Promise.resolve({ ok: false, error: `could not start the compile worker: ${String(err)}` });
    }
    const id = this.#nextId++;
    return new Promise<VetReply>((resolve) => {
      const settle = (reply: VetReply, stop: boolean): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (stop) {
          if (this.#worker === worker) this.#worker = undefined;
          void worker.terminate();
        }
        resolve(reply);
      };
      const onMessage = (answer: VetAnswer): void => {
        if (answer.id !== id) return;
        settle(answer.ok ? { ok: true } : { ok: false, error: answer.error }, false);
      };
      const onError = (err: Error & { code?: string }): void =>
        settle(
          {
            ok: false,
            error:
              err.code === 'ERR_WORKER_OUT_OF_MEMORY'
                ? `compiling needed more than ${this.#limits.maxHeapMb} MB of heap (the limit)`
                : `the compile worker failed: ${err.message}`,
          },
          true,
        );
      const onExit = (code: number): void =>
        settle({ ok: false, error: `the compile worker exited (code ${code}) without an answer` }, true);
      const timer = setTimeout(
        () =>
          settle(
            { ok: false, error: `compiling took longer than ${this.#limits.timeoutMs} ms (the limit)` },
            true,
          ),
        this.#limits.timeoutMs,
      );
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      // Busy with a ruleset, the worker keeps the process up until it answers or is stopped.
      worker.ref();
      const request: VetRequest = { id, data, appendOutput };
      worker.postMessage(request);
    }).finally(() => {
      if (this.#worker === worker) worker.unref();
    });
  }
}

/** Decodes and compiles a KV value: first in `vetter`'s worker under its limits, then, if it passed, here. */
export async function compileKvValueBounded(
  data: Uint8Array,
  revision: number,
  appendOutput: readonly AppendOutputEntry[],
  vetter: RulesetVetter,
): Promise<RulesetLoadOutcome> {
  const vetted = await vetter.vet(data, appendOutput);
  if (!vetted.ok) return vetted;
  return compileKvValue(data, revision, appendOutput);
}
