/**
 * The UI's filters as Elasticsearch/OpenSearch query DSL, over the documents
 * Saker's elasticsearch sink (and falcosidekick's) writes: Falco's JSON
 * alert with `@timestamp`, mapped dynamically (strings are `text` with a
 * `.keyword` subfield) or by a template (`keyword`/`wildcard` fields).
 * Values only ever go into JSON (term, terms, wildcard values), never into a
 * query string, so no character is syntax. Free text matches what the
 * SQLite store's does (store-sql.ts, docs/ui.md "Free text"): the literal
 * text (`*q*` wildcard queries, `*`, `?` and `\` escaped), and each ASCII
 * word of it as a whole word, the last one from the start of a word
 * (regexp queries over letters and digits only), ASCII case folded.
 */
import { PRIORITIES } from '@saker/rules';
import type { Filters } from './filters.js';
import { FIELD_COLUMNS, asciiLower } from './filters.js';

export type Query = Record<string, unknown>;

/** Where a document's fields are, as read from the index pattern's mappings. */
export interface FieldPaths {
  /** The field (or subfield) that holds a field's whole value as one term, or null when there is none. */
  exact(path: string): string | null;
  /** The field's mapping type (`keyword`, `text`, `long`, …), or null when unmapped. */
  type(path: string): string | null;
  /** Every mapped field under `output_fields`, by its dotted name as in the alert. */
  outputFields(): readonly string[];
}

const EXACT_TYPES = new Set(['keyword', 'wildcard', 'constant_keyword']);
const NUMERIC_TYPES = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
]);

interface MappingNode {
  type?: string;
  properties?: Record<string, MappingNode>;
  fields?: Record<string, MappingNode>;
}

/** FieldPaths from `GET <pattern>/_mapping`'s answer (every index's mapping merged; the first type seen wins). */
export function fieldPaths(mappingAnswer: unknown): FieldPaths {
  const types = new Map<string, string>();
  const exact = new Map<string, string>();
  const walk = (props: Record<string, MappingNode>, prefix: string): void => {
    for (const [name, node] of Object.entries(props)) {
      const path = `${prefix}${name}`;
      if (node.properties !== undefined) walk(node.properties, `${path}.`);
      if (node.type === undefined || types.has(path)) continue;
      types.set(path, node.type);
      if (EXACT_TYPES.has(node.type)) {
        exact.set(path, path);
      } else {
        for (const [sub, subNode] of Object.entries(node.fields ?? {})) {
          if (subNode.type !== undefined && EXACT_TYPES.has(subNode.type)) {
            exact.set(path, `${path}.${sub}`);
            break;
          }
        }
      }
    }
  };
  if (typeof mappingAnswer === 'object' && mappingAnswer !== null) {
    for (const index of Object.values(mappingAnswer as Record<string, { mappings?: MappingNode }>)) {
      const props = index?.mappings?.properties;
      if (props !== undefined) walk(props, '');
    }
  }
  const prefix = 'output_fields.';
  const outputs = [...types.keys()].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  return {
    exact: (path) => exact.get(path) ?? null,
    type: (path) => types.get(path) ?? null,
    outputFields: () => outputs,
  };
}

/** A wildcard pattern's value that matches `text` anywhere, literally. */
function containsPattern(text: string): string {
  return `*${text.replace(/[\\*?]/g, (c) => `\\${c}`)}*`;
}

/** Every spelling of the priorities of `ranks` (Falco writes `Warning`; `INFO` is `Informational`). */
function prioritySpellings(ranks: readonly number[]): string[] {
  const out: string[] = [];
  for (const r of ranks) {
    const p = PRIORITIES[r];
    if (p === undefined) continue;
    const label = p.charAt(0) + p.slice(1).toLowerCase();
    out.push(label, p, p.toLowerCase());
    if (p === 'INFORMATIONAL') out.push('Info', 'INFO', 'info');
  }
  return out;
}

const NONE: Query = { match_none: {} };

