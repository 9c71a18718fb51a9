import type { SakerEvent } from '@saker/events';
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

interface Bucket {
  readonly byType: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Rules that match every type (and, for untyped sources, all rules). */
  readonly anyType: readonly CompiledRule[];
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

  constructor(compiled: readonly CompiledRule[], macros: readonly MacroInfo[], lists: readonly ListInfo[]) {
    this.#compiled = compiled;
    this.rules = compiled.map((c) => c.info);
    this.macros = macros;
    this.lists = lists;
    this.#buckets = Ruleset.#index(compiled);
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
        out.set(source, { byType: new Map(), anyType: rules });
        continue;
      }
      const types = new Set<string>();
      for (const r of rules) for (const t of r.info.evttypes ?? []) types.add(t);
      const byType = new Map<string, CompiledRule[]>();
      for (const t of types) {
        byType.set(
          t,
          rules.filter((r) => r.info.evttypes === undefined || r.info.evttypes.includes(t)),
        );
      }
      out.set(source, { byType, anyType: rules.filter((r) => r.info.evttypes === undefined) });
    }
    return out;
  }

  /** The rules `event` meets, in load order. */
  #candidates(event: SakerEvent): readonly CompiledRule[] {
    const bucket = this.#buckets.get(event.source);
    if (!bucket) return [];
    if (bucket.byType.size === 0) return bucket.anyType;
    const type = event.source === 'syscall' ? event.type : event.source;
    return bucket.byType.get(type) ?? bucket.anyType;
  }

  /** The enabled rules that match `event`: the first one in load order, or all of them. */
  evaluate(event: SakerEvent, options: EvaluateOptions = {}): RuleMatch[] {
    const min = options.minPriority;
    const first = (options.ruleMatching ?? 'first') === 'first';
    const out: RuleMatch[] = [];
    for (const rule of this.#candidates(event)) {
      if (min !== undefined && !meetsThreshold(rule.info.priority, min)) continue;
      let hit = false;
      try {
        hit = rule.matches(event);
      } catch {
        hit = false;
      }
      if (!hit) continue;
      const rendered = rule.output.render(event);
      out.push({ rule: rule.info, output: rendered.text, outputFields: rendered.fields, event });
      if (first) break;
    }
    return out;
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

  /** A copy with the selected rules enabled (whatever their `enabled:` said). */
  enableRules(sel: RuleSelector): Ruleset {
    return this.#withEnabled(sel, true);
  }

  /** A copy with the selected rules disabled. */
  disableRules(sel: RuleSelector): Ruleset {
    return this.#withEnabled(sel, false);
  }
}
