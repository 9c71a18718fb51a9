/**
 * The metadata cache's recency order: an intrusive doubly linked list with a
 * second chance (the CLOCK approximation of LRU). The join only sets `used`
 * on an entry, one store: moving the entry to the front on every event cost
 * ~120 ns per event in `npm run bench:enrich` (writes to three entries).
 * When an entry reaches the old end (eviction past maxEntries, or the TTL
 * sweep) it goes back to the front if it was used since it was put there,
 * and is dropped otherwise. So the entry dropped is one not used since it was
 * last put in front: the least recently used, as far as the bit tells, and
 * "not used for ttl" is known to within one sweep interval.
 */

/** What an entry carries to be on the list. */
export interface LruNode {
  /** Towards the front (most recently put there). */
  newer: LruNode | undefined;
  /** Towards the old end. */
  older: LruNode | undefined;
  /** When it was last put in front (ms). */
  listedAt: number;
  /** Set by a use; cleared when it is put in front. */
  used: boolean;
  /** Whether it is on a list. */
  listed: boolean;
}

export class LruList<T extends LruNode> {
  #newest: T | undefined;
  #oldest: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The entry put in front longest ago. */
  oldest(): T | undefined {
    return this.#oldest;
  }

  /** Puts `node` in front (adding it when it is not listed) and clears its use. */
  front(node: T, now: number): void {
    node.listedAt = now;
    node.used = false;
    if (this.#newest === node) return;
    if (node.listed) this.#unlink(node);
    else {
      node.listed = true;
      this.#size++;
    }
    node.older = this.#newest;
    node.newer = undefined;
    if (this.#newest !== undefined) this.#newest.newer = node;
    this.#newest = node;
    if (this.#oldest === undefined) this.#oldest = node;
  }

  remove(node: T): void {
    if (!node.listed) return;
    this.#unlink(node);
    node.listed = false;
    node.newer = undefined;
    node.older = undefined;
    this.#size--;
  }

  /**
   * Gives the entries at the old end their second chance: while the oldest
   * satisfies `stale(oldest)`, it goes back in front when it was used, or is
   * handed to `drop` (which must remove it) when it was not.
   */
  age(now: number, stale: (node: T) => boolean, drop: (node: T) => void): void {
    for (let n = this.#oldest; n !== undefined && stale(n); n = this.#oldest) {
      if (n.used) this.front(n, now);
      else drop(n);
    }
  }

  #unlink(node: T): void {
    const newer = node.newer as T | undefined;
    const older = node.older as T | undefined;
    if (newer === undefined) this.#newest = older;
    else newer.older = older;
    if (older === undefined) this.#oldest = newer;
    else older.newer = newer;
  }
}