/** One ASCII word of free text; `prefix` when it ends q (then it may be the start of a longer word). */
interface TextWord {
  readonly word: string;
  readonly prefix: boolean;
}

const isAscii = (c: string | undefined): boolean => c !== undefined && c.charCodeAt(0) < 128;

/**
 * The words of `q` a match must hold as words, as the SQLite store's FTS5
 * (unicode61) index sees them: runs of ASCII letters and digits bounded by
 * other ASCII characters or q's ends; runs next to a non-ASCII character are
 * left out (the tokenizer counts those as part of a word).
 */
function textWords(q: string): TextWord[] {
  const out: TextWord[] = [];
  const re = /[A-Za-z0-9]+/g;
  for (let m = re.exec(q); m !== null; m = re.exec(q)) {
    const before = q[m.index - 1];
    const after = q[m.index + m[0].length];
    if ((before !== undefined && !isAscii(before)) || (after !== undefined && !isAscii(after))) continue;
    out.push({ word: m[0], prefix: after === undefined });
  }
  return out;
}

/** A character that ends a word: ASCII but not a letter or digit (Lucene regexp class, literal code points). */
const BOUNDARY = `[^a-zA-Z0-9\u0080-${String.fromCodePoint(0x10ffff)}]`;

/** A Lucene regexp matching a value that holds `w` as a word (or a word's start). Words are letters and digits: nothing to escape. */
function wordPattern(w: TextWord): string {
  return `(.*${BOUNDARY})?${w.word}${w.prefix ? '.*' : `(${BOUNDARY}.*)?`}`;
}

/** The ASCII words of a field name, as the tokenizer splits it. */
function nameWords(name: string): string[] {
  return name.split(/[^A-Za-z0-9\u0080-\u{10ffff}]+/u).map(asciiLower);
}

export class QueryBuilder {
  readonly #paths: FieldPaths;
  readonly #time: string;

  constructor(paths: FieldPaths, timeField: string) {
    this.#paths = paths;
    this.#time = timeField;
  }

  /** The exact path of a top-level field, its `.keyword` guess when unmapped (a term on an unmapped field matches nothing). */
  exact(path: string): string {
    return this.#paths.exact(path) ?? (this.#paths.type(path) === null ? path : `${path}.keyword`);
  }

