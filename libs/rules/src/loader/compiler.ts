import type { SakerEvent } from '@saker/events';
import { type Predicate, compileAll, compileCondition } from '../compile/compile.js';
import { SYSCALL_EVENT_TYPES, eventTypesOf } from '../compile/evttypes.js';
import { type EvalCache, SharedPlan, foldEventType } from '../compile/optimise.js';
import type { Expr, FieldOperand, Span, ValueOperand } from '../condition/ast.js';
import { parseCondition } from '../condition/parser.js';
import type { FieldRegistry } from '../fields/registry.js';
import { type OutputTemplate, compileOutput } from '../output/format.js';
import type { AnySourceDef } from '../sources.js';
import type { CollectedMacro, CollectedRule, Collector } from './collect.js';
import { type Context, type FileResult, LoadError } from './diagnostics.js';
import { exceptionConditionText } from './exceptions.js';
import {
  type ResolvedList,
  type Substituted,
  resolveLists,
  resolveMacros,
  shiftExpr,
  substituteLists,
} from './resolve.js';
import { SourcedText } from './text.js';
import type { ItemType, ListInfo, MacroInfo, RuleInfo } from './types.js';
import type { YPos } from './yaml.js';

/**
 * Compilation of everything collected so far: lists expanded, macros parsed
 * and resolved, every rule's condition (with its exceptions) parsed, resolved,
 * checked against its source's fields and compiled, and its output compiled.
 * As in Falco, the first failing item stops the compilation with one error,
 * and unused lists and macros are reported only when everything compiled.
 */

export interface CompiledRule {
  readonly info: RuleInfo;
  readonly source: AnySourceDef;
  readonly matches: (event: SakerEvent) => boolean;
  readonly output: OutputTemplate<SakerEvent>;
  /**
   * For typed sources, the condition specialised to each of the rule's event
   * types (`evt.type` checks folded away); `false` for a type it can never
   * match. Used by the Ruleset's per-type index.
   */
  readonly byType?: ReadonlyMap<string, Predicate<SakerEvent> | false>;
  /** The per-event cache `matches` and `byType` share with the other rules of the load. */
  readonly cache?: EvalCache;
}

interface Pending {
  readonly rule: CompiledRule;
  readonly expr: Expr;
  readonly fields: FieldRegistry<SakerEvent>;
}

export interface CompileOutput {
  readonly rules: readonly CompiledRule[];
  readonly macros: readonly MacroInfo[];
  readonly lists: readonly ListInfo[];
}

export type PositionOf = (file: string, offset: number) => YPos;

/** Each macro body is shifted into its own range of span offsets, so errors can name it. */
const MACRO_SPAN_BASE = 1 << 24;

/** Falco raises LOAD_NO_EVTTYPE above this many event types. */
const MAX_EVTTYPES = 100;

const CONTAINER_INFO = '%container.info';
const DEPRECATED_FIELDS = [
  'evt.dir',
  'evt.latency',
  'evt.latency.s',
  'evt.latency.ns',
  'evt.latency.human',
  'evt.wait_latency',
];
const EVT_DIR_DESC =
  "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and 'evt.dir = >' always evaluates to false. The rule expression can be simplified by removing the condition on 'evt.dir'";
const LATENCY_DESC = 'field is not available due to the drop of enter events.';

function isUnknownFieldMessage(message: string): boolean {
  return (
    message.includes('nonexistent field') ||
    message.includes('invalid formatting token') ||
    message.includes('unknown event type') ||
    message.includes('unknown filter:') ||
    message.includes('unknown field')
  );
}

interface MacroText {
  readonly macro: CollectedMacro;
  readonly sub: Substituted;
}

function operandFields(o: FieldOperand | ValueOperand, out: string[]): void {
  if (o.kind === 'field') {
    out.push(o.name);
  } else if (o.kind === 'transform') {
    for (const a of o.args) if (a.kind !== 'value') operandFields(a, out);
  } else if (o.kind === 'val') {
    operandFields(o.field, out);
  }
}

