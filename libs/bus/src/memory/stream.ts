/**
 * Streams and durable consumers in memory, with JetStream's delivery rules:
 * explicit ack, redelivery after ack-wait, nak with delay, term, max
 * deliveries, max ack pending, and a position that outlives the feed.
 */
import { ConfigConflictError } from '../errors.js';
import { assertJsName, assertSubjectPattern, subjectMatches } from '../subject-syntax.js';
import type {
  BusHeaders,
  ConsumerOptions,
  ConsumerState,
  PublishAck,
  StreamInfo,
  StreamMessage,
  StreamOptions,
} from '../transport.js';
import type { BrokerMessage } from './broker.js';

/** The header NATS uses for de-duplication; the in-memory bus honours the same one. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

interface Stored {
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: BusHeaders;
  readonly at: number;
}

interface Limits {
  maxAgeMs: number;
  maxMessages: number;
  maxBytes: number;
  duplicateWindowMs: number;
}

function limitsOf(options: StreamOptions): Limits {
  return {
    maxAgeMs: options.maxAgeMs ?? Number.POSITIVE_INFINITY,
    maxMessages: options.maxMessages ?? Number.POSITIVE_INFINITY,
    maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
    duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
  };
}

export class MemoryStream {
  readonly name: string;
  #subjects: readonly string[];
  #limits: Limits;
  #messages: Stored[] = [];
  #bytes = 0;
  #lastSequence = 0;
  readonly #dedup = new Map<string, { sequence: number; at: number }>();
  readonly #consumers = new Map<string, MemoryConsumer>();

  constructor(name: string, subjects: readonly string[], options: StreamOptions) {
    this.name = name;
    for (const s of subjects) assertSubjectPattern('stream.ensure', s);
    this.#subjects = [...subjects];
    this.#limits = limitsOf(options);
  }

  get subjects(): readonly string[] {
    return this.#subjects;
  }

  get lastSequence(): number {
    return this.#lastSequence;
  }

  reconfigure(subjects: readonly string[], options: StreamOptions): void {
    for (const s of subjects) assertSubjectPattern('stream.ensure', s);
    this.#subjects = [...subjects];
    this.#limits = limitsOf(options);
    this.#enforceLimits(Date.now());
  }

  info(): StreamInfo {
    this.#enforceLimits(Date.now());
    return {
      name: this.name,
      subjects: this.#subjects,
      messages: this.#messages.length,
      lastSequence: this.#lastSequence,
    };
  }

  append(message: BrokerMessage): PublishAck {
    const now = Date.now();
    for (const [id, seen] of this.#dedup) {
      if (now - seen.at < this.#limits.duplicateWindowMs) break;
      this.#dedup.delete(id);
    }
    const msgId = message.headers[MSG_ID_HEADER];
    if (msgId !== undefined) {
      const seen = this.#dedup.get(msgId);
      if (seen !== undefined) return { stream: this.name, sequence: seen.sequence, duplicate: true };
    }
    const stored: Stored = {
      sequence: ++this.#lastSequence,
      subject: message.subject,
      data: message.data,
      headers: message.headers,
      at: now,
    };
    this.#messages.push(stored);
    this.#bytes += stored.data.byteLength;
    if (msgId !== undefined) this.#dedup.set(msgId, { sequence: stored.sequence, at: now });
    this.#enforceLimits(now);
    for (const c of this.#consumers.values()) c.pump();
    return { stream: this.name, sequence: stored.sequence, duplicate: false };
  }

  #enforceLimits(now: number): void {
    const l = this.#limits;
    let drop = 0;
    let bytes = this.#bytes;
    for (const m of this.#messages) {
      const count = this.#messages.length - drop;
      if (count > l.maxMessages || bytes > l.maxBytes || now - m.at > l.maxAgeMs) {
        drop++;
        bytes -= m.data.byteLength;
      } else {
        break;
      }
    }
    if (drop > 0) {
      this.#messages = this.#messages.slice(drop);
      this.#bytes = bytes;
    }
  }

  get(sequence: number): Stored | undefined {
    const first = this.#messages[0];
    if (first === undefined) return undefined;
    const m = this.#messages[sequence - first.sequence];
    if (m !== undefined && Date.now() - m.at > this.#limits.maxAgeMs) {
      this.#enforceLimits(Date.now());
      return undefined;
    }
    return m;
  }

  /** The first stored sequence >= `from` whose subject matches `filter`, or undefined. */
  nextMatching(from: number, filter: string | undefined): number | undefined {
    const first = this.#messages[0];
    if (first === undefined) return undefined;
    for (let i = Math.max(0, from - first.sequence); i < this.#messages.length; i++) {
      const m = this.#messages[i];
      if (m !== undefined && (filter === undefined || subjectMatches(filter, m.subject))) return m.sequence;
    }
    return undefined;
  }

  countMatching(from: number, filter: string | undefined): number {
    let n = 0;
    let seq = this.nextMatching(from, filter);
    while (seq !== undefined) {
      n++;
      seq = this.nextMatching(seq + 1, filter);
    }
    return n;
  }

  consumer(name: string, options: ConsumerOptions): MemoryConsumer {
    assertJsName('consumer.ensure', 'consumer', name);
    if (options.filterSubject !== undefined) {
      assertSubjectPattern('consumer.ensure', options.filterSubject);
      const filter = options.filterSubject;
      if (!this.#subjects.some((s) => subjectMatches(s, filter) || subjectMatches(filter, s))) {
        throw new ConfigConflictError(
          'consumer.ensure',
          `${this.name}/${name}`,
          `filter subject ${filter} is not a subset of the stream's subjects`,
        );
      }
    }
    let c = this.#consumers.get(name);
    if (c === undefined) {
      c = new MemoryConsumer(this, name, options);
      this.#consumers.set(name, c);
    } else {
      c.reconfigure(options);
    }
    return c;
  }

  deleteConsumer(name: string): boolean {
    const c = this.#consumers.get(name);
    if (c === undefined) return false;
    c.close();
    this.#consumers.delete(name);
    return true;
  }

  close(): void {
    for (const c of this.#consumers.values()) c.close();
    this.#consumers.clear();
  }
}

