import type { SakerEvent } from '@saker/events';
import type { Predicate } from '../compile/compile.js';
import type { EvalCache } from '../compile/optimise.js';
import type { FieldRegistry } from '../fields/registry.js';
import { type AppendOutputEntry, appendedOutputFor, compileAppendedOutput } from '../output/append.js';
import { compileOutput } from '../output/format.js';
import { meetsThreshold } from '../priority.js';
import type { CompiledRule } from './compiler.js';
import type { EvaluateOptions, ListInfo, MacroInfo, RuleInfo, RuleMatch } from './types.js';

/**
 * A compiled, indexed set of rules. Rules are indexed by source and, for
 * sources with event types, by type: an event meets only the rules that can
 * match it, in load order. A rule that matches every type sits in every
 * type's bucket at its load position. Immutable: enabling or disabling rules
 * gives a new Ruleset.
 */

/** Which rules `enableRules` / `disableRules` touch. Every given criterion must hold. */
export interface RuleSelector {
  /** Rule name, with `*` and `?` wildcards (Falco's `rules: - disable: rule:`). */
  readonly rule?: string;
  /** Rule names containing this text (Falco's `-D`). */
  readonly substring?: string;
  /** Rules carrying any of these tags (Falco's `-T` / `-t`). */
  readonly tags?: readonly string[];
}

export type AppendOutputResult =
  | { readonly ok: true; readonly ruleset: Ruleset }
  | { readonly ok: false; readonly error: string };

/** A rule in a bucket, with its condition as evaluated there (specialised to the bucket's type). */
interface Candidate {
  readonly rule: CompiledRule;
  readonly matches: Predicate<SakerEvent>;
}

interface Bucket {
  readonly byType: ReadonlyMap<string, readonly Candidate[]>;
  /** Rules that match every type (and, for untyped sources, all rules). */
  readonly anyType: readonly Candidate[];
}

const NONE: readonly Candidate[] = [];
const NO_FIELDS: RuleMatch['outputFields'] = Object.freeze({});

