/**
 * The store's writes in a worker thread: inserts, counts, the text index
 * and removal (store.ts, role `writer`) run on a second core while the
 * main thread reads NATS, decodes and acks alerts and answers HTTP through
 * its own connection (role `reader`, WAL: readers never wait on a write
 * transaction). `add` resolves once the batch is committed, so the feed
 * acks nothing before; the feed hands on one batch at a time (ingest.ts),
 * so at most one batch waits here while another is written.
 *
 * The file is opened (and its tables made) by the worker first: `open`
 * resolves once it has, or rejects with the worker's error (a
 * StoreLayoutError keeps its name). A worker that dies is started again at
 * the next request; the requests it had are refused.
 */
import { Worker } from 'node:worker_threads';
import type { StoredAlert } from './event.js';
import { type AlertRow, type StoreOptions, rowOf } from './store.js';

export type WriterRequest =
  | { readonly id: number; readonly op: 'add'; readonly batch: readonly AlertRow[] }
  | { readonly id: number; readonly op: 'enforce' | 'close' };

/** The answer to request `id` (0: the worker's start), with the rows stored after it. */
export type WriterAnswer =
  | { readonly id: number; readonly ok: true; readonly value: number; readonly rows: number }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly error: string };

/** An error the worker reported, with its name (e.g. StoreLayoutError). */
class StoreWriterError extends Error {
  override readonly name: string;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  readonly resolve: (value: number) => void;
  readonly reject: (err: Error) => void;
}

export class StoreWriter {
  readonly #options: StoreOptions;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  #nextId = 1;
  #rows = 0;
  #closed = false;

  private constructor(options: StoreOptions) {
    this.#options = options;
  }

  /** Starts the worker and waits until it has opened the store. */
  static async open(options: StoreOptions): Promise<StoreWriter> {
    const w = new StoreWriter(options);
    await w.#start();
    return w;
  }

  /** Alerts stored, as of the last answer. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Stores a batch (store.ts, add); resolves with how many were new once
   * committed. The rows are made here, the writer only binds them.
   */
  add(batch: readonly StoredAlert[]): Promise<number> {
    const rows = batch.map(rowOf);
    return this.#ask((id) => ({ id, op: 'add', batch: rows }));
  }

  /** Removes what is past the limits; resolves with the rows removed. */
  enforce(): Promise<number> {
    return this.#ask((id) => ({ id, op: 'enforce' }));
  }

  /** Closes the store in the worker, then ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const w = this.#worker;
    const closing = w === undefined ? Promise.resolve(0) : this.#ask((id) => ({ id, op: 'close' }));
    this.#closed = true;
    await closing.catch(() => 0);
    await w?.terminate();
  }

  #start(): Promise<void> {
    this.#ready ??= new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL('./store-writer-worker.js', import.meta.url), {
        workerData: this.#options,
        name: 'saker-ui-store-writer',
      });
      this.#worker = w;
      let started = false;
      w.on('message', (a: WriterAnswer) => {
        if (a.ok) this.#rows = a.rows;
        if (a.id === 0) {
          started = a.ok;
          if (a.ok) resolve();
          else reject(new StoreWriterError(a.name, a.error));
          return;
        }
        const p = this.#pending.get(a.id);
        this.#pending.delete(a.id);
        if (a.ok) p?.resolve(a.value);
        else p?.reject(new StoreWriterError(a.name, a.error));
      });
      const gone = (why: string): void => {
        if (this.#worker === w) {
          this.#worker = undefined;
          this.#ready = undefined;
        }
        if (!started)
          reject(new Error(`the UI store's writer thread ${why} before opening ${this.#options.path}`));
        for (const p of this.#pending.values()) p.reject(new Error(`the UI store's writer thread ${why}`));
        this.#pending.clear();
      };
      w.on('error', (err) => gone(`failed: ${err.message}`));
      w.on('exit', (code) => gone(`exited (code ${code})`));
    });
    return this.#ready;
  }

  async #ask(request: (id: number) => WriterRequest): Promise<number> {
    if (this.#closed) throw new Error(`the UI store's writer is closed (${this.#options.path})`);
    await this.#start();
    const w = this.#worker;
    if (w === undefined) throw new Error("the UI store's writer thread is gone");
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      w.postMessage(request(id));
    });
  }
}