interface ConsumerConfig {
  ackWaitMs: number;
  maxDeliver: number;
  filterSubject: string | undefined;
  maxAckPending: number;
}

function consumerConfigOf(options: ConsumerOptions): ConsumerConfig {
  return {
    ackWaitMs: options.ackWaitMs ?? 30_000,
    maxDeliver: options.maxDeliver ?? -1,
    filterSubject: options.filterSubject,
    maxAckPending: options.maxAckPending ?? 1000,
  };
}

/** Where a durable delivers: one per open feed. */
export interface FeedSink {
  /** False when the feed can take no more (it ended). */
  push(message: StreamMessage): boolean;
}

interface Pending {
  count: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A durable consumer's state: it lives in the stream, across feeds. */
export class MemoryConsumer {
  readonly stream: MemoryStream;
  readonly name: string;
  #config: ConsumerConfig;
  /** The next sequence never delivered. */
  #next: number;
  readonly #pending = new Map<number, Pending>();
  /** Deliveries made, redeliveries included (NATS: delivered.consumer_seq). */
  #delivered = 0;
  /** Pending sequences whose redelivery is due, ascending. */
  #due: number[] = [];
  #feeds: FeedSink[] = [];
  #turn = 0;
  #closed = false;
  #pumping = false;

  constructor(stream: MemoryStream, name: string, options: ConsumerOptions) {
    this.stream = stream;
    this.name = name;
    this.#config = consumerConfigOf(options);
    this.#next = options.deliverPolicy === 'new' ? stream.lastSequence + 1 : 1;
  }

  reconfigure(options: ConsumerOptions): void {
    this.#config = consumerConfigOf(options);
  }

