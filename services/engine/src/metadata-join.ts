/**
 * Joins a batch of events through a MetadataProvider, in place. Joins that
 * answer at once (cache hits) cost no promise and no microtask; only events
 * that wait for their metadata make the batch wait, and they all wait
 * together, not one after the other.
 */
import type { SakerEvent } from '@saker/events';
import type { MetadataProvider } from './metadata.js';

/**
 * Replaces each event of `events` (which the caller owns: they may be written
 * into, see MetadataProvider.joinOwned) by its joined form. Returns undefined when
 * every join answered at once, else a promise settled when the waiting ones
 * have. A join that throws or rejects leaves its event as it was and is
 * reported to `failed`; this never rejects.
 */
export function joinBatch(
  provider: MetadataProvider,
  events: SakerEvent[],
  failed: (err: unknown) => void,
): Promise<void> | undefined {
  let waiting: Promise<void>[] | undefined;
  // The events are the caller's own (a decoded batch): joining into them saves a copy each.
  const owned = provider.joinOwned !== undefined;
  // Runs of events that join at once go through joinOwnedRun in one call; the
  // others (misses, which may wait) one by one. Should a run throw, the rest of
  // the batch goes one by one, so that the failing event is found and reported.
  let runs = owned && provider.joinOwnedRun !== undefined;
  let i = 0;
  while (i < events.length) {
    if (runs) {
      try {
        i = provider.joinOwnedRun?.(events, i) ?? i;
      } catch {
        runs = false;
      }
      if (i >= events.length) break;
    }
    const event = events[i] as SakerEvent;
    const at = i++;
    let joined: SakerEvent | Promise<SakerEvent>;
    try {
      joined = owned ? (provider.joinOwned?.(event) ?? event) : provider.join(event);
    } catch (err) {
      failed(err);
      continue;
    }
    if (joined === event) continue;
    if (joined instanceof Promise) {
      waiting ??= [];
      waiting.push(
        joined.then(
          (e) => {
            events[at] = e;
          },
          (err: unknown) => failed(err),
        ),
      );
    } else {
      events[at] = joined;
    }
  }
  return waiting === undefined ? undefined : Promise.all(waiting).then(() => undefined);
}