/** Field names of a tree, and the `<NA>` equality checks Falco warns about. */
function scanTree(e: Expr, fields: string[], naChecks: { count: number }): void {
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const c of e.children) scanTree(c, fields, naChecks);
      return;
    case 'not':
      scanTree(e.child, fields, naChecks);
      return;
    case 'identifier':
      return;
    case 'unary':
      operandFields(e.left, fields);
      return;
    case 'binary': {
      const left: string[] = [];
      operandFields(e.left, left);
      fields.push(...left);
      operandFields(e.right, fields);
      const unsafe = left.some((f) => f.startsWith('ka.') || f.startsWith('jevt.'));
      const eq = ['=', '==', '!=', 'in', 'intersects', 'pmatch'].includes(e.op);
      if (unsafe && eq) {
        const r = e.right;
        if (
          (r.kind === 'value' && r.value === '<NA>') ||
          (r.kind === 'list' && r.items.some((i) => i.value === '<NA>'))
        ) {
          naChecks.count++;
        }
      }
      return;
    }
  }
}

interface Unknown {
  readonly message: string;
  readonly span: Span;
}

function firstUnknownInOperand(
  o: FieldOperand | ValueOperand,
  fields: FieldRegistry<SakerEvent>,
): Unknown | undefined {
  if (o.kind === 'field') {
    if (fields.lookup(o.name, o.arg) === undefined) {
      return { message: `filter_check called with nonexistent field ${o.raw || o.name}`, span: o.span };
    }
    return undefined;
  }
  if (o.kind === 'transform') {
    for (const a of o.args) {
      if (a.kind === 'value') continue;
      const u = firstUnknownInOperand(a, fields);
      if (u) return u;
    }
    return undefined;
  }
  if (o.kind === 'val') return firstUnknownInOperand(o.field, fields);
  return undefined;
}

/**
 * The first field the source does not have, or (for typed sources) the first
 * `evt.type` value that is not an event type, with Falco's messages. Checked
 * before compiling so `skip-if-unknown-filter` can tell these from other errors.
 */
function firstUnknown(e: Expr, fields: FieldRegistry<SakerEvent>, typed: boolean): Unknown | undefined {
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const c of e.children) {
        const u = firstUnknown(c, fields, typed);
        if (u) return u;
      }
      return undefined;
    case 'not':
      return firstUnknown(e.child, fields, typed);
    case 'identifier':
      return undefined;
    case 'unary':
      return firstUnknownInOperand(e.left, fields);
    case 'binary': {
      const u = firstUnknownInOperand(e.left, fields) ?? firstUnknownInOperand(e.right, fields);
      if (u) return u;
      if (
        typed &&
        e.left.kind === 'field' &&
        e.left.name === 'evt.type' &&
        ['=', '==', '!=', 'in'].includes(e.op)
      ) {
        const values = e.right.kind === 'value' ? [e.right] : e.right.kind === 'list' ? e.right.items : [];
        for (const v of values) {
          if (!SYSCALL_EVENT_TYPES.has(v.value))
            return { message: `unknown event type ${v.value}`, span: v.span };
        }
      }
      return undefined;
    }
  }
}

class RuleCompiler {
  readonly #collector: Collector;
  readonly #result: FileResult;
  readonly #sources: ReadonlyMap<string, AnySourceDef>;
  readonly #positionOf: PositionOf;
  readonly #macroTexts: MacroText[] = [];
  readonly #macroUsedBy = new Map<string, string>();

  constructor(
    collector: Collector,
    result: FileResult,
    sources: ReadonlyMap<string, AnySourceDef>,
    positionOf: PositionOf,
  ) {
    this.#collector = collector;
    this.#result = result;
    this.#sources = sources;
    this.#positionOf = positionOf;
  }

