/**
 * The lazy metadata join. Events carry `container.id`; the container's image,
 * labels and pod come from KV `saker_meta` (written by enrich), joined only
 * when some enabled rule reads them. Whether the loaded ruleset does is worked
 * out once per ruleset, never per event.
 */
import type { SakerEvent } from '@saker/events';
import {
  type Expr,
  type RuleInfo,
  type Ruleset,
  forEachFieldRef,
  forEachNode,
  parseCondition,
} from '@saker/rules';

/** Joins container and Kubernetes metadata into events (the enrich service's side of it). */
export interface MetadataProvider {
  /**
   * The event with its metadata joined (the same event when there is none to
   * join). Called only when the loaded ruleset needs it (see metadataNeed).
   */
  join(event: SakerEvent): SakerEvent | Promise<SakerEvent>;
  /**
   * The same for an event the caller owns (decoded for this batch, shared
   * with nobody): the provider may write the metadata into it rather than
   * copy it. Optional; the engine uses it when present.
   */
  joinOwned?(event: SakerEvent): SakerEvent | Promise<SakerEvent>;
  /**
   * joinBatch's fast path, with joinOwned: joins `events[from]`, `events[from
   * + 1]`, ... in place, in one call, while each needs no more than an answer
   * at once (a hit, or nothing to join), and returns the index of the first
   * that does (for joinOwned), or `events.length`. Optional; it saves a call
   * and the bookkeeping of one per event.
   */
  joinOwnedRun?(events: SakerEvent[], from: number): number;
}

/**
 * What a ruleset reads from joined metadata:
 * - `condition`: a condition reads it, so every event is joined before evaluation;
 * - `output`: only outputs print it, so only events that matched are joined,
 *   then rendered again;
 * - `none`: nothing is joined.
 */
export type MetadataNeed = 'condition' | 'output' | 'none';

/** Fields that come from the join: every container.* and k8s.* field except container.id. */
function isMetadataField(name: string): boolean {
  return (name.startsWith('container.') && name !== 'container.id') || name.startsWith('k8s.');
}

// A format token as libs/rules/src/output/format.ts reads it: `%`, an optional
// width, an optional transformer (`toupper(`), then the field.
const OUTPUT_FIELD = /%\d*(?:[A-Za-z_][A-Za-z0-9_]*\()?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)/g;

/** Whether an output format prints a metadata field. */
function formatNeeds(format: string): boolean {
  for (const m of format.matchAll(OUTPUT_FIELD)) {
    if (m[1] !== undefined && isMetadataField(m[1])) return true;
  }
  return false;
}

/** The formats a rule's alerts render: its output, and what `append_output` adds to the text and fields. */
function outputFormats(rule: RuleInfo): string[] {
  const out = [rule.output];
  if (rule.appended !== undefined) {
    out.push(rule.appended.text);
    for (const f of rule.appended.fields) out.push(f.format);
  }
  return out;
}

/**
 * Decides from the enabled rules' conditions (macros expanded) and outputs
 * (with what `append_output` added: RuleInfo.appended).
 * Exceptions are not visible through RuleInfo, so a metadata field used only
 * in a rule's exceptions is not seen here (see docs/engine.md).
 */
export function metadataNeed(ruleset: Ruleset): MetadataNeed {
  const macros = new Map<string, string>();
  for (const m of ruleset.macros) macros.set(m.name, m.condition);
  const memo = new Map<string, boolean>();

  const exprNeeds = (expr: Expr, visiting: Set<string>): boolean => {
    let found = false;
    forEachFieldRef(expr, (ref) => {
      if (isMetadataField(ref.name)) found = true;
    });
    if (found) return true;
    forEachNode(expr, (node) => {
      if (found || node.kind !== 'identifier') return;
      if (macroNeeds(node.name, visiting)) found = true;
    });
    return found;
  };
  const macroNeeds = (name: string, visiting: Set<string>): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const text = macros.get(name);
    if (text === undefined || visiting.has(name)) return false;
    visiting.add(name);
    const parsed = parseCondition(text);
    const needs = parsed.ok ? exprNeeds(parsed.expr, visiting) : false;
    visiting.delete(name);
    memo.set(name, needs);
    return needs;
  };

  let output = false;
  for (const rule of ruleset.rules) {
    if (!rule.enabled) continue;
    const parsed = parseCondition(rule.condition);
    if (parsed.ok && exprNeeds(parsed.expr, new Set())) return 'condition';
    // What append_output adds (suggested container fields, extra fields) is printed too.
    if (!output) output = outputFormats(rule).some(formatNeeds);
  }
  return output ? 'output' : 'none';
}

/** Whether any enabled rule of `ruleset` reads joined metadata, in its condition or its output. */
export function needsMetadata(ruleset: Ruleset): boolean {
  return metadataNeed(ruleset) !== 'none';
}
