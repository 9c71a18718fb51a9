/**
 * Keeps KV `saker_meta` in line with the informers, for the slots this
 * instance owns.
 *
 * Two maps: `live`, what the API objects say each key should hold now; and
 * `view`, what KV holds for it as far as this instance knows (its own writes,
 * plus what it read when it took a slot). A key marked dirty is brought in
 * line by one KV operation: a put when the record changed (updated_ts aside),
 * a tombstone (the last record with deleted_ts) when the object is gone, a
 * purge when the tombstone is older than the tombstone TTL; nothing when KV
 * already agrees. Keys of slots this instance does not own are left alone;
 * taking a slot marks all of its keys. A failed operation is retried after a
 * second, so nothing accepted is lost while the bus is away.
 */
import { type KvStore, META_KEYS } from '@saker/bus';
import {
  type MetaRecord,
  type NamespaceRecord,
  type PodRecord,
  type WorkloadRecord,
  decodeMetaRecord,
  encodeMetaRecord,
  isExpiredTombstone,
} from '@saker/events';
import type { RecordBody } from './objects.js';
import type { ClusterLogger } from './options.js';
import { recordSlot } from './slots.js';

type StoredRecord = PodRecord | NamespaceRecord | WorkloadRecord;

export interface WriterStats {
  /** Records put because they were new or changed. */
  readonly written: number;
  /** Keys checked that KV already held as they should be. */
  readonly unchanged: number;
  readonly tombstoned: number;
  readonly purged: number;
  readonly writeErrors: number;
  /** Values read from KV that are not valid records (left alone, or overwritten when the object exists). */
  readonly invalidKv: number;
  /** Keys waiting for a KV operation. */
  readonly pending: number;
  /** Writes per record kind: pod, namespace, workload. */
  readonly writtenByKind: Readonly<Record<string, number>>;
}

export interface MetaWriterOptions {
  readonly kv: KvStore;
  readonly shards: number;
  readonly owns: (slot: number) => boolean;
  readonly tombstoneTtlMs: number;
  readonly concurrency: number;
  readonly log: ClusterLogger;
  readonly onWrite?: (op: 'written' | 'tombstoned' | 'purged', kind: string) => void;
}

const RETRY_MS = 1000;
const RECORD_PREFIXES = [META_KEYS.allPods, META_KEYS.allNamespaces, META_KEYS.allWorkloads] as const;

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** JSON with object keys sorted, so two equal records compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function bodyOf(record: StoredRecord): string {
  const { updated_ts: _u, deleted_ts: _d, ...rest } = record;
  return canonical(rest);
}

function isStored(r: MetaRecord): r is StoredRecord {
  return r.kind === 'pod' || r.kind === 'namespace' || r.kind === 'workload';
}

export class MetaWriter {
  readonly #o: MetaWriterOptions;
  readonly #live = new Map<string, RecordBody>();
  readonly #view = new Map<string, StoredRecord>();
  readonly #tombstones = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #inflight = new Set<string>();
  readonly #again = new Set<string>();
  readonly #loading = new Set<number>();
  #retrying = 0;
  #closed = false;
  #waiters: (() => void)[] = [];
  #stats = { written: 0, unchanged: 0, tombstoned: 0, purged: 0, writeErrors: 0, invalidKv: 0 };
  readonly #byKind: Record<string, number> = {};

  constructor(options: MetaWriterOptions) {
    this.#o = options;
  }

  /** What `key` should hold, from the API. */
  setLive(key: string, body: RecordBody): void {
    this.#live.set(key, body);
    this.#mark(key);
  }