  /** A `condition expression` location at `offset` of an assembled text, or the parent when it is generated text. */
  #exprCtx(
    parent: Context,
    text: SourcedText,
    offset: number,
    itemType: ItemType = 'condition expression',
  ): Context {
    const spot = text.locate(offset);
    if (!spot) return parent;
    return parent.at(itemType, '', this.#positionOf(spot.file, spot.offset), spot.file);
  }

  /** The location of a span of a rule's resolved tree: in the rule's text, or inside a macro body. */
  #spanCtx(parent: Context, text: SourcedText, sub: Substituted, span: Span): Context {
    if (span.start >= MACRO_SPAN_BASE) {
      const k = Math.floor(span.start / MACRO_SPAN_BASE) - 1;
      const m = this.#macroTexts[k];
      if (m) {
        const local = span.start - (k + 1) * MACRO_SPAN_BASE;
        const macroCtx = parent.at('macro', m.macro.name, m.macro.ctx.last.position, m.macro.ctx.fileName);
        return this.#exprCtx(macroCtx, m.macro.cond, m.sub.origin(local));
      }
      return parent;
    }
    return this.#exprCtx(parent, text, sub.origin(span.start));
  }

  compile(): CompileOutput | undefined {
    const lists = resolveLists(this.#collector.lists);
    const listOrder = [...lists.values()];
    const macroExprs = new Map<string, Expr>();
    const macroUsed = new Set<string>();
    const pending: Pending[] = [];
    try {
      // Parse every macro, used or not.
      let k = 0;
      for (const macro of this.#collector.macros.values()) {
        const sub = substituteLists(macro.cond.text, listOrder);
        this.#macroTexts.push({ macro, sub });
        const parsed = parseCondition(sub.text);
        if (!parsed.ok) {
          throw new LoadError(
            'LOAD_ERR_COMPILE_CONDITION',
            parsed.message,
            this.#exprCtx(macro.condCtx, macro.cond, sub.origin(parsed.offset)),
          );
        }
        macroExprs.set(macro.name, shiftExpr(parsed.expr, (k + 1) * MACRO_SPAN_BASE));
        k++;
      }
      // Resolve each macro against the macros it can see, in order, in place.
      k = 0;
      for (const macro of this.#collector.macros.values()) {
        const visible = (name: string): Expr | undefined => {
          const m = this.#collector.macros.get(name);
          return m && m.index < macro.visibility ? macroExprs.get(name) : undefined;
        };
        const own = macroExprs.get(macro.name);
        if (own) {
          const res = resolveMacros(own, visible);
          if (res.problem) {
            const mt = this.#macroTexts[k];
            const local = res.problem.span.start - (k + 1) * MACRO_SPAN_BASE;
            throw new LoadError(
              'LOAD_ERR_VALIDATE',
              res.problem.message,
              mt ? this.#exprCtx(macro.ctx, macro.cond, mt.sub.origin(local)) : macro.ctx,
            );
          }
          for (const n of res.resolved) macroUsed.add(n);
          macroExprs.set(macro.name, res.expr);
        }
        k++;
      }
      for (const rule of this.#collector.rules.values()) {
        const compiled = this.#compileRule(rule, listOrder, macroExprs, macroUsed);
        if (compiled) pending.push(compiled);
      }
    } catch (e) {
      if (e instanceof LoadError) {
        this.#result.error(e.code, e.message, e.ctx);
        return undefined;
      }
      throw e;
    }

    const rules = shareRules(pending);

    const macros: MacroInfo[] = [];
    for (const m of this.#collector.macros.values()) {
      const used = macroUsed.has(m.name);
      if (!used)
        this.#result.warning('LOAD_UNUSED_MACRO', 'Macro not referred to by any other rule/macro', m.ctx);
      macros.push({
        name: m.name,
        condition: m.cond.text,
        source: this.#macroUsedBy.get(m.name) ?? '',
        used,
        position: m.ctx.last.position,
      });
    }
    const listInfos: ListInfo[] = [];
    for (const l of lists.values()) {
      const collected = this.#collector.lists.get(l.name);
      if (!l.used && collected) {
        this.#result.warning(
          'LOAD_UNUSED_LIST',
          'List not referred to by any other rule/macro',
          collected.ctx,
        );
      }
      if (collected)
        listInfos.push({ name: l.name, items: l.items, used: l.used, position: collected.ctx.last.position });
    }
    return { rules, macros, lists: listInfos };
  }

  #compileRule(
    rule: CollectedRule,
    lists: readonly ResolvedList[],
    macros: ReadonlyMap<string, Expr>,
    macroUsed: Set<string>,
  ): Pending | undefined {
    if (rule.unknownSource) return undefined;
    const source = this.#sources.get(rule.source);
    if (!source)
      throw new LoadError('LOAD_ERR_VALIDATE', `Unknown source at compile-time${rule.source}`, rule.ctx);
    const fields = source.fields as unknown as FieldRegistry<SakerEvent>;

    let text = rule.cond;
    if (rule.exceptions.length > 0)
      text = text.prefixed('(').concat(`)${exceptionConditionText(rule.exceptions)}`);

    // The output.
    let output = rule.output;
    if (output.text.includes(CONTAINER_INFO)) {
      this.#result.warning(
        'LOAD_DEPRECATED_ITEM',
        '%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.',
        rule.ctx,
      );
      output = stripText(output, CONTAINER_INFO);
    }
    const out = compileOutput(output.text, fields);
    if (!out.ok) {
      if (isUnknownFieldMessage(out.message) && rule.skipIfUnknownFilter) {
        this.#result.warning('LOAD_UNKNOWN_FILTER', out.message, rule.outputCtx);
        return undefined;
      }
      throw new LoadError(
        'LOAD_ERR_COMPILE_OUTPUT',
        out.message,
        this.#exprCtx(rule.outputCtx, output, out.offset, 'rule output expression'),
      );
    }
    for (const f of DEPRECATED_FIELDS) {
      if (output.text.includes(f)) {
        this.#result.warning(
          'LOAD_DEPRECATED_ITEM',
          `usage of deprecated field '${f}' has been detected in the rule output`,
          rule.outputCtx,
        );
      }
    }

    // The condition: lists, parse, macros.
    const sub = substituteLists(text.text, lists);
    const parsed = parseCondition(sub.text);
    if (!parsed.ok) {
      throw new LoadError(
        'LOAD_ERR_COMPILE_CONDITION',
        parsed.message,
        this.#exprCtx(rule.condCtx, text, sub.origin(parsed.offset)),
      );
    }
    const res = resolveMacros(parsed.expr, (name) => macros.get(name));
    if (res.problem) {
      throw new LoadError(
        'LOAD_ERR_VALIDATE',
        res.problem.message,
        this.#spanCtx(rule.ctx, text, sub, res.problem.span),
      );
    }
    for (const n of res.resolved) {
      macroUsed.add(n);
      if (!this.#macroUsedBy.has(n)) this.#macroUsedBy.set(n, rule.source);
    }
    const expr = res.expr;

    // Warnings on the resolved tree.
    const usedFields: string[] = [];
    const na = { count: 0 };
    scanTree(expr, usedFields, na);
    const exprCtx = this.#exprCtx(rule.condCtx, text, 0);
    if (na.count > 0) {
      this.#result.warning(
        'LOAD_UNSAFE_NA_CHECK',
        "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. If you need to check for the existence of a field, consider using the 'exists' operator instead.",
        exprCtx,
      );
    }
    for (const f of DEPRECATED_FIELDS) {
      if (usedFields.includes(f)) {
        this.#result.warning('LOAD_DEPRECATED_ITEM', f === 'evt.dir' ? EVT_DIR_DESC : LATENCY_DESC, exprCtx);
      }
    }

    const unknown = firstUnknown(expr, fields, source.typed);
    if (unknown) {
      const ctx = this.#spanCtx(rule.condCtx, text, sub, unknown.span);
      if (rule.skipIfUnknownFilter) {
        this.#result.warning('LOAD_UNKNOWN_FILTER', unknown.message, ctx);
        return undefined;
      }
      throw new LoadError('LOAD_ERR_COMPILE_CONDITION', unknown.message, ctx);
    }
    const compiled = compileCondition(expr, fields);
    if (!compiled.ok) {
      const ctx = this.#spanCtx(rule.condCtx, text, sub, compiled.span);
      if (isUnknownFieldMessage(compiled.message) && rule.skipIfUnknownFilter) {
        this.#result.warning('LOAD_UNKNOWN_FILTER', compiled.message, ctx);
        return undefined;
      }
      throw new LoadError('LOAD_ERR_COMPILE_CONDITION', compiled.message, ctx);
    }

    let evttypes: readonly string[] | undefined;
    if (source.typed) {
      const types = eventTypesOf(expr);
      evttypes = types === undefined ? undefined : [...types].sort();
      if ((types === undefined || types.size > MAX_EVTTYPES) && rule.warnEvttypes) {
        this.#result.warning(
          'LOAD_NO_EVTTYPE',
          'Rule matches too many evt.type values. This has a significant performance penalty.',
          rule.ctx,
        );
      }
    }

    const info: RuleInfo = {
      name: rule.name,
      desc: rule.desc,
      condition: rule.cond.text,
      output: output.text,
      priority: rule.priority,
      source: rule.source,
      tags: [...rule.tags].sort(),
      enabled: rule.enabled,
      evttypes,
      warnEvttypes: rule.warnEvttypes,
      skipIfUnknownFilter: rule.skipIfUnknownFilter,
      position: rule.ctx.last.position,
    };
    return { rule: { info, source, matches: compiled.predicate, output: out.template }, expr, fields };
  }
}