function generic(rule: CompiledRule): Candidate {
  return { rule, matches: rule.matches };
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function selects(sel: RuleSelector, rule: RuleInfo): boolean {
  if (sel.rule !== undefined && !wildcard(sel.rule).test(rule.name)) return false;
  if (sel.substring !== undefined && !rule.name.includes(sel.substring)) return false;
  if (sel.tags !== undefined && !sel.tags.some((t) => rule.tags.includes(t))) return false;
  return true;
}

export class Ruleset {
  /** Every compiled rule, in load order, with its current enabled state. */
  readonly rules: readonly RuleInfo[];
  readonly macros: readonly MacroInfo[];
  readonly lists: readonly ListInfo[];
  readonly #compiled: readonly CompiledRule[];
  readonly #buckets: ReadonlyMap<string, Bucket>;
  /** The per-event caches of the enabled rules' conditions (one per load and source). */
  readonly #caches: readonly EvalCache[];
  readonly #syscall: Bucket | undefined;
  readonly #byInfo: ReadonlyMap<RuleInfo, CompiledRule>;

  constructor(compiled: readonly CompiledRule[], macros: readonly MacroInfo[], lists: readonly ListInfo[]) {
    this.#compiled = compiled;
    this.rules = compiled.map((c) => c.info);
    this.#byInfo = new Map(compiled.map((c) => [c.info, c]));
    this.macros = macros;
    this.lists = lists;
    this.#buckets = Ruleset.#index(compiled);
    this.#syscall = this.#buckets.get('syscall');
    const caches = new Set<EvalCache>();
    for (const c of compiled) if (c.info.enabled && c.cache !== undefined) caches.add(c.cache);
    this.#caches = [...caches];
  }

  static empty(): Ruleset {
    return new Ruleset([], [], []);
  }

  static #index(compiled: readonly CompiledRule[]): Map<string, Bucket> {
    const bySource = new Map<string, CompiledRule[]>();
    for (const c of compiled) {
      if (!c.info.enabled) continue;
      const list = bySource.get(c.info.source) ?? [];
      list.push(c);
      bySource.set(c.info.source, list);
    }
    const out = new Map<string, Bucket>();
    for (const [source, rules] of bySource) {
      const typed = rules[0]?.source.typed ?? false;
      if (!typed) {
        out.set(source, { byType: new Map(), anyType: rules.map(generic) });
        continue;
      }
      const types = new Set<string>();
      for (const r of rules) for (const t of r.info.evttypes ?? []) types.add(t);
      const byType = new Map<string, Candidate[]>();
      for (const t of types) {
        const list: Candidate[] = [];
        for (const r of rules) {
          if (r.info.evttypes === undefined) list.push(generic(r));
          else if (r.info.evttypes.includes(t)) {
            // A condition that folds to false for this type cannot match its events.
            const special = r.byType?.get(t);
            if (special !== false) list.push({ rule: r, matches: special ?? r.matches });
          }
        }
        byType.set(t, list);
      }
      out.set(source, {
        byType,
        anyType: rules.filter((r) => r.info.evttypes === undefined).map(generic),
      });
    }
    return out;
  }

  /** The rules `event` meets, in load order. */
  #candidates(event: SakerEvent): readonly Candidate[] {
    if (event.source === 'syscall') {
      // The common case, without the lookup by source.
      const sys = this.#syscall;
      if (sys === undefined) return NONE;
      return sys.byType.size === 0 ? sys.anyType : (sys.byType.get(event.type) ?? sys.anyType);
    }
    const bucket = this.#buckets.get(event.source);
    if (!bucket) return NONE;
    if (bucket.byType.size === 0) return bucket.anyType;
    return bucket.byType.get(event.source) ?? bucket.anyType;
  }

  /** The enabled rules that match `event`: the first one in load order, or all of them. */
  evaluate(event: SakerEvent, options?: EvaluateOptions): RuleMatch[] {
    const out: RuleMatch[] = [];
    const candidates = this.#candidates(event);
    if (candidates.length === 0) return out;
    const min = options?.minPriority;
    const first = (options?.ruleMatching ?? 'first') === 'first';
    const render = options?.render ?? true;
    const caches = this.#caches;
    for (let i = 0; i < caches.length; i++) caches[i]!.begin(event);
    try {
      for (let i = 0; i < candidates.length; i++) {
        const { rule, matches } = candidates[i]!;
        if (min !== undefined && !meetsThreshold(rule.info.priority, min)) continue;
        let hit = false;
        try {
          hit = matches(event);
        } catch {
          hit = false;
        }
        if (!hit) continue;
        if (render) {
          const rendered = rule.output.render(event);
          out.push({ rule: rule.info, output: rendered.text, outputFields: rendered.fields, event });
        } else {
          out.push({ rule: rule.info, output: '', outputFields: NO_FIELDS, event });
        }
        if (first) break;
      }
    } finally {
      for (let i = 0; i < caches.length; i++) caches[i]!.end();
    }
    return out;
  }

  /**
   * `match` with its output rendered from `event` (default: the match's own),
   * by the same compiled output as evaluate uses. For matches evaluated with
   * `render: false`; a match of another ruleset is returned as it is.
   */
  render(match: RuleMatch, event: SakerEvent = match.event): RuleMatch {
    const rule = this.#byInfo.get(match.rule);
    if (rule === undefined) return match;
    const rendered = rule.output.render(event);
    return { rule: match.rule, output: rendered.text, outputFields: rendered.fields, event };
  }

  /**
   * The syscall event types the enabled rules need, for the sensor to
   * capture; undefined when some enabled rule needs every type.
   */
  eventTypes(): ReadonlySet<string> | undefined {
    const bucket = this.#buckets.get('syscall');
    if (!bucket) return new Set();
    if (bucket.anyType.length > 0) return undefined;
    return new Set(bucket.byType.keys());
  }

  #withEnabled(sel: RuleSelector, enabled: boolean): Ruleset {
    const next = this.#compiled.map((c) =>
      selects(sel, c.info) && c.info.enabled !== enabled ? { ...c, info: { ...c.info, enabled } } : c,
    );
    return new Ruleset(next, this.macros, this.lists);
  }

  /**
   * A copy with Falco's `append_output` applied (output/append.ts): each
   * rule's output is compiled again, once, from its own output plus the text
   * and fields the matching entries add; RuleInfo.appended says what was
   * added. Applying it again starts over from the rules' own outputs.
   * Never throws: an entry that does not compile for some rule gives
   * `ok: false` naming the entry and the rule.
   */
  withAppendedOutput(entries: readonly AppendOutputEntry[], path = 'append_output'): AppendOutputResult {
    const next: CompiledRule[] = [];
    let changed = false;
    for (const c of this.#compiled) {
      const add = appendedOutputFor(c.info, c.source.suggestedOutputFields, entries, path);
      if (add === undefined && c.info.appended === undefined) {
        next.push(c);
        continue;
      }
      // As the loader does: the source's fields typed over every event (compiler.ts).
      const fields = c.source.fields as unknown as FieldRegistry<SakerEvent>;
      const out =
        add === undefined
          ? compileOutput(c.info.output, fields)
          : compileAppendedOutput(c.info.output, add, fields);
      if (!out.ok) {
        return { ok: false, error: `${out.message} (rule '${c.info.name}', source ${c.info.source})` };
      }
      const { appended: _previous, ...info } = c.info;
      next.push({
        ...c,
        info: add === undefined ? info : { ...info, appended: add.appended },
        output: out.template,
      });
      changed = true;
    }
    return { ok: true, ruleset: changed ? new Ruleset(next, this.macros, this.lists) : this };
  }

  /** A copy with the selected rules enabled (whatever their `enabled:` said). */
  enableRules(sel: RuleSelector): Ruleset {
    return this.#withEnabled(sel, true);
  }

  /** A copy with the selected rules disabled. */
  disableRules(sel: RuleSelector): Ruleset {
    return this.#withEnabled(sel, false);
  }
}
