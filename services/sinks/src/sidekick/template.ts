/**
 * falcosidekick's `templatedfields`: a small, safe subset of Go templates
 * (field lookups, string literals and `or`; no code), parsed once and
 * rendered over an alert. Pure: no I/O.
 */
import type { FalcoAlert, OutputFieldValue } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';

type Expr =
  | { readonly kind: 'lit'; readonly value: string }
  | { readonly kind: 'field'; readonly key: string }
  | { readonly kind: 'top'; readonly key: keyof FalcoAlert }
  | { readonly kind: 'or'; readonly args: readonly Expr[] };

type Part = string | Expr;

const TOP_KEYS: Readonly<Record<string, keyof FalcoAlert>> = {
  rule: 'rule',
  priority: 'priority',
  output: 'output',
  hostname: 'hostname',
  source: 'source',
  time: 'time',
  tags: 'tags',
  Rule: 'rule',
  Priority: 'priority',
  Output: 'output',
  Hostname: 'hostname',
  Source: 'source',
  Time: 'time',
  Tags: 'tags',
};
const FIELDS_ROOTS = new Set(['.output_fields', '.OutputFields']);
const TOKEN = /\s*(?:("(?:[^"\\\n]|\\.)*")|([()[\]])|(\.[A-Za-z_][A-Za-z0-9_]*|\.|[A-Za-z_][A-Za-z0-9_]*))/y;

class TemplateParser {
  readonly #tokens: string[] = [];
  #i = 0;

  constructor(
    readonly path: string,
    action: string,
  ) {
    TOKEN.lastIndex = 0;
    let at = 0;
    while (at < action.length) {
      if (action.slice(at).trim() === '') break;
      TOKEN.lastIndex = at;
      const m = TOKEN.exec(action);
      if (!m) throw this.error(`unexpected ${JSON.stringify(action.slice(at).trim().slice(0, 20))}`);
      this.#tokens.push(m[1] ?? m[2] ?? m[3] ?? '');
      at = TOKEN.lastIndex;
    }
  }

  error(why: string): SinksOptionsError {
    return new SinksOptionsError(
      this.path,
      `${why} (supported: field lookups such as {{ .output_fields["k8s.ns.name"] }}, {{ index . "k" }}, {{ .rule }}, string literals and or)`,
    );
  }

  #peek(): string | undefined {
    return this.#tokens[this.#i];
  }

  #next(what: string): string {
    const t = this.#tokens[this.#i++];
    if (t === undefined) throw this.error(`expected ${what}, got the end of the action`);
    return t;
  }

  parse(): Expr {
    const e = this.#expr();
    const rest = this.#peek();
    if (rest !== undefined) throw this.error(`unexpected ${JSON.stringify(rest)}`);
    return e;
  }

  #expr(): Expr {
    const t = this.#peek();
    if (t === 'or') {
      this.#i++;
      const args: Expr[] = [];
      while (this.#peek() !== undefined && this.#peek() !== ')') args.push(this.#arg());
      if (args.length < 1) throw this.error('or needs arguments');
      return { kind: 'or', args };
    }
    if (t === 'index') {
      this.#i++;
      const root = this.#next('. or .output_fields');
      if (root !== '.' && !FIELDS_ROOTS.has(root)) throw this.error(`cannot index ${JSON.stringify(root)}`);
      return { kind: 'field', key: this.#string() };
    }
    return this.#arg();
  }

  #arg(): Expr {
    const t = this.#next('a value');
    if (t === '(') {
      const e = this.#expr();
      if (this.#next(')') !== ')') throw this.error('expected )');
      return e;
    }
    if (t.startsWith('"')) return { kind: 'lit', value: this.#unquote(t) };
    if (FIELDS_ROOTS.has(t)) {
      if (this.#next('[') !== '[') throw this.error(`expected [ after ${t}`);
      const key = this.#string();
      if (this.#next(']') !== ']') throw this.error('expected ]');
      return { kind: 'field', key };
    }
    const top = t.startsWith('.') ? TOP_KEYS[t.slice(1)] : undefined;
    if (top !== undefined) return { kind: 'top', key: top };
    throw this.error(`${JSON.stringify(t)} is not supported`);
  }

  #string(): string {
    const t = this.#next('a string');
    if (!t.startsWith('"')) throw this.error(`expected a string, got ${JSON.stringify(t)}`);
    return this.#unquote(t);
  }

  #unquote(t: string): string {
    try {
      return JSON.parse(t) as string;
    } catch {
      throw this.error(`bad string ${t}`);
    }
  }
}

export function valueText(v: OutputFieldValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(String).join(',');
  return String(v);
}

/**
 * A compiled template: text with `{{ … }}` actions. An action is a field
 * lookup (`.output_fields["k"]`, `.OutputFields["k"]`, `index . "k"`,
 * `index .OutputFields "k"`), an alert key (`.rule`, `.priority`,
 * `.output`, `.hostname`, `.source`, `.time`, `.tags`, or Go's capitalized
 * names), a string literal, or `or a b …` (the first non-empty). Missing
 * fields render empty. Nothing else is accepted: no functions, no pipes.
 */
export class Template {
  readonly #parts: readonly Part[];
  readonly source: string;

  constructor(path: string, source: string) {
    this.source = source;
    const parts: Part[] = [];
    let rest = source;
    for (;;) {
      const open = rest.indexOf('{{');
      if (open < 0) break;
      const close = rest.indexOf('}}', open + 2);
      if (close < 0) throw new SinksOptionsError(path, 'unterminated {{');
      if (open > 0) parts.push(rest.slice(0, open));
      parts.push(new TemplateParser(path, rest.slice(open + 2, close)).parse());
      rest = rest.slice(close + 2);
    }
    if (rest.includes('}}')) throw new SinksOptionsError(path, 'unmatched }}');
    if (rest !== '') parts.push(rest);
    this.#parts = parts;
  }

  /** Renders the template; `escapeValue` is applied to looked-up values, never to the literal text. */
  render(alert: FalcoAlert, escapeValue: (s: string) => string = (s) => s): string {
    let out = '';
    for (const p of this.#parts) {
      if (typeof p === 'string') out += p;
      else out += escapeValue(evaluate(p, alert));
    }
    return out;
  }
}

function evaluate(e: Expr, alert: FalcoAlert): string {
  switch (e.kind) {
    case 'lit':
      return e.value;
    case 'field':
      return Object.hasOwn(alert.output_fields, e.key) ? valueText(alert.output_fields[e.key]) : '';
    case 'top': {
      const v = alert[e.key];
      return typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : '';
    }
    case 'or': {
      let last = '';
      for (const a of e.args) {
        last = evaluate(a, alert);
        if (last !== '') return last;
      }
      return last;
    }
  }
}
