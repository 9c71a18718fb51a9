/**
 * Shard ownership through leases in KV `saker_meta` (`shards.<i>`, a
 * ShardLease each). Every write of a lease is a compare-and-set on the key's
 * revision, so two instances never both believe they took a slot.
 *
 * - A held lease is renewed every ttl/3; it says it expires ttl after the
 *   renewal. A renewal that loses the compare-and-set, or that cannot be made
 *   before the lease's own expiry, drops the slot at once.
 * - An instance holding nothing takes the first free slot it finds, starting
 *   from a place its name hashes to (so instances starting together spread).
 * - An instance that already holds slots waits before taking another one:
 *   ttl/5 after a lease expired (its holder died), a whole ttl for a slot
 *   nobody ever held. Idle instances get the first chance, and instances
 *   starting together each get a slot before one takes them all.
 * - Free slots are looked at every ttl/3, and again right when a lease seen is
 *   due to expire, so a dead instance's slots move about ttl + ttl/5 after its
 *   last renewal.
 *
 * Expiry is wall-clock time (nanoseconds since the epoch): instances' clocks
 * must agree to well within the ttl.
 */
import { KvKeyExistsError, KvRevisionMismatchError, type KvStore, META_KEYS } from '@saker/bus';
import { type ShardLease, decodeMetaRecord, encodeMetaRecord } from '@saker/events';
import type { ClusterLogger } from './options.js';
import { slotOf } from './slots.js';

export interface ShardLeasesOptions {
  readonly kv: KvStore;
  readonly shards: number;
  readonly instance: string;
  readonly ttlMs: number;
  readonly log: ClusterLogger;
  /** A slot became this instance's. */
  readonly onAcquired: (slot: number) => void;
  /** A slot is no longer this instance's (taken over, or not renewed in time). */
  readonly onLost: (slot: number) => void;
}

interface Held {
  revision: number;
  expiresAtMs: number;
}

const nsOf = (ms: number): string => (BigInt(Math.round(ms)) * 1_000_000n).toString();
const msOf = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

export class ShardLeases {
  readonly #o: ShardLeasesOptions;
  readonly #held = new Map<number, Held>();
  /** When each slot was first seen free (absent or expired) in a row. */
  readonly #freeSince = new Map<number, number>();
  readonly #warned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = false;
  #acquisitions = 0;
  #losses = 0;

