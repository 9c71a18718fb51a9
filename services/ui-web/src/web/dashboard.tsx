/**
 * falcosidekick-ui's dashboard from server-side counts and timelines: pies by
 * source, priority and tag, a bar chart of rules, timelines by priority and
 * source. Clicking a chart adds that value as a filter.
 */
import { api } from './api.js';
import type { Nav } from './app.js';
import { CountChart, TimelineChart } from './charts.js';
import { FilterBar, timeZone } from './filter-bar.js';
import { formatTime } from './text.js';
import { useApi } from './use-api.js';

/** The count charts: the API's `by`, the filter key a click adds, the chart kind. */
const COUNTS = [
  { by: 'source', kind: 'pie' },
  { by: 'priority', kind: 'pie' },
  { by: 'tag', kind: 'pie' },
  { by: 'rule', kind: 'bar' },
] as const;
const TIMELINES = ['priority', 'source'] as const;
const TOP = 15;

export function Dashboard({ nav }: { nav: Nav }) {
  const query = nav.filters.apiQuery();
  const load = () =>
    Promise.all([
      Promise.all(COUNTS.map((c) => api.counts(query, c.by))),
      Promise.all(TIMELINES.map((by) => api.timeline(query, by))),
    ]);
  const { data, error } = useApi(load, query);
  const pick = (key: string) => (value: string) => nav.filter(nav.filters.toggle(key, value));
  const tz = timeZone(nav.filters);
  const total = data?.[0][0]?.buckets.reduce((n, b) => n + b.count, 0);

  return (
    <section class="dashboard" aria-label="Dashboard">
      <FilterBar nav={nav} />
      {error !== undefined && <p class="error">{error}</p>}
      {data !== undefined && (
        <>
          <p class="total" data-testid="total">
            {total} events{' '}
            <a
              href={`events?${nav.filters.toString()}`}
              onClick={(e) => {
                e.preventDefault();
                nav.go('events', nav.filters);
              }}
            >
              show events
            </a>
          </p>
          <div class="grid">
            {COUNTS.map((c, i) => (
              <figure key={c.by} data-chart={c.by} class={c.kind === 'bar' ? 'wide' : ''}>
                <figcaption>By {c.by}</figcaption>
                <CountChart
                  kind={c.kind}
                  title={`By ${c.by}`}
                  data={data[0][i]?.buckets.slice(0, TOP) ?? []}
                  onPick={pick(c.by)}
                  theme={nav.theme}
                />
              </figure>
            ))}
            {TIMELINES.map((by, i) => {
              const t = data[1][i];
              return (
                t !== undefined && (
                  <figure key={by} data-chart={`timeline-${by}`} class="wide">
                    <figcaption>Timeline by {by}</figcaption>
                    <TimelineChart
                      title={`Timeline by ${by}`}
                      labels={
                        t.series[0]?.counts.map((_, j) => formatTime(t.from + j * t.step, tz).slice(5, 16)) ??
                        []
                      }
                      series={t.series}
                      onPick={pick(by)}
                      theme={nav.theme}
                    />
                  </figure>
                )
              );
            })}
          </div>
        </>
      )}
    </section>
  );
}
