/**
 * The rules view: the running ruleset and its revision; admins select rules
 * and enable or disable them with a comment (control's API records the
 * logged-in user as the author); the revisions with their author and comment.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { type Nav, describeError } from './app.js';
import { Head, TextInput } from './controls.js';
import { visible } from './text.js';
import { useApi } from './use-api.js';

/** Revisions listed above the rules (the API keeps up to 100). */
const SHOWN_REVISIONS = 10;

export function RulesView({ nav }: { nav: Nav }) {
  const { data, error, reload } = useApi(() => api.rules(), 'rules');
  const history = useApi(() => api.revisions(), 'revisions');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [comment, setComment] = useState('');
  const [text, setText] = useState('');
  const [message, setMessage] = useState<string | undefined>();
  const admin = nav.session.role === 'admin';
  const needle = text.toLowerCase();
  const rules = (data?.rules ?? []).filter(
    (r) =>
      needle === '' ||
      r.name.toLowerCase().includes(needle) ||
      r.tags.some((t) => t.toLowerCase().includes(needle)),
  );

  const apply = (enabled: boolean) =>
    api.setRulesEnabled([...selected], enabled, comment).then(
      (res) => {
        setMessage(`${enabled ? 'enabled' : 'disabled'} ${selected.size} rule(s): revision ${res.revision}`);
        setSelected(new Set());
        setComment('');
        reload();
        history.reload();
      },
      (err: unknown) => setMessage(describeError(err)),
    );
  const toggle = (name: string) => {
    const next = new Set(selected);
    if (!next.delete(name)) next.add(name);
    setSelected(next);
  };

  return (
    <section class="rules" aria-label="Rules">
      <div class="row">
        <h2>Rules</h2>
        {data !== undefined && <span class="revision">revision {visible(data.revision)}</span>}
        <TextInput
          type="search"
          name="find"
          label="Find rule"
          placeholder="Find a rule or tag"
          value={text}
          onValue={setText}
        />
      </div>
      {error !== undefined && <p class="error">{error}</p>}
      {message !== undefined && <p class="message">{message}</p>}
      {admin && (
        <form class="row" aria-label="Change rules" onSubmit={(e) => e.preventDefault()}>
          <TextInput
            name="comment"
            label="Comment"
            placeholder="Comment (why)"
            value={comment}
            onValue={setComment}
          />
          <button type="button" disabled={selected.size === 0} onClick={() => apply(true)}>
            Enable selected
          </button>
          <button type="button" disabled={selected.size === 0} onClick={() => apply(false)}>
            Disable selected
          </button>
        </form>
      )}
      {history.error !== undefined && <p class="error">{history.error}</p>}
      {history.data !== undefined && history.data.revisions.length > 0 && (
        <details class="revisions" open>
          <summary>Revisions (newest {Math.min(history.data.revisions.length, SHOWN_REVISIONS)})</summary>
          <table class="revision-table" aria-label="Revisions">
            <Head cols={['Revision', 'Time', 'Author', 'Comment', 'Enabled rules']} />
            <tbody>
              {history.data.revisions.slice(0, SHOWN_REVISIONS).map((r) => (
                <tr key={r.revision} data-revision={r.revision}>
                  <td>{visible(r.revision)}</td>
                  <td>{visible(r.updated_at)}</td>
                  <td class="author">{visible(r.author)}</td>
                  <td class="comment">{visible(r.comment)}</td>
                  <td>
                    {r.enabled_rules} of {r.rules}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <table class="rule-table">
        <Head
          cols={[...(admin ? [''] : []), 'Rule', 'Enabled', 'Priority', 'Source', 'Tags', 'Description']}
        />
        <tbody>
          {rules.map((r) => (
            <tr key={r.name} data-rule={r.name} class={r.enabled ? '' : 'disabled'}>
              {admin && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${r.name}`}
                    checked={selected.has(r.name)}
                    onChange={() => toggle(r.name)}
                  />
                </td>
              )}
              <td class="name">{visible(r.name)}</td>
              <td class="enabled">{r.enabled ? 'yes' : 'no'}</td>
              <td>{visible(r.priority)}</td>
              <td>{visible(r.source)}</td>
              <td>{r.tags.map(visible).join(', ')}</td>
              <td class="description">{visible(r.description)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
