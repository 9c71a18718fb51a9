/**
 * SAKER_ALERTS → the store, through the UI's own durable consumer
 * (`saker-ui`): its position lives in the server, so a restarted UI resumes
 * where it was and nothing is lost (a redelivered alert is stored once: its
 * id is its stream sequence). Messages are stored in batches (one SQLite
 * transaction each) and acked only after the commit. A message that is not
 * a valid Falco alert is counted, logged (rate-limited) and terminated: it
 * never comes back and never stops the feed.
 */
import {
  type Bus,
  type DurableConsumer,
  NoStreamError,
  STREAMS,
  type StreamMessage,
  StreamNotFoundError,
} from '@saker/bus';
import type { Logger } from '@saker/runtime';
import { parseAlert } from '@saker/sinks';
import type { Counter } from '@saker/telemetry';
import type { StoredAlert } from './event.js';
import type { AlertStore } from './store.js';

export const UI_DURABLE = 'saker-ui';

export interface IngestOptions {
  readonly bus: Bus;
  /** Where batches go: the SQLite store, or nothing kept (the elasticsearch backend feeds only the live stream). */
  readonly store: Pick<AlertStore, 'add'>;
  readonly logger: Logger;
  readonly counters: { readonly stored: Counter; readonly invalid: Counter };
  /** Told about each batch once it is stored (the live stream). */
  readonly onStored: (batch: readonly StoredAlert[]) => void;
  /**
   * Most alerts in one transaction (and the fetch size). Default 4000: a
   * batch's count updates and text segment cost about the same whatever its
   * size, so bigger batches cost less per alert; the linger bounds the wait.
   */
  readonly batchMax?: number;
  /** A batch is stored at the latest this long after its first alert. Default 50 ms. */
  readonly lingerMs?: number;
}

/**
 * Epoch ms of an RFC 3339 time with up to 9 fractional digits (checked by
 * parseAlert): Date.parse reads at most 3, so the others are cut.
 */
export function timeMs(time: string): number {
  // The first dot is the fraction's: the date and the time of day hold none.
  const dot = time.indexOf('.');
  if (dot === -1) return Date.parse(time);
  let end = dot + 1;
  for (let c = time.charCodeAt(end); c >= 48 && c <= 57; c = time.charCodeAt(++end));
  return Date.parse(end - dot <= 4 ? time : `${time.slice(0, dot + 4)}${time.slice(end)}`);
}

export class Ingest {
  readonly #o: IngestOptions;
  #consumer: DurableConsumer | undefined;
  #loop: Promise<void> = Promise.resolve();
  #stopping = false;
  #invalid = 0;
  #lastInvalidLog = 0;

  constructor(options: IngestOptions) {
    this.#o = options;
  }

  get invalid(): number {
    return this.#invalid;
  }

  async start(): Promise<void> {
    const batchMax = this.#o.batchMax ?? 4000;
    const open = () =>
      this.#o.bus.consumer(STREAMS.alerts.name, UI_DURABLE, {
        filterSubject: STREAMS.alerts.subjects[0],
        ackWaitMs: 60_000,
        maxAckPending: batchMax * 4,
        prefetch: batchMax,
      });
    try {
      this.#consumer = await open();
    } catch (err) {
      if (!(err instanceof StreamNotFoundError || err instanceof NoStreamError)) throw err;
      // Like the engine and the sinks: created with default limits when absent, never altered.
      await this.#o.bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      this.#consumer = await open();
    }
    const consumer = this.#consumer;
    this.#loop = this.#run(consumer, batchMax).catch((err: unknown) => {
      if (!this.#stopping)
        this.#o.logger.error(`alerts feed failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async #run(consumer: DurableConsumer, batchMax: number): Promise<void> {
    const linger = this.#o.lingerMs ?? 50;
    // The messages and their alerts, in two arrays (no pair object per alert).
    let msgs: StreamMessage[] = [];
    let alerts: StoredAlert[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (msgs.length === 0) return;
      const taken = msgs;
      const stored = alerts;
      msgs = [];
      alerts = [];
      try {
        this.#o.store.add(stored);
      } catch (err) {
        // The store refused the batch (disk full, I/O): the alerts come again after a delay.
        this.#o.logger.error(
          `storing ${taken.length} alerts failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        for (const m of taken) m.nak(5000);
        return;
      }
      for (const m of taken) m.ack();
      this.#o.counters.stored.inc(undefined, taken.length);
      this.#o.onStored(stored);
    };
    for await (const msg of consumer) {
      if (this.#stopping) {
        msg.nak();
        continue;
      }
      let alert: StoredAlert;
      try {
        const parsed = parseAlert(msg.data);
        alert = { seq: msg.sequence, ts: timeMs(parsed.alert.time), alert: parsed.alert };
      } catch (err) {
        this.#invalid++;
        this.#o.counters.invalid.inc();
        const now = Date.now();
        if (now - this.#lastInvalidLog > 10_000) {
          this.#lastInvalidLog = now;
          this.#o.logger.warn(
            `skipped an invalid alert (stream sequence ${msg.sequence}; ${this.#invalid} so far): ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        msg.term();
        continue;
      }
      msgs.push(msg);
      alerts.push(alert);
      if (msgs.length >= batchMax) flush();
      else timer ??= setTimeout(flush, linger);
    }
    flush();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#consumer?.stop();
    await this.#loop;
  }
}
