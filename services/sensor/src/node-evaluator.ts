/**
 * What a node does with each syscall event when it evaluates on the node:
 * the ruleset's matches formatted as Falco's JSON alert lines (the engine's
 * `toFalcoAlert` + `formatAlertJson`). One class, used in-process and inside
 * the node worker (node-worker.ts), so the two paths differ only in where the
 * records are decoded and the process table is kept, which is what the
 * parity tests compare.
 */
import type { SyscallEvent } from '@saker/events';
import {
  type AlertJsonOptions,
  type AppendOutputEntry,
  type EvaluateOptions,
  type Priority,
  type RuleMatch,
  type RuleMatching,
  type RuleText,
  type Ruleset,
  type RulesetDocument,
  effectiveRuleset,
  firstLoadError,
  formatAlertJson,
  loadRules,
  toFalcoAlert,
} from '@saker/rules';
import type { KernelRecord } from './decoder.js';
import type { RecordPipeline } from './record-pipeline.js';

/** Everything the evaluation needs, as plain data (it crosses into the worker). */
export interface NodeEvaluation {
  /**
   * Rule files' contents (`readRuleFiles`), or a ruleset document (KV
   * `saker_rules`, selections applied), loaded in the thread that evaluates.
   */
  readonly rules: readonly RuleText[] | RulesetDocument;
  /** Falco's `append_output`, as the engine applies it. Default none. */
  readonly appendOutput?: readonly AppendOutputEntry[];
  /** Falco's `rule_matching`. Default `first`. */
  readonly ruleMatching?: RuleMatching;
  /** Falco's `priority`: rules below it are not evaluated. Default: all. */
  readonly minPriority?: Priority;
  /** The alerts' `hostname`. Default: the sensor's hostname. */
  readonly hostname?: string;
  /** Falco's `time_format_iso_8601`. */
  readonly timeIso8601?: boolean;
  readonly json?: AlertJsonOptions;
}

/** The ruleset an engine would evaluate for `e`, or an error naming the first load error. */
function loadEvaluationRules(e: NodeEvaluation): Ruleset {
  const rules = e.rules;
  if (!isRuleTexts(rules) || (e.appendOutput?.length ?? 0) > 0) {
    const doc: RulesetDocument = isRuleTexts(rules)
      ? { format: 1, files: rules, selections: [], updatedAt: new Date(0).toISOString() }
      : rules;
    const r = effectiveRuleset(doc, { appendOutput: e.appendOutput ?? [] });
    if (!r.ok) throw new RangeError(`node evaluation: the rules do not load (${r.stage}): ${r.error}`);
    return r.ruleset;
  }
  const loaded = loadRules(rules);
  if (!loaded.ok) throw new RangeError(`node evaluation: the rules do not load: ${firstLoadError(loaded)}`);
  return loaded.ruleset;
}

function isRuleTexts(r: NodeEvaluation['rules']): r is readonly RuleText[] {
  return Array.isArray(r);
}

export class NodeEvaluator {
  ruleset: Ruleset;
  evaluated = 0;
  matches = 0;
  readonly #opts: EvaluateOptions;
  readonly #hostname: string;
  readonly #iso: boolean;
  readonly #json: AlertJsonOptions;

  constructor(e: NodeEvaluation, hostname: string, ruleset?: Ruleset) {
    this.ruleset = ruleset ?? loadEvaluationRules(e);
    this.#opts = {
      ruleMatching: e.ruleMatching ?? 'first',
      ...(e.minPriority !== undefined ? { minPriority: e.minPriority } : {}),
    };
    this.#hostname = e.hostname ?? hostname;
    this.#iso = e.timeIso8601 ?? false;
    this.#json = e.json ?? {};
  }

  /** Swaps to the rules of `e` (its other settings stay); throws, keeping the old ones, if they do not load. */
  setRules(e: NodeEvaluation): void {
    this.ruleset = loadEvaluationRules(e);
  }

  /** The event's alerts as Falco JSON lines (none for most events). */
  evaluate(ev: SyscallEvent, out: string[]): void {
    this.evaluated++;
    this.format(this.ruleset.evaluate(ev, this.#opts), out);
  }

  /**
   * The alerts of `rec`'s event, evaluated on a view of the record
   * (RecordPipeline.evaluate: the event is built only for a match), as Falco
   * JSON lines. Returns the view (valid until the next record) or undefined
   * when the record makes no event.
   */
  evaluateRecord(pipeline: RecordPipeline, rec: KernelRecord, out: string[]): SyscallEvent | undefined {
    const found = this.#found;
    const view = pipeline.evaluate(rec, this.ruleset, this.#opts, found);
    if (view === undefined) return undefined;
    this.evaluated++;
    if (found.length > 0) {
      this.format(found, out);
      found.length = 0;
    }
    return view;
  }
  readonly #found: RuleMatch[] = [];

  /** Matches of this evaluator's ruleset (`Sensor.evaluateRules`'s, say) as Falco JSON lines, counted. */
  format(found: readonly RuleMatch[], out: string[]): void {
    if (found.length === 0) return;
    this.matches += found.length;
    for (const m of found) {
      out.push(
        formatAlertJson(
          toFalcoAlert(m, { hostname: m.event.hostname ?? this.#hostname, timeIso8601: this.#iso }),
          this.#json,
        ),
      );
    }
  }
}