/**
 * Recompiles the rules of each source together, so they share identical
 * subtrees and cache their results per event (compile/optimise.ts), and, for
 * syscall rules, specialises each condition to each of its event types. Every
 * condition here already compiled on its own; should a shared compilation
 * fail all the same, the rule keeps its own predicate.
 */
function shareRules(pending: readonly Pending[]): CompiledRule[] {
  interface Group {
    readonly plan: SharedPlan;
    readonly fields: FieldRegistry<SakerEvent>;
    readonly trees: Expr[];
  }
  const groups = new Map<string, Group>();
  const work = pending.map((p) => {
    const name = p.rule.source.name;
    let g = groups.get(name);
    if (g === undefined) {
      g = { plan: new SharedPlan(), fields: p.fields, trees: [] };
      groups.set(name, g);
    }
    const group = g;
    const tree = (e: Expr): number => {
      group.plan.count(e);
      group.trees.push(e);
      return group.trees.length - 1;
    };
    const generic = tree(p.expr);
    const byType: [string, number | boolean][] = [];
    // Only syscall events are indexed by `evt.type`, and there `evt.type` is the indexed type.
    if (name === 'syscall' && p.rule.info.evttypes !== undefined) {
      for (const t of p.rule.info.evttypes) {
        const f = foldEventType(p.expr, t);
        byType.push([t, typeof f === 'boolean' ? f : tree(f)]);
      }
    }
    return { p, group, generic, byType };
  });
  const compiled = new Map<Group, Predicate<SakerEvent>[] | undefined>();
  for (const g of groups.values()) compiled.set(g, compileAll(g.trees, g.fields, g.plan));
  return work.map(({ p, group, generic, byType }) => {
    const preds = compiled.get(group);
    if (preds === undefined) return p.rule;
    const special = new Map<string, Predicate<SakerEvent> | false>();
    for (const [t, f] of byType) {
      if (f === false) special.set(t, false);
      else if (f === true) special.set(t, () => true);
      else special.set(t, preds[f]!);
    }
    return {
      ...p.rule,
      matches: preds[generic]!,
      ...(special.size > 0 ? { byType: special } : {}),
      cache: group.plan.cache,
    };
  });
}

/** Removes every occurrence of `needle`, keeping the positions of what remains. */
function stripText(text: SourcedText, needle: string): SourcedText {
  const t = text.text;
  const keep: number[] = [];
  let i = 0;
  while (i < t.length) {
    if (t.startsWith(needle, i)) i += needle.length;
    else keep.push(i++);
  }
  const stripped = keep.map((k) => t[k]).join('');
  const piece = text.pieces[0];
  if (!piece) return new SourcedText(stripped);
  const fileOffset = (j: number): number => text.locate(keep[j] ?? 0)?.offset ?? 0;
  return new SourcedText(stripped, [{ start: 0, length: stripped.length, file: piece.file, fileOffset }]);
}

export function compileCollected(
  collector: Collector,
  result: FileResult,
  sources: ReadonlyMap<string, AnySourceDef>,
  positionOf: PositionOf,
): CompileOutput | undefined {
  return new RuleCompiler(collector, result, sources, positionOf).compile();
}
