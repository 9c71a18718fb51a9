/**
 * A single-reader async queue: the in-memory bus pushes, one `for await` reads.
 * Bounded: past `capacity` a push is refused and counted (a slow consumer
 * loses messages, as on NATS, instead of growing without bound).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #onReturn: (() => void) | undefined;
  #items: T[] = [];
  #head = 0;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #dropped = 0;
  #endedResolve: () => void = () => undefined;
  /** Resolves once the queue has ended and the reader has taken everything. */
  readonly finished: Promise<void>;

  /** `onReturn` runs when the reader leaves the loop early (break, throw). */
  constructor(capacity = Number.POSITIVE_INFINITY, onReturn?: () => void) {
    this.#capacity = capacity;
    this.#onReturn = onReturn;
    this.finished = new Promise<void>((resolve) => {
      this.#endedResolve = resolve;
    });
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Messages refused because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** False when the queue has ended or is full (then the item is counted as dropped). */
  push(item: T): boolean {
    if (this.#ended) return false;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    if (this.size >= this.#capacity) {
      this.#dropped++;
      return false;
    }
    this.#items.push(item);
    return true;
  }

  /** No more pushes; the reader still gets what is queued. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleIfDone();
  }

  /** Ends now, discarding what is queued. */
  abort(): void {
    this.#items = [];
    this.#head = 0;
    this.#ended = true;
    this.#settleIfDone();
  }

  #settleIfDone(): void {
    if (!this.#ended || this.size > 0) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
    this.#endedResolve();
  }

  #take(): T | undefined {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#take() as T;
      this.#settleIfDone();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      this.#endedResolve();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise<IteratorResult<T>>((resolve) => {
      this.#waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: (): Promise<IteratorResult<T>> => {
        this.#onReturn?.();
        this.abort();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
