/**
 * Joins a batch of events through a MetadataProvider, in place. Joins that
 * answer at once (cache hits) cost no promise and no microtask; only events
 * that wait for their metadata make the batch wait, and they all wait
 * together, not one after the other.
 */
import type { ContainerInfo, PodInfo, SakerEvent, SyscallEvent } from '@saker/events';
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

/** What a cached container gives a joined event: both frozen and shared. */
export interface JoinedRecord {
  readonly container: ContainerInfo;
  readonly k8s: PodInfo | undefined;
}

/**
 * The event with the entry's container and pod: one shallow copy. Written out
 * field by field rather than spread: a spread that then overrides `container`
 * takes V8's slow path (~1.5 µs, and objects of many shapes); this literal is
 * one object of one shape (~20 ns), which the field extractors also like.
 * The type lists every field of SyscallEvent, so a new one cannot be missed.
 */
export function joined(e: SyscallEvent, entry: JoinedRecord): SyscallEvent {
  const k8s = entry.k8s ?? e.k8s;
  if (e.container === entry.container && e.k8s === k8s) return e;
  const copy: { readonly [K in keyof Required<SyscallEvent>]: SyscallEvent[K] } = {
    source: e.source,
    ts: e.ts,
    num: e.num,
    cpu: e.cpu,
    hostname: e.hostname,
    type: e.type,
    dir: e.dir,
    res: e.res,
    args: e.args,
    rawargs: e.rawargs,
    proc: e.proc,
    ancestors: e.ancestors,
    user: e.user,
    group: e.group,
    fd: e.fd,
    container: entry.container,
    k8s,
  };
  return copy;
}

type Joinable = { -readonly [K in 'container' | 'k8s']: SyscallEvent[K] };

/** The entry's container and pod written into an event the caller owns: two stores, no copy. */
export function joinInto(e: SyscallEvent, entry: JoinedRecord): SyscallEvent {
  const w = e as Joinable;
  w.container = entry.container;
  if (entry.k8s !== undefined) w.k8s = entry.k8s;
  return e;
}