  /** The object behind `key` is gone. */
  removeLive(key: string): void {
    if (this.#live.delete(key)) this.#mark(key);
  }

  /**
   * This instance took `slots`: read what KV holds for them (another instance
   * wrote it, or nobody did while the slot was orphaned), then bring every
   * key of them in line. Writes to those slots wait for the read.
   */
  async takeOver(slots: ReadonlySet<number>): Promise<void> {
    for (const s of slots) this.#loading.add(s);
    try {
      await this.#load(slots);
    } finally {
      for (const s of slots) this.#loading.delete(s);
    }
    this.markSlots(slots);
  }

  /** Marks every key, live or in KV, of `slots`. */
  markSlots(slots: ReadonlySet<number>): void {
    const { shards } = this.#o;
    for (const [key, body] of this.#live) {
      const s = recordSlot(body, shards);
      if (s !== undefined && slots.has(s)) this.#mark(key);
    }
    for (const [key, rec] of this.#view) {
      const s = recordSlot(rec, shards);
      if (s !== undefined && slots.has(s)) this.#mark(key);
    }
  }

  /** Marks tombstones due for purging. */
  sweep(): void {
    const now = nowNs();
    for (const key of this.#tombstones) {
      const rec = this.#view.get(key);
      if (rec === undefined) this.#tombstones.delete(key);
      else if (isExpiredTombstone(rec, this.#o.tombstoneTtlMs, now)) this.#mark(key);
    }
  }

  /** Resolves when no key is waiting for a KV operation. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops taking work; resolves when operations in flight have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dirty.clear();
    this.#again.clear();
    if (this.#inflight.size > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  stats(): WriterStats {
    return {
      ...this.#stats,
      pending: this.#dirty.size + this.#inflight.size + this.#retrying,
      writtenByKind: { ...this.#byKind },
    };
  }

  #isIdle(): boolean {
    return this.#dirty.size === 0 && this.#inflight.size === 0 && this.#retrying === 0;
  }

  #mark(key: string): void {
    if (this.#closed) return;
    if (this.#inflight.has(key)) this.#again.add(key);
    else this.#dirty.add(key);
    this.#pump();
  }

  #pump(): void {
    while (this.#inflight.size < this.#o.concurrency && this.#dirty.size > 0) {
      const key = this.#dirty.values().next().value as string;
      this.#dirty.delete(key);
      this.#inflight.add(key);
      void this.#sync(key).then(
        () => this.#done(key),
        (err: unknown) => {
          this.#stats.writeErrors += 1;
          if (this.#stats.writeErrors <= 10 || this.#stats.writeErrors % 1000 === 0) {
            this.#o.log('warn', `${key}: KV write failed (retrying in ${RETRY_MS} ms): ${String(err)}`);
          }
          this.#retrying += 1;
          setTimeout(() => {
            this.#retrying -= 1;
            this.#mark(key);
            this.#notify();
          }, RETRY_MS);
          this.#done(key);
        },
      );
    }
    this.#notify();
  }

  #done(key: string): void {
    this.#inflight.delete(key);
    if (this.#again.delete(key)) this.#dirty.add(key);
    this.#pump();
  }

  #notify(): void {
    const ready = this.#closed ? this.#inflight.size === 0 : this.#isIdle();
    if (!ready || this.#waiters.length === 0) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const resolve of w) resolve();
  }

  #writable(slot: number | undefined): boolean {
    return slot !== undefined && !this.#loading.has(slot) && this.#o.owns(slot) && !this.#closed;
  }

  #count(op: 'written' | 'tombstoned' | 'purged', kind: string): void {
    this.#stats[op] += 1;
    if (op === 'written') this.#byKind[kind] = (this.#byKind[kind] ?? 0) + 1;
    this.#o.onWrite?.(op, kind);
  }

  async #sync(key: string): Promise<void> {
    const { kv, shards } = this.#o;
    const want = this.#live.get(key);
    const have = this.#view.get(key);
    if (want !== undefined) {
      const slot = recordSlot(want, shards);
      if (!this.#writable(slot)) {
        // The object moved to a slot another instance writes (a pod got its
        // node): that one owns the key now, and must be its only writer, so
        // forget our copy rather than tombstone it later.
        if (
          have !== undefined &&
          slot !== undefined &&
          !this.#o.owns(slot) &&
          recordSlot(have, shards) !== slot
        ) {
          this.#view.delete(key);
          this.#tombstones.delete(key);
        }
        return;
      }
      if (have !== undefined && have.deleted_ts === undefined && bodyOf(have) === canonical(want)) {
        this.#stats.unchanged += 1;
        return;
      }
      const record = { ...want, updated_ts: nowNs().toString() } as StoredRecord;
      await kv.put(key, encodeMetaRecord(record));
      this.#view.set(key, record);
      this.#tombstones.delete(key);
      this.#count('written', record.kind);
      return;
    }
    if (have === undefined || !this.#writable(recordSlot(have, shards))) return;
    if (have.deleted_ts === undefined) {
      const now = nowNs().toString();
      const tombstone = { ...have, updated_ts: now, deleted_ts: now } as StoredRecord;
      await kv.put(key, encodeMetaRecord(tombstone));
      this.#view.set(key, tombstone);
      this.#tombstones.add(key);
      this.#count('tombstoned', have.kind);
    } else if (isExpiredTombstone(have, this.#o.tombstoneTtlMs, nowNs())) {
      await kv.purge(key);
      this.#view.delete(key);
      this.#tombstones.delete(key);
      this.#count('purged', have.kind);
    } else {
      this.#tombstones.add(key);
    }
  }

  /**
   * Reads KV for `slots`: every key this instance has not seen, and every key
   * it knows to be in one of them (someone else may have written it since).
   */
  async #load(slots: ReadonlySet<number>): Promise<void> {
    const { kv, shards } = this.#o;
    const keys: string[] = [];
    for (const prefix of RECORD_PREFIXES) keys.push(...(await kv.keys(prefix)));
    const present = new Set(keys);
    const inSlots = (r: RecordBody | StoredRecord | undefined): boolean => {
      const s = r === undefined ? undefined : recordSlot(r, shards);
      return s !== undefined && slots.has(s);
    };
    const wanted = keys.filter((k) => {
      const known = this.#view.get(k);
      return known === undefined || inSlots(known) || inSlots(this.#live.get(k));
    });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const key = wanted[next++] as string;
        const entry = await kv.get(key);
        if (this.#inflight.has(key)) continue; // our own write in flight is newer
        if (entry === null) {
          this.#view.delete(key);
          continue;
        }
        let rec: MetaRecord;
        try {
          rec = decodeMetaRecord(entry.value);
        } catch (err) {
          this.#stats.invalidKv += 1;
          this.#o.log('warn', `${key}: not a valid record in KV: ${String(err)}`);
          this.#view.delete(key);
          continue;
        }
        if (!isStored(rec)) continue;
        this.#view.set(key, rec);
        if (rec.deleted_ts !== undefined) this.#tombstones.add(key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, wanted.length) }, worker));
    // Purged by someone else while we did not own them.
    for (const [key, rec] of this.#view) {
      if (!present.has(key) && inSlots(rec)) this.#view.delete(key);
    }
  }
}
