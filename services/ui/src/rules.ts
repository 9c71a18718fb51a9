/**
 * The rules view over the control API's gRPC RuleService: the rules and
 * their revision, one rule for an alert's detail, the revisions written
 * since the UI started (from WatchRulesets), and enabling or disabling rules
 * on behalf of the logged-in user: control records `ui:<user> via <the UI's
 * identity>` as the author (the `saker-on-behalf-of` metadata, accepted only
 * from an identity in control.delegates).
 */
import {
  ControlClient,
  type ControlClientOptions,
  type Rule__Output,
  type RulesetRevision__Output,
  isControlCallError,
} from '@saker/control/client';
import { HttpError } from './http.js';
import type { RevisionView, RuleView, RulesProvider } from './server.js';

/** Revisions kept for the view, newest first. */
const MAX_REVISIONS = 100;

function revisionView(r: RulesetRevision__Output): RevisionView {
  return {
    revision: String(r.revision),
    updated_at: r.updatedAt,
    author: r.author,
    comment: r.comment,
    rules: r.ruleCount,
    enabled_rules: r.enabledRuleCount,
  };
}

function view(r: Rule__Output): RuleView {
  return {
    name: r.name,
    description: r.desc,
    condition: r.condition,
    output: r.output,
    priority: r.priority,
    source: r.source,
    tags: r.tags,
    enabled: r.enabled,
  };
}

/** gRPC failures as HTTP errors: the control service down is a 502, a refusal a 400 or 409. */
function translate(err: unknown): never {
  if (isControlCallError(err)) {
    const status: Readonly<Record<string, number>> = {
      INVALID_ARGUMENT: 400,
      FAILED_PRECONDITION: 400,
      PERMISSION_DENIED: 403,
      NOT_FOUND: 404,
      ABORTED: 409,
    };
    throw new HttpError(status[err.codeName] ?? 502, `control API: ${err.codeName}: ${err.details}`);
  }
  throw err;
}

export class ControlRules implements RulesProvider {
  readonly #client: ControlClient;
  readonly #revisions: RevisionView[] = [];
  /** The running watch; undefined when none runs (it is started again on the next read). */
  #watch: AbortController | undefined;
  /** Resolves when the watch delivered its first revision (or ended). */
  #first: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: ControlClientOptions) {
    this.#client = new ControlClient(options);
    this.#follow();
  }

  /** Follows WatchRulesets (the current revision first), unless a watch runs already. */
  #follow(): void {
    if (this.#watch !== undefined || this.#closed) return;
    const abort = new AbortController();
    this.#watch = abort;
    const feed = this.#client.watchRulesets({}, abort.signal);
    let firstDone!: () => void;
    this.#first = new Promise<void>((resolve) => {
      firstDone = resolve;
    });
    void (async () => {
      try {
        for await (const r of feed) {
          this.#keep(revisionView(r));
          firstDone();
        }
      } catch {
        // Control down or restarting: the next read starts the watch again.
      } finally {
        firstDone();
        if (this.#watch === abort) this.#watch = undefined;
      }
    })();
  }

  #keep(v: RevisionView): void {
    if (this.#revisions.some((r) => r.revision === v.revision)) return;
    this.#revisions.unshift(v);
    this.#revisions.sort((a, b) => Number(b.revision) - Number(a.revision));
    this.#revisions.length = Math.min(this.#revisions.length, MAX_REVISIONS);
  }

  async revisions(): Promise<{ revisions: RevisionView[] }> {
    this.#follow();
    // A watch just started sends the current revision first: wait for it a moment.
    if (this.#revisions.length === 0) {
      await Promise.race([this.#first, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    return { revisions: [...this.#revisions] };
  }

  async list(): Promise<{ revision: string; rules: RuleView[] }> {
    const r = await this.#client.listRules({}).catch(translate);
    return { revision: String(r.revision), rules: r.rules.map(view) };
  }

  async describe(name: string): Promise<RuleView | null> {
    try {
      const r = await this.#client.describeRule(name);
      return r.rule ? view(r.rule) : null;
    } catch (err) {
      if (isControlCallError(err) && err.codeName === 'NOT_FOUND') return null;
      return translate(err);
    }
  }

  async setEnabled(
    names: readonly string[],
    enabled: boolean,
    author: string,
    comment: string,
  ): Promise<{ revision: string }> {
    let revision = '';
    for (const name of names) {
      // The selector's `rule` takes * and ? as wildcards: a name holding one would select others too.
      if (/[*?]/.test(name))
        throw new HttpError(400, `rules: ${JSON.stringify(name)} holds a wildcard (* or ?)`);
      const req = { selector: { rule: name }, comment };
      const onBehalfOf = `ui:${author}`;
      const r = await (enabled
        ? this.#client.enableRules(req, undefined, onBehalfOf)
        : this.#client.disableRules(req, undefined, onBehalfOf)
      ).catch(translate);
      if (r.matched.length === 0) throw new HttpError(404, `rules: no rule named ${JSON.stringify(name)}`);
      if (r.revision) this.#keep(revisionView(r.revision));
      revision = String(r.revision?.revision ?? revision);
    }
    return { revision };
  }

  close(): void {
    this.#closed = true;
    this.#watch?.abort();
    this.#client.close();
  }
}
