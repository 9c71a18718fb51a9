/**
 * The events table: pages from the store (newest first, cursor paging), or a
 * live stream (Server-Sent Events) that can be paused; output fields and tags
 * are buttons that add a filter; a row opens the detail dialog (its id is in
 * the URL, so a detail can be shared). Every alert value is rendered as text.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { type SakerEvent, api, exportUrl, streamUrl } from './api.js';
import type { Nav } from './app.js';
import { Head } from './controls.js';
import { DetailDialog } from './detail.js';
import { FilterBar, timeZone } from './filter-bar.js';
import { fieldFilterKey } from './filters.js';
import { formatTime, visible } from './text.js';
import { useApi } from './use-api.js';

const LIVE_KEEP = 500;

export function EventsView({ nav }: { nav: Nav }) {
  const query = nav.filters.apiQuery();
  const [cursors, setCursors] = useState<readonly string[]>([]);
  const cursor = cursors[cursors.length - 1];
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts from the first page
  useEffect(() => setCursors([]), [query]);
  const pageQuery =
    cursor === undefined ? `${query}&limit=50` : `${query}&limit=50&cursor=${encodeURIComponent(cursor)}`;
  const [live, setLive] = useState(false);
  // Back from live, the page is loaded again: it has the alerts that came meanwhile.
  const page = useApi(() => api.events(pageQuery), `${pageQuery}|${live}`);
  const openId = nav.filters.get('event');
  const tz = timeZone(nav.filters);

  const open = (id: string | undefined) => nav.go('events', nav.filters.set('event', id), id === undefined);

  return (
    <section class="events" aria-label="Events">
      <FilterBar nav={nav} />
      <div class="row toolbar">
        <button type="button" class={live ? 'on' : ''} aria-pressed={live} onClick={() => setLive(!live)}>
          {live ? 'Stop live' : 'Live'}
        </button>
        <a class="button" href={exportUrl(query, 'jsonl')} download="saker-events.jsonl">
          Export JSON lines
        </a>
        <a class="button" href={exportUrl(query, 'csv')} download="saker-events.csv">
          Export CSV
        </a>
        {!live && page.data !== undefined && (
          <span class="count" data-testid="total">
            {page.data.total} events
          </span>
        )}
      </div>
      {live ? (
        <LiveTable query={query} nav={nav} onOpen={open} tz={tz} />
      ) : (
        <>
          {page.error !== undefined && <p class="error">{page.error}</p>}
          {page.data !== undefined && (
            <EventTable events={page.data.events} nav={nav} onOpen={open} tz={tz} />
          )}
          <div class="row pager">
            <button
              type="button"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              ← Newer
            </button>
            <button
              type="button"
              disabled={page.data?.next == null}
              onClick={() => page.data?.next != null && setCursors([...cursors, page.data.next])}
            >
              Older →
            </button>
          </div>
        </>
      )}
      {openId !== undefined && <DetailDialog id={openId} nav={nav} onClose={() => open(undefined)} />}
    </section>
  );
}

function LiveTable({
  query,
  nav,
  onOpen,
  tz,
}: { query: string; nav: Nav; onOpen: (id: string) => void; tz: 'local' | 'UTC' }) {
  const [events, setEvents] = useState<readonly SakerEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState('connecting');
  const held = useRef<SakerEvent[]>([]);
  const pausedRef = useRef(false);
  const [heldCount, setHeldCount] = useState(0);

  useEffect(() => {
    setEvents([]);
    const source = new EventSource(streamUrl(query));
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.addEventListener('alert', (msg) => {
      let ev: SakerEvent;
      try {
        ev = JSON.parse((msg as MessageEvent<string>).data) as SakerEvent;
      } catch {
        return;
      }
      if (pausedRef.current) {
        held.current.push(ev);
        if (held.current.length > LIVE_KEEP) held.current.shift();
        setHeldCount(held.current.length);
      } else setEvents((prev) => [ev, ...prev].slice(0, LIVE_KEEP));
    });
    return () => source.close();
  }, [query]);

  const toggle = () => {
    pausedRef.current = !paused;
    if (paused) {
      const flushed = held.current.reverse();
      held.current = [];
      setHeldCount(0);
      setEvents((prev) => [...flushed, ...prev].slice(0, LIVE_KEEP));
    }
    setPaused(!paused);
  };

  return (
    <>
      <div class="row toolbar">
        <span class="live-state" data-state={paused ? 'paused' : state}>
          {paused ? `paused (${heldCount} new)` : state}
        </span>
        <button type="button" onClick={toggle} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </div>
      <EventTable events={events} nav={nav} onOpen={onOpen} tz={tz} />
    </>
  );
}

interface TableProps {
  readonly events: readonly SakerEvent[];
  readonly nav: Nav;
  readonly onOpen: (id: string) => void;
  readonly tz: 'local' | 'UTC';
}

function EventTable({ events, nav, onOpen, tz }: TableProps) {
  const add = (key: string, value: string) =>
    nav.filter(nav.filters.has(key, value) ? nav.filters : nav.filters.toggle(key, value));
  if (events.length === 0) return <p class="empty">No events match.</p>;
  return (
    <table class="event-table">
      <Head cols={['Time', 'Priority', 'Rule', 'Source', 'Hostname', 'Output']} />
      <tbody>
        {events.map((ev) => (
          <tr key={ev.id} data-id={ev.id}>
            <td class="time">
              <button type="button" class="link" onClick={() => onOpen(ev.id)} title="Details">
                {formatTime(ev.time, tz)}
              </button>
            </td>
            <td>
              <button
                type="button"
                class={`prio prio-${ev.priority.toLowerCase()}`}
                onClick={() => add('priority', ev.priority)}
              >
                {visible(ev.priority)}
              </button>
            </td>
            {(['rule', 'source', 'hostname'] as const).map((k) => (
              <td key={k}>
                <button type="button" class="link" onClick={() => add(k, ev[k])}>
                  {visible(ev[k])}
                </button>
              </td>
            ))}
            <td class="output">
              <div class="output-text">{visible(ev.output)}</div>
              <ul class="fields">
                {Object.entries(ev.output_fields).map(([k, v]) => (
                  <li key={k}>
                    <button type="button" class="field" onClick={() => add(fieldFilterKey(k), String(v))}>
                      <span class="k">{visible(k)}</span>=<span class="v">{visible(v)}</span>
                    </button>
                  </li>
                ))}
                {ev.tags.map((t) => (
                  <li key={`tag:${t}`}>
                    <button type="button" class="tag" onClick={() => add('tag', t)}>
                      #{visible(t)}
                    </button>
                  </li>
                ))}
              </ul>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
