/**
 * An event's detail: the fields, the rule that fired (description, condition,
 * output, from the control API), the raw JSON with a copy button, and links
 * to related events (same pod, same process tree) as event filters.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import type { Nav } from './app.js';
import { timeZone } from './filter-bar.js';
import { Filters } from './filters.js';
import { formatTime, visible } from './text.js';
import { useApi } from './use-api.js';

export function DetailDialog({ id, nav, onClose }: { id: string; nav: Nav; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const { data, error } = useApi(() => api.event(id), id);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    const d = dialog.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  const json = data === undefined ? '' : JSON.stringify(data.event, null, 2);
  const related = (qs: string) => {
    const tz = nav.filters.get('tz');
    const f = Filters.parse(qs);
    nav.go('events', tz === undefined ? f : f.set('tz', tz));
  };
  const copy = () =>
    navigator.clipboard.writeText(json).then(
      () => setCopied(true),
      () => setCopied(false),
    );

  return (
    <dialog ref={dialog} class="detail" aria-label="Event detail" onClose={onClose}>
      <header class="row">
        <h2>{data === undefined ? 'Event' : visible(data.event.rule)}</h2>
        <span class="spacer" />
        <button type="button" onClick={() => dialog.current?.close()} aria-label="Close">
          ✕
        </button>
      </header>
      {error !== undefined && <p class="error">{error}</p>}
      {data !== undefined && (
        <>
          <dl class="facts">
            <dt>Time</dt>
            <dd>{formatTime(data.event.time, timeZone(nav.filters))}</dd>
            <dt>Priority</dt>
            <dd>{visible(data.event.priority)}</dd>
            <dt>Source</dt>
            <dd>{visible(data.event.source)}</dd>
            <dt>Hostname</dt>
            <dd>{visible(data.event.hostname)}</dd>
            <dt>Output</dt>
            <dd class="output-text">{visible(data.event.output)}</dd>
          </dl>
          <div class="row related">
            Related events:
            <button
              type="button"
              disabled={!data.related.pod}
              onClick={() => data.related.pod && related(data.related.pod)}
            >
              Same pod
            </button>
            <button
              type="button"
              disabled={!data.related.process}
              onClick={() => data.related.process && related(data.related.process)}
            >
              Same process tree
            </button>
          </div>
          {data.rule !== null && (
            <section class="rule" aria-label="Rule">
              <h3>Rule {visible(data.rule.name)}</h3>
              <p class="description">{visible(data.rule.description)}</p>
              <h4>Condition</h4>
              <pre class="condition">{visible(data.rule.condition)}</pre>
              <h4>Output</h4>
              <pre>{visible(data.rule.output)}</pre>
            </section>
          )}
          <section aria-label="Raw JSON">
            <div class="row">
              <h3>JSON</h3>
              <button type="button" onClick={copy}>
                {copied ? 'Copied' : 'Copy'}
              </button>
            </div>
            <pre class="json">{visible(json)}</pre>
          </section>
        </>
      )}
    </dialog>
  );
}