  attach(feed: FeedSink): void {
    this.#feeds.push(feed);
    this.pump();
  }

  detach(feed: FeedSink): void {
    this.#feeds = this.#feeds.filter((f) => f !== feed);
  }

  state(): ConsumerState {
    return {
      stream: this.stream.name,
      name: this.name,
      pending: this.stream.countMatching(this.#next, this.#config.filterSubject),
      ackPending: this.#pending.size,
      delivered: this.#delivered,
    };
  }

  /** Delivers what is due, then new messages, while a feed is open and max ack pending allows. */
  pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    try {
      while (this.#feeds.length > 0) {
        let sequence = this.#due.shift();
        if (sequence === undefined) {
          if (this.#pending.size >= this.#config.maxAckPending) break;
          sequence = this.stream.nextMatching(this.#next, this.#config.filterSubject);
          if (sequence === undefined) break;
          this.#next = sequence + 1;
        }
        this.#deliver(sequence);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #deliver(sequence: number): void {
    const stored = this.stream.get(sequence);
    if (stored === undefined) {
      // Gone by a stream limit while it waited: nothing left to deliver.
      this.#forget(sequence);
      return;
    }
    const entry = this.#pending.get(sequence) ?? { count: 0, timer: undefined };
    entry.count++;
    this.#delivered++;
    this.#pending.set(sequence, entry);
    this.#arm(sequence, entry, this.#config.ackWaitMs);

    const deliveryCount = entry.count;
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled || this.#closed) return;
      settled = true;
      action();
    };
    const message: StreamMessage = {
      subject: stored.subject,
      data: stored.data,
      headers: stored.headers,
      sequence,
      deliveryCount,
      redelivered: deliveryCount > 1,
      ack: () => settle(() => this.#forget(sequence)),
      term: () => settle(() => this.#forget(sequence)),
      nak: (delayMs = 0) => settle(() => this.#nak(sequence, delayMs)),
      working: () => {
        if (settled || this.#closed) return;
        const p = this.#pending.get(sequence);
        if (p !== undefined && p.count === deliveryCount) this.#arm(sequence, p, this.#config.ackWaitMs);
      },
    };
    // Round-robin over open feeds; a feed that ended is dropped from the list.
    for (let tries = this.#feeds.length; tries > 0; tries--) {
      const feed = this.#feeds[this.#turn++ % this.#feeds.length];
      if (feed?.push(message)) return;
      if (feed !== undefined) this.detach(feed);
      if (this.#feeds.length === 0) return; // stays pending: redelivered after ack-wait
    }
  }

  /** Redeliver `sequence` after `ms`, unless settled first. */
  #arm(sequence: number, entry: Pending, ms: number): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.#expire(sequence);
    }, ms);
  }

  #expire(sequence: number): void {
    const entry = this.#pending.get(sequence);
    if (entry === undefined) return;
    const max = this.#config.maxDeliver;
    if (max > 0 && entry.count >= max) {
      // Delivered as often as allowed: the consumer gives up on it, as JetStream does.
      this.#forget(sequence);
      return;
    }
    this.#markDue(sequence);
    this.pump();
  }

  #nak(sequence: number, delayMs: number): void {
    const entry = this.#pending.get(sequence);
    if (entry === undefined) return;
    if (delayMs > 0) {
      this.#arm(sequence, entry, delayMs);
      return;
    }
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#expire(sequence);
  }

  #markDue(sequence: number): void {
    if (this.#due.includes(sequence)) return;
    let i = this.#due.length;
    while (i > 0 && (this.#due[i - 1] ?? 0) > sequence) i--;
    this.#due.splice(i, 0, sequence);
  }

  #forget(sequence: number): void {
    const entry = this.#pending.get(sequence);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    this.#pending.delete(sequence);
    this.#due = this.#due.filter((s) => s !== sequence);
    this.pump();
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#pending.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
    }
    this.#pending.clear();
    this.#due = [];
    this.#feeds = [];
  }
}