  /** Matches documents whose field `path` is one of `values`; '' stands for "absent", as the SQLite store's ''. */
  #oneOf(path: string, values: readonly string[]): Query | null {
    if (values.length === 0) return null;
    const type = this.#paths.type(path);
    const present = values.filter((v) => v !== '');
    const should: Query[] = [];
    if (present.length > 0) {
      if (type !== null && NUMERIC_TYPES.has(type)) {
        const numbers = present.filter((v) => /^-?\d+(\.\d+)?$/.test(v)).map(Number);
        if (numbers.length > 0) should.push({ terms: { [path]: numbers } });
      } else if (type === 'boolean') {
        const bools = present.filter((v) => v === 'true' || v === 'false');
        if (bools.length > 0) should.push({ terms: { [path]: bools } });
      } else {
        should.push({ terms: { [this.exact(path)]: present } });
      }
    }
    if (present.length < values.length) should.push({ bool: { must_not: { exists: { field: path } } } });
    if (should.length === 0) return NONE;
    return should.length === 1 ? (should[0] ?? NONE) : { bool: { should, minimum_should_match: 1 } };
  }

  /** The filters as a `bool` query (without free text when `withText` is false). */
  filter(f: Filters): Query {
    const must: Query[] = [];
    const add = (q: Query | null): void => {
      if (q !== null) must.push(q);
    };
    const out = (name: string): string => `output_fields.${name}`;
    add(this.#oneOf('source', f.sources));
    if (f.priorities.length > 0)
      add({ terms: { [this.exact('priority')]: prioritySpellings(f.priorities) } });
    if (f.minPriority !== null) {
      const ranks = PRIORITIES.map((_, i) => i).filter((i) => i <= (f.minPriority ?? 0));
      add({ terms: { [this.exact('priority')]: prioritySpellings(ranks) } });
    }
    add(this.#oneOf('hostname', f.hostnames));
    add(this.#oneOf('rule', f.rules));
    add(this.#oneOf('tags', f.tags));
    add(this.#oneOf(out(FIELD_COLUMNS.namespace), f.namespaces));
    add(this.#oneOf(out(FIELD_COLUMNS.pod), f.pods));
    add(this.#oneOf(out(FIELD_COLUMNS.image), f.images));
    if (f.nodes.length > 0) {
      // The node is k8s.node.name when the alert has it, else its hostname (event.ts, nodeOf).
      const nodeField = out('k8s.node.name');
      add({
        bool: {
          should: [
            this.#oneOf(
              nodeField,
              f.nodes.filter((n) => n !== ''),
            ) ?? NONE,
            {
              bool: {
                must_not: { exists: { field: nodeField } },
                filter: this.#oneOf('hostname', f.nodes) ?? NONE,
              },
            },
          ],
          minimum_should_match: 1,
        },
      });
    }
    for (const [name, values] of f.fields) add(this.#oneOf(out(name), values));
    if (f.from !== null || f.to !== null) {
      const range: Record<string, unknown> = { format: 'epoch_millis' };
      if (f.from !== null) range.gte = f.from;
      if (f.to !== null) range.lte = f.to;
      add({ range: { [this.#time]: range } });
    }
    if (f.q !== null) add(this.text(f.q));
    return must.length === 0 ? { match_all: {} } : { bool: { filter: must } };
  }

  /**
   * Free text, literally, over what the SQLite store searches (event.ts,
   * docOf): the rule, the output, each output field's name and value. An
   * output too long for its `.keyword` subfield (dynamic mapping's
   * ignore_above) is matched as a phrase of its text field instead.
   */
  text(q: string): Query {
    const value = containsPattern(q);
    const literal = this.#anyPart(
      (path) => ({ wildcard: { [path]: { value, case_insensitive: true } } }),
      (name) => asciiLower(name).includes(asciiLower(q)),
      (field) => ({ match_phrase_prefix: { [field]: q } }),
    );
    const words = textWords(q).map((w) => {
      const lower = asciiLower(w.word);
      return this.#anyPart(
        (path) => ({ regexp: { [path]: { value: wordPattern(w), case_insensitive: true } } }),
        (name) => nameWords(name).some((n) => (w.prefix ? n.startsWith(lower) : n === lower)),
        (field) => ({ [w.prefix ? 'match_phrase_prefix' : 'match_phrase']: { [field]: w.word } }),
      );
    });
    return { bool: { filter: [literal, ...words] } };
  }

  /**
   * Matches a document when `onValue` matches its rule, its output or one
   * of its output fields' values, or `onName` holds for one of its output
   * fields' names. A text field without an exact subfield for a document
   * (dynamic mapping's `.keyword` stops at 256 characters) is matched by
   * `onText` (a phrase query of its words) instead.
   */
  #anyPart(
    onValue: (path: string) => Query,
    onName: (name: string) => boolean,
    onText: (field: string) => Query,
  ): Query {
    const should: Query[] = [];
    for (const top of ['rule', 'output']) {
      const exact = this.#paths.exact(top);
      if (exact !== null) should.push(onValue(exact));
      if (this.#paths.type(top) === 'text') {
        const match = onText(top);
        should.push(
          exact === null || exact === top
            ? match
            : { bool: { must: match, must_not: { exists: { field: exact } } } },
        );
      }
    }
    for (const name of this.#paths.outputFields()) {
      const path = `output_fields.${name}`;
      const exact = this.#paths.exact(path);
      if (exact !== null) should.push(onValue(exact));
      if (onName(name)) should.push({ exists: { field: path } });
    }
    return should.length === 0 ? NONE : { bool: { should, minimum_should_match: 1 } };
  }
}
