import type { LoadOptions, LoadResult } from './loader/load.js';
/**
 * The effective ruleset: what an engine evaluates. One owner for the three
 * steps, so that whoever checks a ruleset (control's put, `saker run` at
 * start) refuses exactly what the engines would refuse:
 *
 *   rule files → loaded (loader/) → selections applied in order
 *   (ruleset-doc.ts) → Falco's `append_output` applied (output/append.ts).
 *
 * Never throws: `ok: false` says which step refused it and why.
 */
import { Ruleset } from './loader/ruleset.js';
import type { Diagnostic } from './loader/types.js';
import type { AppendOutputEntry } from './output/append.js';
import { type RulesetDocument, loadRulesetDocument } from './ruleset-doc.js';

export interface EffectiveRulesetOptions {
  /** Falco's `append_output` of the engines (saker.yaml); default none. */
  readonly appendOutput?: readonly AppendOutputEntry[];
  readonly load?: LoadOptions;
}

export type EffectiveRuleset =
  | { readonly ok: true; readonly load: LoadResult; readonly ruleset: Ruleset }
  | {
      readonly ok: false;
      readonly load: LoadResult;
      /** `load`: the files or selections (see `load`'s diagnostics); `append_output`: an entry does not compile for a rule. */
      readonly stage: 'load' | 'append_output';
      /** `file:line:col: message`, or the append_output entry's error naming the rule. */
      readonly error: string;
    };

/** The ruleset a document makes once `appendOutput` is applied, or why it cannot be used. */
export function effectiveRuleset(doc: RulesetDocument, o: EffectiveRulesetOptions = {}): EffectiveRuleset {
  let load: LoadResult;
  try {
    load = loadRulesetDocument(doc, o.load);
  } catch (err) {
    // The loader reports instead of throwing; a throw is a bug, still refused here rather than crashing a service.
    const internal: LoadResult = {
      ok: false,
      results: [],
      ruleset: Ruleset.empty(),
      requiredPlugins: [],
      requiredEngineVersion: undefined,
    };
    return {
      ok: false,
      load: internal,
      stage: 'load',
      error: `internal error while loading: ${String(err)}`,
    };
  }
  if (!load.ok) return { ok: false, load, stage: 'load', error: firstLoadError(load) };
  const applied = load.ruleset.withAppendedOutput(o.appendOutput ?? []);
  if (!applied.ok) return { ok: false, load, stage: 'append_output', error: applied.error };
  return { ok: true, load, ruleset: applied.ruleset };
}

/** `file:line:col: message` of the first error in a load result. */
export function firstLoadError(result: LoadResult): string {
  for (const file of result.results) {
    const d: Diagnostic | undefined = file.errors[0];
    if (d === undefined) continue;
    const pos = d.locations[d.locations.length - 1]?.position;
    const where = pos === undefined ? file.name : `${pos.name}:${pos.line}:${pos.column}`;
    return `${where}: ${d.message}`;
  }
  return 'the ruleset did not load (no error reported)';
}