  constructor(options: ShardLeasesOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Whether this instance holds `slot` now (held, and its lease not past expiry). */
  owns(slot: number): boolean {
    const h = this.#held.get(slot);
    return h !== undefined && Date.now() < h.expiresAtMs;
  }

  held(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  counts(): { acquisitions: number; losses: number } {
    return { acquisitions: this.#acquisitions, losses: this.#losses };
  }

  /** Stops renewing. With `release`, deletes the leases held so others take them at once. */
  async stop(release: boolean): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    if (release) {
      await Promise.all(
        [...this.#held].map(async ([slot, h]) => {
          try {
            await this.#o.kv.delete(META_KEYS.shard(slot), { expectedRevision: h.revision });
          } catch (err) {
            this.#o.log('warn', `shard ${slot}: lease not released: ${String(err)}`);
          }
        }),
      );
    }
    this.#held.clear();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#tick = this.#run();
      },
      Math.max(0, delayMs),
    );
  }

  #lease(slot: number, nowMs: number): Uint8Array {
    const lease: ShardLease = {
      v: 1,
      kind: 'lease',
      shard: slot,
      shards: this.#o.shards,
      holder: this.#o.instance,
      expires_ts: nsOf(nowMs + this.#o.ttlMs),
    };
    return encodeMetaRecord(lease);
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#o.log('warn', message);
  }

  #lose(slot: number, why: string): void {
    if (!this.#held.delete(slot)) return;
    this.#losses += 1;
    this.#o.log('warn', `shard ${slot}: lost (${why})`);
    this.#o.onLost(slot);
  }

  async #renew(slot: number, h: Held): Promise<void> {
    const now = Date.now();
    try {
      h.revision = await this.#o.kv.update(META_KEYS.shard(slot), this.#lease(slot, now), h.revision);
      h.expiresAtMs = now + this.#o.ttlMs;
    } catch (err) {
      if (err instanceof KvRevisionMismatchError) this.#lose(slot, 'another instance holds its lease');
      else if (Date.now() >= h.expiresAtMs)
        this.#lose(slot, `lease not renewed before expiry: ${String(err)}`);
      else this.#o.log('warn', `shard ${slot}: lease renewal failed, will retry: ${String(err)}`);
    }
  }

  async #acquire(slot: number, revision: number | undefined): Promise<boolean> {
    const now = Date.now();
    const key = META_KEYS.shard(slot);
    try {
      const rev =
        revision === undefined
          ? await this.#o.kv.create(key, this.#lease(slot, now))
          : await this.#o.kv.update(key, this.#lease(slot, now), revision);
      if (this.#stopped) return false;
      this.#held.set(slot, { revision: rev, expiresAtMs: now + this.#o.ttlMs });
      this.#freeSince.delete(slot);
      this.#acquisitions += 1;
      this.#o.log('info', `shard ${slot}: acquired by ${this.#o.instance}`);
      this.#o.onAcquired(slot);
      return true;
    } catch (err) {
      if (!(err instanceof KvKeyExistsError || err instanceof KvRevisionMismatchError)) {
        this.#o.log('warn', `shard ${slot}: lease not taken: ${String(err)}`);
      }
      return false;
    }
  }

  async #run(): Promise<void> {
    const { shards, ttlMs, kv } = this.#o;
    const period = Math.max(10, Math.floor(ttlMs / 3));
    let wake = Date.now() + period;
    try {
      await Promise.all([...this.#held].map(([slot, h]) => this.#renew(slot, h)));
      const start = slotOf(this.#o.instance, shards);
      for (let i = 0; i < shards && !this.#stopped; i++) {
        const slot = (start + i) % shards;
        if (this.#held.has(slot)) continue;
        let revision: number | undefined;
        let expired = false;
        try {
          const entry = await kv.get(META_KEYS.shard(slot));
          if (entry !== null) {
            revision = entry.revision;
            let lease: ShardLease | undefined;
            try {
              const rec = decodeMetaRecord(entry.value);
              if (rec.kind === 'lease') lease = rec;
              else
                this.#warnOnce(`kind${slot}`, `shard ${slot}: key holds a ${rec.kind} record, not a lease`);
            } catch (err) {
              this.#warnOnce(
                `bad${slot}`,
                `shard ${slot}: unreadable lease, treated as expired: ${String(err)}`,
              );
            }
            if (lease !== undefined) {
              if (lease.shards !== shards) {
                this.#warnOnce(
                  `shards${slot}`,
                  `shard ${slot}: ${lease.holder} runs with ${lease.shards} shards, this instance with ${shards}: every instance needs the same count`,
                );
              }
              const expiresMs = msOf(lease.expires_ts);
              const now = Date.now();
              if (expiresMs > now) {
                this.#freeSince.delete(slot);
                wake = Math.min(wake, expiresMs + 5);
                continue;
              }
            }
            expired = true;
          }
        } catch (err) {
          this.#o.log('warn', `shard ${slot}: lease not read: ${String(err)}`);
          continue;
        }
        const now = Date.now();
        const first = this.#freeSince.get(slot) ?? now;
        this.#freeSince.set(slot, first);
        const defer = this.#held.size === 0 ? 0 : expired ? Math.floor(ttlMs / 5) : ttlMs;
        if (now - first >= defer) await this.#acquire(slot, revision);
        else wake = Math.min(wake, first + defer);
      }
    } catch (err) {
      this.#o.log('error', `shard leases: ${String(err)}`);
    } finally {
      // A renewal must come before expiry whatever else is due.
      for (const h of this.#held.values()) wake = Math.min(wake, h.expiresAtMs - (ttlMs * 2) / 3);
      this.#schedule(wake - Date.now());
    }
  }
}
