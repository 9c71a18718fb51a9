import type { KeyObject } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { BUCKETS, type Bus, KvRevisionMismatchError, type KvStore, type KvWatch } from '@saker/bus';
import {
  type LoadResult,
  RULESET_KEY,
  type RulesetDocument,
  decodeRulesetDocument,
  encodeRulesetDocument,
  loadRulesetDocument,
  signRulesetDocument,
} from '@saker/rules';
import { RpcError } from './errors.js';
import type { RulesetRevision } from './gen/saker/v1/RulesetRevision.js';

/**
 * The ruleset in KV: bucket `saker_rules`, key `ruleset.current` (RULESET_KEY),
 * one JSON RulesetDocument. Its revision is the KV revision of the write, so
 * revisions only ever increase. Writes are single KV operations, so a reader
 * (an engine) sees the old document or the new one, never a mix.
 */

/**
 * Largest encoded document written. NATS's default max_payload is 1 MiB; the
 * KV write carries a few headers besides the document.
 */
const MAX_DOCUMENT_BYTES = 1024 * 1024 - 8 * 1024;

/** How many compiled revisions a store keeps (ListRules, DescribeRule and watches of recent ones). */
const COMPILED_CACHE = 4;

export interface StoredRuleset {
  readonly revision: number;
  readonly doc: RulesetDocument;
}

export interface CompiledRuleset extends StoredRuleset {
  readonly load: LoadResult;
  readonly summary: RulesetRevision;
}

export function summarize(revision: number, doc: RulesetDocument, load: LoadResult): RulesetRevision {
  return {
    revision,
    updatedAt: doc.updatedAt,
    author: doc.author ?? '',
    comment: doc.comment ?? '',
    ruleCount: load.ruleset.rules.length,
    enabledRuleCount: load.ruleset.rules.filter((r) => r.enabled).length,
    fileCount: doc.files.length,
    selectionCount: doc.selections.length,
  };
}

function encodeChecked(doc: RulesetDocument): Uint8Array {
  const data = encodeRulesetDocument(doc);
  if (data.byteLength > MAX_DOCUMENT_BYTES) {
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `files: the ruleset encodes to ${data.byteLength} bytes; the rules bucket takes at most ${MAX_DOCUMENT_BYTES}`,
    );
  }
  return data;
}

export class RulesetStore {
  readonly #kv: KvStore;
  readonly #signingKey: KeyObject | null;
  readonly #compiled = new Map<number, CompiledRuleset>();

  private constructor(kv: KvStore, signingKey: KeyObject | null) {
    this.#kv = kv;
    this.#signingKey = signingKey;
  }

  /**
   * Opens (creating if needed) the `saker_rules` bucket with the bus's
   * defaults, as the engines do. With `signingKey`, every document written is
   * signed (libs/rules ruleset-signing.ts).
   */
  static async open(bus: Bus, signingKey: KeyObject | null = null): Promise<RulesetStore> {
    return new RulesetStore(await bus.kv(BUCKETS.rules), signingKey);
  }

  /** The bytes to write for `doc`: signed when the store has a key, size-checked. */
  seal(doc: RulesetDocument): Uint8Array {
    return encodeChecked(this.#signingKey === null ? doc : signRulesetDocument(doc, this.#signingKey));
  }

  /** The current ruleset, or null before the first put (or after the key was deleted). */
  async current(): Promise<StoredRuleset | null> {
    const entry = await this.#kv.get(RULESET_KEY);
    if (entry === null) return null;
    return { revision: entry.revision, doc: decodeRulesetDocument(entry.value) };
  }

  /** Loads a stored ruleset once per revision; recent revisions are kept. */
  compile(stored: StoredRuleset): CompiledRuleset {
    const hit = this.#compiled.get(stored.revision);
    if (hit) return hit;
    const load = loadRulesetDocument(stored.doc);
    const compiled = { ...stored, load, summary: summarize(stored.revision, stored.doc, load) };
    this.#compiled.set(stored.revision, compiled);
    for (const rev of this.#compiled.keys()) {
      if (this.#compiled.size <= COMPILED_CACHE) break;
      this.#compiled.delete(rev);
    }
    return compiled;
  }

  /**
   * Writes a document; resolves with its revision. `expected` undefined:
   * unconditional; 0: only when there is no ruleset; n: only when the
   * ruleset is at revision n (KvRevisionMismatchError otherwise).
   */
  async write(data: Uint8Array, expected: number | undefined): Promise<number> {
    if (expected === undefined) return this.#kv.put(RULESET_KEY, data);
    if (expected === 0) return this.#kv.create(RULESET_KEY, data);
    return this.#kv.update(RULESET_KEY, data, expected);
  }

  /**
   * Read-modify-write with optimistic concurrency: reads the current
   * ruleset, lets `change` build the next document, and writes it with KV
   * update at the revision it read. When another writer got in between, it
   * reads again and retries, up to `retries` attempts. With `expected`, the
   * caller pinned the revision: a different one is ABORTED, never retried.
   */
  async modify<T>(
    change: (current: CompiledRuleset) => { doc: RulesetDocument; result: T },
    options: { expected: number | undefined; retries: number },
  ): Promise<{ revision: number; doc: RulesetDocument; result: T }> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.current();
      if (stored === null) {
        throw new RpcError(status.FAILED_PRECONDITION, 'there is no ruleset yet: put one first');
      }
      if (options.expected !== undefined && stored.revision !== options.expected) {
        throw new RpcError(
          status.ABORTED,
          `expected_revision: the ruleset is at revision ${stored.revision}, not ${options.expected}`,
        );
      }
      const { doc, result } = change(this.compile(stored));
      try {
        const revision = await this.#kv.update(RULESET_KEY, this.seal(doc), stored.revision);
        return { revision, doc, result };
      } catch (err) {
        if (!(err instanceof KvRevisionMismatchError) || options.expected !== undefined) throw err;
        if (attempt >= options.retries) {
          throw new RpcError(
            status.ABORTED,
            `the ruleset kept changing under ${attempt} attempts to write it; retry later`,
            { cause: err },
          );
        }
        // Jittered pause so racing writers do not collide again in lockstep.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  watch(): Promise<KvWatch> {
    return this.#kv.watch({ key: RULESET_KEY });
  }
}
