/**
 * What the API reads alerts through: the SQLite store (store.ts), or an
 * Elasticsearch/OpenSearch index pattern (store-es.ts) when `ui.store.backend`
 * says so. Ids and cursors are opaque text each backend checks itself (a
 * FilterError naming the parameter when they are not its own); each method
 * may answer at once or later.
 */
import type { UiEvent } from './event.js';
import { FilterError, type Filters } from './filters.js';
import type { AlertStore, CountBy, Page, StoreInfo, Timeline, TimelineBy } from './store.js';

/** The backend the reader asks (Elasticsearch) failed or refused: the API answers 502 with this message. */
export class ReaderBackendError extends Error {
  override readonly name: string = 'ReaderBackendError';
}

/** A page of an export: the events and where the next one starts (null: the last). */
export interface Batch {
  readonly events: UiEvent[];
  readonly next: string | null;
}

export interface AlertReader {
  /** Newest first; `cursor` is the `next` of the previous page. */
  page(f: Filters, limit: number, cursor: string | null): Page | Promise<Page>;
  /** Like page, without the total (export reads every page of it). */
  batch(f: Filters, limit: number, cursor: string | null): Batch | Promise<Batch>;
  get(id: string): UiEvent | null | Promise<UiEvent | null>;
  counts(
    f: Filters,
    by: CountBy,
  ): { key: string; count: number }[] | Promise<{ key: string; count: number }[]>;
  timeline(f: Filters, by: TimelineBy, points: number): Timeline | Promise<Timeline>;
  info(): StoreInfo | Promise<unknown>;
}

/** An id or cursor of the SQLite store: a stream sequence. */
function sequenceOf(param: string, text: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new FilterError(param, `expected an alert id, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** The SQLite store as an AlertReader. */
export function sqlReader(store: AlertStore): AlertReader {
  const cursorOf = (c: string | null): number | null => (c === null ? null : sequenceOf('cursor', c));
  return {
    page: (f, limit, cursor) => store.page(f, limit, cursorOf(cursor)),
    batch: (f, limit, cursor) => {
      const events = store.select(f, limit, cursorOf(cursor));
      return { events, next: events.length < limit ? null : (events[events.length - 1]?.id ?? null) };
    },
    get: (id) => store.get(sequenceOf('id', id)),
    counts: (f, by) => store.counts(f, by),
    timeline: (f, by, points) => store.timeline(f, by, points),
    info: () => store.info(),
  };
}
