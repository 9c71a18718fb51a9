/** Publishing events the way a sensor does: EventBatcher + busBatchSender. */
import { type BatchCodec, type Bus, EventBatcher, busBatchSender } from '@saker/bus';
import type { SakerEvent } from '@saker/events';

export interface PublishResult {
  readonly published: number;
  readonly dropped: number;
  readonly batches: number;
}

/**
 * Publishes every event in batches of `batchSize`. The batcher refuses events
 * while all its send slots are busy; this waits for a slot instead of losing
 * them, so `dropped` stays 0 unless a send fails.
 */
export async function publishEvents(
  bus: Bus,
  subject: string,
  events: readonly SakerEvent[],
  options: { batchSize?: number; maxInFlight?: number; codec?: BatchCodec } = {},
): Promise<PublishResult> {
  const batcher = new EventBatcher({
    send: busBatchSender(bus, subject),
    ...(options.codec === undefined ? {} : { codec: options.codec }),
    maxEvents: options.batchSize ?? 512,
    maxInFlight: options.maxInFlight ?? 4,
    flushIntervalMs: 20,
  });
  let refused = 0;
  for (const e of events) {
    while (!batcher.add(e)) {
      refused++;
      await batcher.flush();
    }
  }
  await batcher.close();
  const s = batcher.stats();
  return { published: s.published, dropped: s.dropped - refused, batches: s.batches };
}
