/**
 * The in-memory "server": what nats-server is to the NATS transport. Clients
 * (MemoryBus) connect to one broker; closing a client leaves the broker, its
 * buckets, streams and durables as they are, so a second client can resume.
 */
import { ConfigConflictError } from '../errors.js';
import { assertJsName, subjectMatches } from '../subject-syntax.js';
import type { BusHeaders, KvOptions, StreamOptions } from '../transport.js';
import { MemoryBucket } from './kv.js';
import { MemoryStream } from './stream.js';

/** A message inside the broker. `data` is the broker's own copy. */
export interface BrokerMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: BusHeaders;
  readonly reply: string | undefined;
}

/** A core subscription as the broker sees it. */
export interface BrokerSubscriber {
  readonly pattern: string;
  readonly queue: string | undefined;
  /** False when the subscriber could not take it (ended or full). */
  deliver(message: BrokerMessage): boolean;
}

const DEFAULT_SUBSCRIPTION_CAPACITY = 65_536;

export interface MemoryBrokerOptions {
  /** Messages a subscription holds unread before new ones are dropped. Default 65536. */
  subscriptionCapacity?: number;
}

export class MemoryBroker implements AsyncDisposable {
  readonly subscriptionCapacity: number;
  readonly #subscribers = new Set<BrokerSubscriber>();
  /** Round-robin position per queue group name. */
  readonly #queueTurns = new Map<string, number>();
  readonly #buckets = new Map<string, MemoryBucket>();
  readonly #streams = new Map<string, MemoryStream>();
  #closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    this.subscriptionCapacity = options.subscriptionCapacity ?? DEFAULT_SUBSCRIPTION_CAPACITY;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  addSubscriber(sub: BrokerSubscriber): void {
    this.#subscribers.add(sub);
  }

  removeSubscriber(sub: BrokerSubscriber): void {
    this.#subscribers.delete(sub);
  }

  /**
   * Delivers to every matching plain subscriber and to one member of each
   * matching queue group, then captures into the stream that owns the subject.
   * Returns how many subscribers it reached (0 means "no responders").
   */
  publish(message: BrokerMessage): number {
    const reached = this.publishCoreOnly(message);
    this.streamFor(message.subject)?.append(message);
    return reached;
  }

  /** Delivers to core subscribers only (the stream already has it). */
  publishCoreOnly(message: BrokerMessage): number {
    let reached = 0;
    const groups = new Map<string, BrokerSubscriber[]>();
    for (const sub of this.#subscribers) {
      if (!subjectMatches(sub.pattern, message.subject)) continue;
      if (sub.queue === undefined) {
        if (sub.deliver(message)) reached++;
        continue;
      }
      const members = groups.get(sub.queue);
      if (members === undefined) groups.set(sub.queue, [sub]);
      else members.push(sub);
    }
    for (const [queue, members] of groups) {
      const turn = this.#queueTurns.get(queue) ?? 0;
      this.#queueTurns.set(queue, turn + 1);
      // Start at this turn's member; if it cannot take the message, try the next.
      for (let i = 0; i < members.length; i++) {
        const member = members[(turn + i) % members.length];
        if (member?.deliver(message)) {
          reached++;
          break;
        }
      }
    }
    return reached;
  }

  /** The stream that captures `subject`, if any. */
  streamFor(subject: string): MemoryStream | undefined {
    for (const stream of this.#streams.values()) {
      if (stream.subjects.some((p) => subjectMatches(p, subject))) return stream;
    }
    return undefined;
  }

  bucket(name: string, options: KvOptions): MemoryBucket {
    let bucket = this.#buckets.get(name);
    if (bucket === undefined) {
      bucket = new MemoryBucket(name, options);
      this.#buckets.set(name, bucket);
    }
    return bucket;
  }

  getStream(name: string): MemoryStream | undefined {
    return this.#streams.get(name);
  }

  /** Creates the stream or updates it; ConfigConflictError when its subjects overlap another stream's. */
  ensureStream(name: string, subjects: readonly string[], options: StreamOptions): MemoryStream {
    assertJsName('stream.ensure', 'stream', name);
    for (const other of this.#streams.values()) {
      if (other.name === name) continue;
      for (const mine of subjects) {
        if (other.subjects.some((theirs) => subjectsOverlap(mine, theirs))) {
          throw new ConfigConflictError(
            'stream.ensure',
            name,
            `subjects overlap with stream ${other.name} (${mine})`,
          );
        }
      }
    }
    const existing = this.#streams.get(name);
    if (existing !== undefined) {
      existing.reconfigure(subjects, options);
      return existing;
    }
    const stream = new MemoryStream(name, subjects, options);
    this.#streams.set(name, stream);
    return stream;
  }

  /** Stops every timer (ack waits, nak delays) and forgets all state. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams.values()) stream.close();
    for (const bucket of this.#buckets.values()) bucket.close();
    this.#subscribers.clear();
    this.#streams.clear();
    this.#buckets.clear();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Whether some subject could match both patterns. */
function subjectsOverlap(a: string, b: string): boolean {
  const at = a.split('.');
  const bt = b.split('.');
  for (let i = 0; i < Math.max(at.length, bt.length); i++) {
    const x = at[i];
    const y = bt[i];
    if (x === '>' || y === '>') return x !== undefined && y !== undefined;
    if (x === undefined || y === undefined) return false;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
  return true;
}
