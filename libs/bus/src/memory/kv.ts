import { type BusOperation, KvKeyExistsError, KvRevisionMismatchError } from '../errors.js';
import { assertKvKey, subjectMatches } from '../subject-syntax.js';
import type {
  KvEntry,
  KvOperation,
  KvOptions,
  KvStore,
  KvWatch,
  KvWatchEntry,
  KvWatchOptions,
} from '../transport.js';
import { AsyncQueue } from './queue.js';

const EMPTY = new Uint8Array(0);

interface Watcher {
  readonly pattern: string;
  readonly queue: AsyncQueue<KvWatchEntry>;
}

/**
 * A bucket in the broker: the latest entry per key (tombstones included, as
 * NATS keeps DEL and PURGE markers) and one revision counter for the bucket.
 */
export class MemoryBucket {
  readonly name: string;
  readonly options: KvOptions;
  readonly #entries = new Map<string, KvEntry>();
  readonly #watchers = new Set<Watcher>();
  #revision = 0;

  constructor(name: string, options: KvOptions) {
    this.name = name;
    this.options = options;
  }

  latest(key: string): KvEntry | undefined {
    return this.#entries.get(key);
  }

  write(key: string, value: Uint8Array, operation: KvOperation): number {
    const entry: KvEntry = {
      bucket: this.name,
      key,
      value: operation === 'PUT' ? value.slice() : EMPTY,
      revision: ++this.#revision,
      operation,
      created: new Date(),
    };
    this.#entries.set(key, entry);
    for (const w of this.#watchers) {
      if (subjectMatches(w.pattern, key)) w.queue.push({ ...entry, isUpdate: true });
    }
    return entry.revision;
  }

  keys(pattern: string): string[] {
    const out: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.operation === 'PUT' && subjectMatches(pattern, key)) out.push(key);
    }
    return out.sort();
  }

  watch(pattern: string): KvWatch {
    const watcher: Watcher = {
      pattern,
      queue: new AsyncQueue<KvWatchEntry>(Number.POSITIVE_INFINITY, () => this.#watchers.delete(watcher)),
    };
    const current = [...this.#entries.values()]
      .filter((e) => e.operation === 'PUT' && subjectMatches(pattern, e.key))
      .sort((a, b) => a.revision - b.revision);
    for (const e of current) watcher.queue.push({ ...e, isUpdate: false });
    this.#watchers.add(watcher);
    const stop = (): void => {
      this.#watchers.delete(watcher);
      watcher.queue.end();
    };
    return {
      stop,
      [Symbol.asyncIterator]: () => watcher.queue[Symbol.asyncIterator](),
      [Symbol.asyncDispose]: () => {
        stop();
        return Promise.resolve();
      },
    };
  }

  close(): void {
    for (const w of this.#watchers) w.queue.end();
    this.#watchers.clear();
  }
}

/** A client's view of a bucket; `assertOpen` throws once the client is closed. */
export class MemoryKvStore implements KvStore {
  readonly bucket: string;
  readonly #b: MemoryBucket;
  readonly #assertOpen: (operation: BusOperation) => void;
  readonly #watches: Set<KvWatch>;

  constructor(bucket: MemoryBucket, assertOpen: (operation: BusOperation) => void, watches: Set<KvWatch>) {
    this.bucket = bucket.name;
    this.#b = bucket;
    this.#assertOpen = assertOpen;
    this.#watches = watches;
  }

  async get(key: string): Promise<KvEntry | null> {
    this.#assertOpen('kv.get');
    assertKvKey('kv.get', key);
    const e = this.#b.latest(key);
    return e === undefined || e.operation !== 'PUT' ? null : e;
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.#assertOpen('kv.put');
    assertKvKey('kv.put', key);
    return this.#b.write(key, value, 'PUT');
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.#assertOpen('kv.create');
    assertKvKey('kv.create', key);
    if (this.#b.latest(key)?.operation === 'PUT') throw new KvKeyExistsError(this.bucket, key);
    return this.#b.write(key, value, 'PUT');
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    this.#assertOpen('kv.update');
    assertKvKey('kv.update', key);
    if ((this.#b.latest(key)?.revision ?? 0) !== expectedRevision || expectedRevision < 1) {
      throw new KvRevisionMismatchError('kv.update', this.bucket, key, expectedRevision);
    }
    return this.#b.write(key, value, 'PUT');
  }

  async delete(key: string, options: { expectedRevision?: number } = {}): Promise<void> {
    this.#assertOpen('kv.delete');
    assertKvKey('kv.delete', key);
    const expected = options.expectedRevision;
    if (expected !== undefined && (this.#b.latest(key)?.revision ?? 0) !== expected) {
      throw new KvRevisionMismatchError('kv.delete', this.bucket, key, expected);
    }
    this.#b.write(key, EMPTY, 'DEL');
  }

  async purge(key: string): Promise<void> {
    this.#assertOpen('kv.purge');
    assertKvKey('kv.purge', key);
    this.#b.write(key, EMPTY, 'PURGE');
  }

  async keys(filter = '>'): Promise<string[]> {
    this.#assertOpen('kv.keys');
    assertKvKey('kv.keys', filter, true);
    return this.#b.keys(filter);
  }

  async watch(options: KvWatchOptions = {}): Promise<KvWatch> {
    this.#assertOpen('kv.watch');
    const pattern = options.key ?? '>';
    assertKvKey('kv.watch', pattern, true);
    const inner = this.#b.watch(pattern);
    const watches = this.#watches;
    const watch: KvWatch = {
      stop: () => {
        watches.delete(watch);
        inner.stop();
      },
      [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
      [Symbol.asyncDispose]: async () => watch.stop(),
    };
    watches.add(watch);
    return watch;
  }
}
