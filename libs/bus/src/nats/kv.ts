import type { KV, KvEntry as NatsKvEntry, KvWatchEntry as NatsKvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { KvRevisionMismatchError } from '../errors.js';
import { assertKvKey } from '../subject-syntax.js';
import type { KvEntry, KvStore, KvWatch, KvWatchEntry, KvWatchOptions } from '../transport.js';
import { translating } from './errors.js';

function toEntry(e: NatsKvEntry): KvEntry {
  return {
    bucket: e.bucket,
    key: e.key,
    value: e.value,
    revision: e.revision,
    operation: e.operation,
    created: e.created,
  };
}

/** A KV bucket on JetStream. Revisions are the bucket stream's sequence numbers. */
export class NatsKvStore implements KvStore {
  readonly bucket: string;
  readonly #kv: KV;

  constructor(bucket: string, kv: KV) {
    this.bucket = bucket;
    this.#kv = kv;
  }

  async get(key: string): Promise<KvEntry | null> {
    assertKvKey('kv.get', key);
    const e = await translating({ operation: 'kv.get', bucket: this.bucket, key }, () => this.#kv.get(key));
    return e === null || e.operation !== 'PUT' ? null : toEntry(e);
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    assertKvKey('kv.put', key);
    return translating({ operation: 'kv.put', bucket: this.bucket, key }, () => this.#kv.put(key, value));
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    assertKvKey('kv.create', key);
    return translating({ operation: 'kv.create', bucket: this.bucket, key }, () =>
      this.#kv.create(key, value),
    );
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    assertKvKey('kv.update', key);
    // nats.js refuses revision 0 with a plain Error; no key is ever at revision 0.
    if (!Number.isSafeInteger(expectedRevision) || expectedRevision < 1) {
      throw new KvRevisionMismatchError('kv.update', this.bucket, key, expectedRevision);
    }
    return translating({ operation: 'kv.update', bucket: this.bucket, key, expectedRevision }, () =>
      this.#kv.update(key, value, expectedRevision),
    );
  }

  async delete(key: string, options: { expectedRevision?: number } = {}): Promise<void> {
    assertKvKey('kv.delete', key);
    const expectedRevision = options.expectedRevision;
    if (expectedRevision !== undefined && expectedRevision < 1) {
      throw new KvRevisionMismatchError('kv.delete', this.bucket, key, expectedRevision);
    }
    await translating({ operation: 'kv.delete', bucket: this.bucket, key, expectedRevision }, () =>
      this.#kv.delete(key, expectedRevision === undefined ? {} : { previousSeq: expectedRevision }),
    );
  }

  async purge(key: string): Promise<void> {
    assertKvKey('kv.purge', key);
    await translating({ operation: 'kv.purge', bucket: this.bucket, key }, () => this.#kv.purge(key));
  }

  async keys(filter = '>'): Promise<string[]> {
    assertKvKey('kv.keys', filter, true);
    return translating({ operation: 'kv.keys', bucket: this.bucket }, async () => {
      const out: string[] = [];
      for await (const k of await this.#kv.keys(filter)) out.push(k);
      return out.sort();
    });
  }

  async watch(options: KvWatchOptions = {}): Promise<KvWatch> {
    const key = options.key ?? '>';
    assertKvKey('kv.watch', key, true);
    return translating({ operation: 'kv.watch', bucket: this.bucket, key }, async () => {
      // Everything stored before the watch starts is "current"; nats.js's own
      // isUpdate flag already marks the last current entry as an update.
      const before = (await this.#kv.status()).streamInfo.state.last_seq;
      return new NatsKvWatch(await this.#kv.watch({ key }), before);
    });
  }
}

class NatsKvWatch implements KvWatch {
  readonly #iter: QueuedIterator<NatsKvWatchEntry>;
  readonly #lastCurrent: number;

  constructor(iter: QueuedIterator<NatsKvWatchEntry>, lastCurrent: number) {
    this.#iter = iter;
    this.#lastCurrent = lastCurrent;
  }

  stop(): void {
    this.#iter.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<KvWatchEntry> {
    try {
      for await (const e of this.#iter) {
        const isUpdate = e.revision > this.#lastCurrent;
        // NATS sends the last entry of every key first, tombstones included;
        // "current values" means the keys that hold one.
        if (!isUpdate && e.operation !== 'PUT') continue;
        yield { ...toEntry(e), isUpdate };
      }
    } finally {
      this.#iter.stop();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.stop();
    return Promise.resolve();
  }
}
