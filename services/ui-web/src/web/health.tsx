/**
 * The health view: events/s and drops per sensor, each engine's ruleset
 * revision and lag, deliveries and failures per output, and dead letters
 * with a redeliver button for admins.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { type Nav, describeError } from './app.js';
import { Head } from './controls.js';
import { visible } from './text.js';
import { useApi } from './use-api.js';

type Row = Readonly<Record<string, string | number | boolean | null>>;

function Table({
  rows,
  cols,
  label,
  action,
}: {
  rows: readonly Row[];
  cols: readonly string[];
  label: string;
  action?: (row: Row) => preact.ComponentChild;
}) {
  if (rows.length === 0) return <p class="empty">None.</p>;
  return (
    <table aria-label={label}>
      <Head cols={[...cols.map((c) => c.replaceAll('_', ' ')), ...(action === undefined ? [] : [''])]} />
      <tbody>
        {rows.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id of their own in every table
          <tr key={i}>
            {cols.map((c) => (
              <td key={c}>{visible(r[c])}</td>
            ))}
            {action !== undefined && <td>{action(r)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HealthView({ nav }: { nav: Nav }) {
  const { data, error, reload } = useApi(() => api.health(), 'health');
  const [message, setMessage] = useState<string | undefined>();
  const admin = nav.session.role === 'admin';
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
            cols={['node', 'events_per_sec', 'drops_per_sec', 'drops_total', 'version', 'last_seen']}
          />
          <h3>Engines</h3>
          <Table
            label="Engines"
            rows={data.engines}
            cols={['id', 'node', 'revision', 'lag_ms', 'last_seen']}
          />
          <h3>Outputs</h3>
          <Table label="Outputs" rows={data.outputs} cols={['name', 'delivered', 'failed', 'last_error']} />
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
