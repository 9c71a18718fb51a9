/**
 * The health view: events/s and drops per sensor (its node), each engine's
 * ruleset revision and lag, deliveries and failures per output and per
 * sinks instance (stale ones marked), and dead letters with a redeliver
 * button for admins.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  type EngineHealth,
  type OutputHealth,
  type SensorHealth,
  type SinkOutputHealth,
  api,
} from './api.js';
import { type Nav, describeError } from './app.js';
import { Head } from './controls.js';
import { visible } from './text.js';
import { useApi } from './use-api.js';

/** How a column's value reads: as it is, unless the table says otherwise. */
type Formats<T> = { readonly [K in keyof T]?: (value: T[K]) => string };

function Table<T extends object>({
  rows,
  cols,
  label,
  format = {},
  action,
}: {
  rows: readonly T[];
  cols: readonly (keyof T & string)[];
  label: string;
  format?: Formats<T>;
  action?: (row: T) => preact.ComponentChild;
}) {
  if (rows.length === 0) return <p class="empty">None.</p>;
  const cell = <K extends keyof T>(r: T, c: K): string => {
    const f = format[c] as ((v: T[K]) => string) | undefined;
    return visible(f === undefined ? r[c] : f(r[c]));
  };
  return (
    <table aria-label={label}>
      <Head cols={[...cols.map((c) => c.replaceAll('_', ' ')), ...(action === undefined ? [] : [''])]} />
      <tbody>
        {rows.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id of their own in every table
          <tr key={i}>
            {cols.map((c) => (
              <td key={c}>{cell(r, c)}</td>
            ))}
            {action !== undefined && <td>{action(r)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A figure the source did not report (a replay has no drop counters; an older engine no lag). */
const orUnknown = (v: number | null): string => (v === null ? 'unknown' : String(v));

const SENSOR_FORMAT: Formats<SensorHealth> = {
  drops_per_sec: orUnknown,
  drops_total: orUnknown,
  drops_by_stage: (d) =>
    d === null
      ? 'unknown'
      : `ringbuf ${d.ringbuf}, scratch ${d.scratch}, enter_full ${d.enter_full}, batcher ${d.batcher}`,
};

const ENGINE_FORMAT: Formats<EngineHealth> = {
  lag_ms: orUnknown,
  audit_pending: (v) => (v === null ? '-' : String(v)),
};

const DELIVERY_COLS = ['delivered', 'failed', 'retried', 'dead_lettered', 'last_error'] as const;
const lastError = (v: string | null): string => v ?? '-';
const OUTPUT_FORMAT: Formats<OutputHealth> = { last_error: lastError };
const SINK_FORMAT: Formats<SinkOutputHealth> = { last_error: lastError, last_error_at: lastError };

export function HealthView({ nav }: { nav: Nav }) {
  const { data, error, reload } = useApi(() => api.health(), 'health');
  const [message, setMessage] = useState<string | undefined>();
  const admin = nav.session.role === 'admin';
  // Rates and lag move: read them again every 5 s while the view is open.
  useEffect(() => {
    const timer = setInterval(reload, 5000);
    return () => clearInterval(timer);
  }, [reload]);
  const redeliver = (id: string) =>
    api.redeliver(id).then(
      () => {
        setMessage(`dead letter ${id} redelivered`);
        reload();
      },
      (err: unknown) => setMessage(describeError(err)),
    );
  return (
    <section class="health" aria-label="Health">
      <div class="row">
        <h2>Health</h2>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {error !== undefined && <p class="error">{error}</p>}
      {message !== undefined && <p class="message">{message}</p>}
      {data !== undefined && (
        <>
          <h3>Sensors</h3>
          <Table
            label="Sensors"
            rows={data.sensors}
            format={SENSOR_FORMAT}
            cols={[
              'node',
              'events_per_sec',
              'drops_per_sec',
              'drops_total',
              'drops_by_stage',
              'version',
              'last_seen',
            ]}
          />
          <h3>Engines</h3>
          <Table
            label="Engines"
            rows={data.engines}
            format={ENGINE_FORMAT}
            cols={[
              'id',
              'state',
              'revision',
              'lag_ms',
              'in_flight',
              'dropped',
              'audit_pending',
              'report_age_ms',
            ]}
          />
          <h3>Outputs</h3>
          <Table
            label="Outputs"
            rows={data.outputs}
            format={OUTPUT_FORMAT}
            cols={['name', ...DELIVERY_COLS, 'instances', 'source']}
          />
          <h3>Sinks instances</h3>
          <Table
            label="Sinks instances"
            rows={data.sinks}
            format={SINK_FORMAT}
            cols={[
              'instance',
              'output',
              'status',
              ...DELIVERY_COLS,
              'last_error_at',
              'version',
              'report_age_ms',
            ]}
          />
          <h3>Dead letters</h3>
          <Table
            label="Dead letters"
            rows={data.dead_letters}
            cols={['id', 'output', 'error', 'time', 'event_id']}
            action={(r) =>
              admin ? (
                <button type="button" onClick={() => redeliver(String(r.id))}>
                  Redeliver
                </button>
              ) : null
            }
          />
        </>
      )}
    </section>
  );
}
