import type { FieldRegistry } from '../fields/registry.js';
import { type OutputFieldValue, type OutputTemplate, compileOutput } from './format.js';

/**
 * Falco's `append_output` (falco.yaml): text and fields added to the output
 * of the rules an entry matches. Worked out per rule when a ruleset is
 * prepared (Ruleset.withAppendedOutput), compiled once with the rule's own
 * output, never per alert.
 *
 * For each entry, in order, whose `match` holds for the rule:
 * - `extraOutput` is appended to the output text after a space;
 * - `suggestedOutput` appends ` name_with_underscores=%the.field` for each of
 *   the source's suggested fields (SourceDef.suggestedOutputFields);
 * - `extraFields` add keys to the output fields only (JSON / structured
 *   output), not to the text: a field name (`evt.hostname`) keeps the field's
 *   typed value; `{ name, format }` holds the rendered format as a string. A
 *   later entry's key replaces an earlier one's.
 */

/** Which rules an entry applies to: every condition given must hold. */
interface AppendOutputMatch {
  /** Exactly this rule name; null or absent: any rule. */
  readonly rule?: string | null;
  /** Rules of this source; null or absent: any source. */
  readonly source?: string | null;
  /** Rules that have every one of these tags; empty or absent: any tags. */
  readonly tags?: readonly string[];
}

/** A field name (its typed value), or a custom name with a format (its text). */
export type ExtraOutputField = string | { readonly name: string; readonly format: string };

export interface AppendOutputEntry {
  readonly match?: AppendOutputMatch;
  /** Appended to the output text after a space, with %field substitution; '' or absent: nothing. */
  readonly extraOutput?: string;
  readonly extraFields?: readonly ExtraOutputField[];
  /** Append the source's suggested fields as `name_with_underscores=%the.field`. */
  readonly suggestedOutput?: boolean;
}

/** Falco's default (falco.yaml ships `append_output: [ { suggested_output: true } ]`). */
export const FALCO_DEFAULT_APPEND_OUTPUT: readonly AppendOutputEntry[] = Object.freeze([
  Object.freeze({ suggestedOutput: true }),
]);

/** What append_output adds to one rule, as RuleInfo.appended shows it. */
export interface AppendedOutput {
  /** The text appended to the rule's output, each part after a space. */
  readonly text: string;
  /** Extra output fields: the key, its format (`%evt.hostname` for a field), whether it is a field's raw value. */
  readonly fields: readonly AppendedField[];
}

interface AppendedField {
  readonly key: string;
  readonly format: string;
  /** A field named by itself: its value keeps its type (a number stays a number). */
  readonly raw: boolean;
  /** The configuration path it came from, for errors: `append_output[1].extra_fields[0]`. */
  readonly path: string;
}

interface AppendedText {
  readonly text: string;
  readonly path: string;
}

/** The rule as append_output sees it. */
export interface AppendTarget {
  readonly name: string;
  readonly source: string;
  readonly tags: readonly string[];
}

function matches(m: AppendOutputMatch | undefined, rule: AppendTarget): boolean {
  if (m === undefined) return true;
  if (m.rule !== undefined && m.rule !== null && m.rule !== rule.name) return false;
  if (m.source !== undefined && m.source !== null && m.source !== rule.source) return false;
  for (const t of m.tags ?? []) if (!rule.tags.includes(t)) return false;
  return true;
}

/** `container.image.repository` → `container_image_repository=%container.image.repository`. */
function suggestedFormat(field: string): string {
  return `${field.replaceAll('.', '_')}=%${field}`;
}

/**
 * What the entries add to `rule`, in Falco's order (per entry: the extra
 * output, then the suggested fields, then the extra fields); undefined when
 * no entry adds anything.
 */
export function appendedOutputFor(
  rule: AppendTarget,
  suggested: readonly string[],
  entries: readonly AppendOutputEntry[],
  path = 'append_output',
): { readonly appended: AppendedOutput; readonly texts: readonly AppendedText[] } | undefined {
  const texts: AppendedText[] = [];
  const fields = new Map<string, AppendedField>();
  entries.forEach((entry, i) => {
    if (!matches(entry.match, rule)) return;
    const at = `${path}[${i}]`;
    if (entry.extraOutput !== undefined && entry.extraOutput !== '') {
      texts.push({ text: entry.extraOutput, path: `${at}.extra_output` });
    }
    if (entry.suggestedOutput === true) {
      for (const f of suggested) texts.push({ text: suggestedFormat(f), path: `${at}.suggested_output` });
    }
    (entry.extraFields ?? []).forEach((f, j) => {
      const fieldPath = `${at}.extra_fields[${j}]`;
      const field: AppendedField =
        typeof f === 'string'
          ? { key: f, format: `%${f}`, raw: true, path: fieldPath }
          : { key: f.name, format: f.format, raw: false, path: fieldPath };
      fields.delete(field.key);
      fields.set(field.key, field);
    });
  });
  if (texts.length === 0 && fields.size === 0) return undefined;
  let text = '';
  for (const t of texts) text += ` ${t.text}`;
  return { appended: { text, fields: [...fields.values()] }, texts };
}

export type AppendCompileResult<E> =
  | { readonly ok: true; readonly template: OutputTemplate<E> }
  | { readonly ok: false; readonly message: string };

/**
 * The rule's output template with the appended text and extra fields,
 * compiled once. `own` is the rule's output as loaded; an error names the
 * configuration path of the part that does not compile.
 */
export function compileAppendedOutput<E>(
  own: string,
  appended: { readonly appended: AppendedOutput; readonly texts: readonly AppendedText[] },
  fields: FieldRegistry<E>,
): AppendCompileResult<E> {
  const full = compileOutput(own + appended.appended.text, fields);
  if (!full.ok) {
    // Find the part to blame: the first appended piece that does not compile alone.
    const bad = appended.texts.find((t) => !compileOutput(t.text, fields).ok);
    const alone = bad === undefined ? undefined : compileOutput(bad.text, fields);
    const message = alone !== undefined && !alone.ok ? alone.message : full.message;
    return { ok: false, message: `${bad?.path ?? 'append_output'}: ${message}` };
  }
  const extras: { key: string; raw: boolean; template: OutputTemplate<E> }[] = [];
  for (const f of appended.appended.fields) {
    const out = compileOutput(f.format, fields);
    if (!out.ok) return { ok: false, message: `${f.path}: ${out.message}` };
    if (f.raw && (out.template.fields.length !== 1 || out.template.fields[0] !== f.key)) {
      return { ok: false, message: `${f.path}: ${JSON.stringify(f.key)} is not a field` };
    }
    extras.push({ key: f.key, raw: f.raw, template: out.template });
  }
  return { ok: true, template: withExtraFields(full.template, extras) };
}

function withExtraFields<E>(
  base: OutputTemplate<E>,
  extras: readonly { key: string; raw: boolean; template: OutputTemplate<E> }[],
): OutputTemplate<E> {
  if (extras.length === 0) return base;
  return {
    fields: base.fields,
    render(event: E) {
      const out = base.render(event);
      for (const x of extras) {
        const r = x.template.render(event);
        const v: OutputFieldValue = x.raw ? (r.fields[x.key] ?? null) : r.text;
        out.fields[x.key] = v;
      }
      return out;
    },
  };
}
