/**
 * A ruleset as the engine holds it: compiled, with the KV revision it came
 * from and what it needs from the metadata join. Built whole before it is
 * swapped in, so a batch always sees one ruleset from start to end.
 */
import type { SakerEvent } from '@saker/events';
import {
  type AppendOutputEntry,
  type Ruleset,
  type RulesetDocument,
  decodeRulesetDocument,
  effectiveRuleset,
} from '@saker/rules';
import { type MetadataNeed, metadataNeed } from './metadata.js';

export interface LoadedRuleset {
  readonly ruleset: Ruleset;
  /** KV revision it came from; 0 for the ruleset given at start. */
  readonly revision: number;
  readonly need: MetadataNeed;
  readonly enabledRules: number;
  /** Per-rule single-rule rulesets for cost sampling, built on first use. */
  costProbe(): RuleCostProbe;
}

export type RulesetLoadOutcome =
  | { readonly ok: true; readonly loaded: LoadedRuleset }
  | { readonly ok: false; readonly error: string };

function loadedRuleset(ruleset: Ruleset, revision: number): LoadedRuleset {
  let probe: RuleCostProbe | undefined;
  return {
    ruleset,
    revision,
    need: metadataNeed(ruleset),
    enabledRules: ruleset.rules.filter((r) => r.enabled).length,
    costProbe: () => {
      probe ??= new RuleCostProbe(ruleset);
      return probe;
    },
  };
}

/**
 * A loaded ruleset made ready for the engine: Falco's `append_output`
 * applied to each rule's output (compiled once here, not per alert), then
 * what it needs from the metadata join worked out, appended fields included.
 */
export function prepareRuleset(
  ruleset: Ruleset,
  revision: number,
  appendOutput: readonly AppendOutputEntry[] = [],
): RulesetLoadOutcome {
  const applied = ruleset.withAppendedOutput(appendOutput);
  if (!applied.ok) return { ok: false, error: applied.error };
  return { ok: true, loaded: loadedRuleset(applied.ruleset, revision) };
}

/**
 * Compiles a document into its effective ruleset (effectiveRuleset of
 * @saker/rules, as control checks it); `ok: false` carries the first error,
 * `file:line:col: message`.
 */
export function compileDocument(
  doc: RulesetDocument,
  revision: number,
  appendOutput: readonly AppendOutputEntry[] = [],
): RulesetLoadOutcome {
  const eff = effectiveRuleset(doc, { appendOutput });
  if (!eff.ok) return { ok: false, error: eff.error };
  return { ok: true, loaded: loadedRuleset(eff.ruleset, revision) };
}

/** Decodes a KV value (a RulesetDocument) and compiles it. */
export function compileKvValue(
  data: Uint8Array,
  revision: number,
  appendOutput: readonly AppendOutputEntry[] = [],
): RulesetLoadOutcome {
  let doc: RulesetDocument;
  try {
    doc = decodeRulesetDocument(data);
  } catch (err) {
    return { ok: false, error: `bad ruleset document: ${err instanceof Error ? err.message : String(err)}` };
  }
  return compileDocument(doc, revision, appendOutput);
}

/**
 * Measures what each rule costs. Ruleset.evaluate times the rules together,
 * so for a sampled event every rule that could meet it is evaluated on its own
 * (a copy of the ruleset with only that rule enabled) and timed.
 */
class RuleCostProbe {
  /** Event type (or source, for untyped sources) to the single-rule rulesets that can meet it. */
  readonly #byKey = new Map<string, readonly (readonly [string, Ruleset])[]>();
  readonly #singles: readonly (readonly [string, Ruleset, readonly string[] | undefined, string])[];

  constructor(ruleset: Ruleset) {
    const none = ruleset.disableRules({});
    const singles: [string, Ruleset, readonly string[] | undefined, string][] = [];
    for (const rule of ruleset.rules) {
      if (!rule.enabled) continue;
      // Selectors take `*` and `?` as wildcards: such a name may select more
      // than its own rule, and then its cost is not measured.
      const single = none.enableRules({ rule: rule.name });
      if (single.rules.filter((r) => r.enabled).length !== 1) continue;
      singles.push([rule.name, single, rule.evttypes, rule.source]);
    }
    this.#singles = singles;
  }

  /** The rules that can meet `event`, each alone in a ruleset. */
  candidates(event: SakerEvent): readonly (readonly [string, Ruleset])[] {
    const key = event.source === 'syscall' ? `syscall:${event.type}` : event.source;
    let list = this.#byKey.get(key);
    if (list === undefined) {
      list = this.#singles
        .filter(
          ([, , types, source]) =>
            source === event.source &&
            (event.source !== 'syscall' || types === undefined || types.includes(event.type)),
        )
        .map(([name, rs]) => [name, rs] as const);
      this.#byKey.set(key, list);
    }
    return list;
  }
}
