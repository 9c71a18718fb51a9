/** The info page: version and the store's size against its limits. */
import { api } from './api.js';
import { visible } from './text.js';
import { useApi } from './use-api.js';

export function InfoView() {
  const { data, error } = useApi(() => api.info(), 'info');
  return (
    <section class="info" aria-label="Info">
      <h2>Info</h2>
      {error !== undefined && <p class="error">{error}</p>}
      {data !== undefined && (
        <dl class="facts">
          <dt>Version</dt>
          <dd data-testid="version">{visible(data.version)}</dd>
          {Object.entries(data.store).flatMap(([k, v]) => [
            <dt key={`k-${k}`}>Store {k}</dt>,
            <dd key={`v-${k}`}>
              {typeof v === 'object' && v !== null ? visible(JSON.stringify(v)) : visible(v)}
            </dd>,
          ])}
        </dl>
      )}
    </section>
  );
}
