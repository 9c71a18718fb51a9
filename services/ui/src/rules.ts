/**
 * The rules view over the control API's gRPC RuleService: the rules and
 * their revision, one rule for an alert's detail, and enabling or
 * disabling rules with the logged-in user as author and their comment.
 */
import { ControlClient, type ControlClientOptions, isControlCallError } from '@saker/control';
import type { Rule__Output } from '@saker/control/client';
import { HttpError } from './http.js';
import type { RuleView, RulesProvider } from './server.js';

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
      NOT_FOUND: 404,
      ABORTED: 409,
    };
    throw new HttpError(status[err.codeName] ?? 502, `control API: ${err.codeName}: ${err.details}`);
  }
  throw err;
}

export class ControlRules implements RulesProvider {
  readonly #client: ControlClient;

  constructor(options: ControlClientOptions) {
    this.#client = new ControlClient(options);
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
      const req = { selector: { rule: name }, author, comment };
      const r = await (enabled ? this.#client.enableRules(req) : this.#client.disableRules(req)).catch(
        translate,
      );
      if (r.matched.length === 0) throw new HttpError(404, `rules: no rule named ${JSON.stringify(name)}`);
      revision = String(r.revision?.revision ?? revision);
    }
    return { revision };
  }

  close(): void {
    this.#client.close();
  }
}
