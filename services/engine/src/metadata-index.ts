/**
 * Container id → cache entry, for the join's hot path. The ids of events are
 * fresh strings (decoded with their batch), and a Map keyed by such a string
 * hashes it first through a call into the runtime: ~80 ns per lookup in
 * `npm run bench:enrich`. Here the id is hashed in JavaScript (FNV-1a over
 * its characters, inlined by the JIT) into a small integer key, which the Map
 * hashes inline: ~40 ns including the check of the whole id. Entries under
 * the same key (the same id on several nodes, or a hash collision) are
 * chained.
 */
import { toToken } from '@saker/bus';

export interface IndexedContainer {
  readonly id: string;
  node: string;
  /** The next entry under the same key. */
  sameKey: IndexedContainer | undefined;
}

/** FNV-1a of the id's UTF-16 code units, as a non-negative small integer. */
export function idKey(id: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

export class ContainerIndex<T extends IndexedContainer> {
  readonly #byKey = new Map<number, T>();

  /**
   * The entry of `id`; when several nodes have it, the one of the event's
   * node (read only then), else the newest.
   */
  get(id: string, event: { readonly hostname?: string | undefined }): T | undefined {
    let found: T | undefined;
    for (let e: IndexedContainer | undefined = this.#byKey.get(idKey(id)); e !== undefined; e = e.sameKey) {
      if (e.id !== id) continue;
      if (found !== undefined) return this.#onNode(id, found, event.hostname);
      found = e as T;
    }
    return found;
  }

  add(entry: T): void {
    const key = idKey(entry.id);
    entry.sameKey = this.#byKey.get(key);
    this.#byKey.set(key, entry);
  }

  remove(entry: T): void {
    const key = idKey(entry.id);
    const head = this.#byKey.get(key);
    if (head === entry) {
      const next = entry.sameKey as T | undefined;
      if (next === undefined) this.#byKey.delete(key);
      else this.#byKey.set(key, next);
    } else {
      for (let e: IndexedContainer | undefined = head; e !== undefined; e = e.sameKey) {
        if (e.sameKey === entry) {
          e.sameKey = entry.sameKey;
          break;
        }
      }
    }
    entry.sameKey = undefined;
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
