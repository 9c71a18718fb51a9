/**
 * Container id → cache entry, for the join's hot path. The ids of events are
 * fresh strings (decoded with their batch), and a Map keyed by such a string
 * hashes it first through a call into the runtime: ~80 ns per lookup in
 * `npm run bench:enrich`. Here the id is hashed in JavaScript (idKey, inlined
 * by the JIT) to a slot of a table of chains (an array a power of two long,
 * at most half full): an array load rather than a Map probe. Entries in the
 * same slot (the same id on several nodes, or a hash collision) are chained;
 * the whole id is compared.
 */
import { toToken } from '@saker/bus';

export interface IndexedContainer {
  readonly id: string;
  node: string;
  /** The next entry under the same key. */
  sameKey: IndexedContainer | undefined;
}

/**
 * A hash of the id as a non-negative integer: FNV-1a steps over its length,
 * its first four and its last four UTF-16 code units (xor-folded, four to a
 * step); all of them for an id shorter than 8. Container ids are random hex
 * (runtime-made hashes), so 8 of their characters spread them as well as all
 * 12 or 64 would, at 8 character reads instead of 12 (−10 ns a lookup). Ids
 * that differ only in the middle share a slot: still found (the whole id is
 * compared), only by walking a longer chain.
 */
export function idKey(id: string): number {
  const n = id.length;
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  if (n < 8) {
    for (let i = 0; i < n; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  } else {
    h = Math.imul(
      h ^ id.charCodeAt(0) ^ (id.charCodeAt(1) << 8) ^ (id.charCodeAt(2) << 16) ^ (id.charCodeAt(3) << 24),
      0x01000193,
    );
    h = Math.imul(
      h ^
        id.charCodeAt(n - 4) ^
        (id.charCodeAt(n - 3) << 8) ^
        (id.charCodeAt(n - 2) << 16) ^
        (id.charCodeAt(n - 1) << 24),
      0x01000193,
    );
  }
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

const MIN_SLOTS = 64;

export class ContainerIndex<T extends IndexedContainer> {
  /** Chains by idKey(id) & mask. */
  #slots: (T | undefined)[] = new Array<T | undefined>(MIN_SLOTS).fill(undefined);
  #mask = MIN_SLOTS - 1;
  #size = 0;

  /** How many entries it holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * The entry of `id`; when several nodes have it, the one of the event's
   * node (read only then), else the newest.
   */
  get(id: string, event: { readonly hostname?: string | undefined }): T | undefined {
    let found: T | undefined;
    for (
      let e: IndexedContainer | undefined = this.#slots[idKey(id) & this.#mask];
      e !== undefined;
      e = e.sameKey
    ) {
      if (e.id !== id) continue;
      if (found !== undefined) return this.#onNode(id, found, event.hostname);
      found = e as T;
    }
    return found;
  }

  add(entry: T): void {
    if (++this.#size > (this.#mask + 1) >>> 1) this.#grow();
    const slot = idKey(entry.id) & this.#mask;
    entry.sameKey = this.#slots[slot];
    this.#slots[slot] = entry;
  }

  remove(entry: T): void {
    const slot = idKey(entry.id) & this.#mask;
    const head = this.#slots[slot];
    if (head === entry) {
      this.#slots[slot] = entry.sameKey as T | undefined;
      this.#size--;
    } else {
      for (let e: IndexedContainer | undefined = head; e !== undefined; e = e.sameKey) {
        if (e.sameKey === entry) {
          e.sameKey = entry.sameKey;
          this.#size--;
          break;
        }
      }
    }
    entry.sameKey = undefined;
  }

  /** Twice the slots; each chain keeps its order (newest first), so "the newest" stays right. */
  #grow(): void {
    const old = this.#slots;
    const slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    const mask = slots.length - 1;
    const tails: (T | undefined)[] = new Array<T | undefined>(slots.length).fill(undefined);
    for (const head of old) {
      for (let e = head; e !== undefined; ) {
        const next = e.sameKey as T | undefined;
        const slot = idKey(e.id) & mask;
        e.sameKey = undefined;
        const tail = tails[slot];
        if (tail === undefined) slots[slot] = e;
        else tail.sameKey = e;
        tails[slot] = e;
        e = next;
      }
    }
    this.#slots = slots;
    this.#mask = mask;
  }

  /** Among the entries of `id` (the first is `first`), the one on the event's node. */
  #onNode(id: string, first: T, hostname: string | undefined): T {
    if (hostname === undefined) return first;
    const token = toToken(hostname);
    for (let e: IndexedContainer | undefined = first; e !== undefined; e = e.sameKey) {
      if (e.id === id && (e.node === hostname || toToken(e.node) === token)) return e as T;
    }
    return first;
  }
}
