/**
 * Events of a container the cache does not know wait for its record: one
 * shared wait per container id, ended by the record's arrival (arrived) or
 * by `waitMs`. After a timeout the id is remembered for `negativeTtlMs`, so
 * that its later events do not wait again (at most `maxNegative` ids, the
 * oldest forgotten first), unless the record shows up. No I/O: the cache
 * (metadata-cache.ts) starts the KV get that may end a wait.
 */

export interface ContainerWaitsOptions {
  readonly waitMs: number;
  readonly negativeTtlMs: number;
  /** Most ids remembered as having no record. */
  readonly maxNegative: number;
  /** Told each time a wait ends without its record. */
  readonly onTimeout: () => void;
}

interface Pending {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class ContainerWaits {
  readonly #o: ContainerWaitsOptions;
  readonly #pending = new Map<string, Pending>();
  /** Container id to when its negative entry ends (ms); in insertion order, oldest first. */
  readonly #negative = new Map<string, number>();

  constructor(o: ContainerWaitsOptions) {
    this.#o = o;
  }

  /** Waits in progress (distinct ids). */
  get size(): number {
    return this.#pending.size;
  }

  /** Whether `id` is remembered, at `now`, as having no record; an ended entry is forgotten. */
  isNegative(id: string, now: number): boolean {
    const until = this.#negative.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#negative.delete(id);
    return false;
  }

  /** The wait for `id` in progress, if any. */
  get(id: string): Promise<void> | undefined {
    return this.#pending.get(id)?.promise;
  }

  /** Starts the wait for `id` (none must be in progress); it resolves on arrival or timeout. */
  start(id: string): Promise<void> {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    const timer = setTimeout(() => {
      if (this.#pending.get(id)?.timer !== timer) return;
      this.#pending.delete(id);
      this.#o.onTimeout();
      if (this.#o.negativeTtlMs > 0) {
        this.#negative.delete(id);
        this.#negative.set(id, Date.now() + this.#o.negativeTtlMs);
        if (this.#negative.size > this.#o.maxNegative) {
          const oldest = this.#negative.keys().next();
          if (oldest.done !== true) this.#negative.delete(oldest.value);
        }
      }
      resolve();
    }, this.#o.waitMs);
    this.#pending.set(id, { promise, resolve, timer });
    return promise;
  }

  /** The record of `id` is here: forgets its negative entry and ends its wait; true when one was ended. */
  arrived(id: string): boolean {
    this.#negative.delete(id);
    const pending = this.#pending.get(id);
    if (pending === undefined) return false;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    pending.resolve();
    return true;
  }

  /** Ends every wait at once (closing): waiting events go on without metadata. */
  endAll(): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve();
    }
    this.#pending.clear();
  }
}
