/**
 * falcosidekick's common output semantics, for any output that opts in:
 *
 * - `minimumpriority`: the framework's own `minimumPriority` (sidekickSettings maps it);
 * - `customfields`: `key:value` pairs set in `output_fields`;
 * - `customtags`: tags added to `tags`;
 * - `templatedfields`: `output_fields` rendered from a small, safe subset of
 *   Go templates (field lookups, string literals and `or`; no code);
 * - `checkcert` (verify the receiver's certificate, default true), mutual
 *   TLS (client certificate and key, CA) and custom headers: SidekickHttp,
 *   the transport the chat outputs share.
 *
 * An output opts in with `sidekickSettings(output, common)`: its alerts are
 * enriched (withSidekick) before it sees them, and `raw` is re-rendered so
 * the JSON carries the added fields and tags.
 */
import {
  type FalcoAlert,
  type OutputFieldValue,
  type Priority,
  formatAlertJson,
  parsePriority,
} from '@saker/rules';
import { type AlertFormat, DEFAULT_FORMAT } from './alert.js';
import { SinksOptionsError } from './errors.js';
import type { OutputSettings } from './options.js';
import {
  HttpTransport,
  type HttpTransportOptions,
  checkHeaders,
  parseHttpUrl,
  readPem,
} from './outputs/http-client.js';
import type { Delivery, Output } from './outputs/output.js';

// --- key:value lists ---------------------------------------------------------

/**
 * falcosidekick's `key:value,key:value` (environment-variable form) or a map,
 * as a map. The value is everything after the first `:`.
 */
export function parseKeyValues(
  path: string,
  v: string | Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  const entries: [string, string][] = [];
  if (typeof v === 'string') {
    for (const part of v.split(',')) {
      if (part.trim() === '') continue;
      const at = part.indexOf(':');
      if (at <= 0) throw new SinksOptionsError(path, `expected key:value, got ${JSON.stringify(part)}`);
      entries.push([part.slice(0, at).trim(), part.slice(at + 1).trim()]);
    }
  } else {
    entries.push(...Object.entries(v));
  }
  for (const [k, val] of entries) {
    if (k === '') throw new SinksOptionsError(path, 'empty key');
    out[k] = val;
  }
  return out;
}

function parseList(v: string | readonly string[] | undefined): string[] {
  if (v === undefined) return [];
  const items = typeof v === 'string' ? v.split(',') : [...v];
  return items.map((t) => t.trim()).filter((t) => t !== '');
}

// --- templates -----------------------------------------------------------------

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

function valueText(v: OutputFieldValue | undefined): string {
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

// --- enrichment ----------------------------------------------------------------

export interface SidekickTlsOptions {
  /** Verify the receiver's certificate (falcosidekick's `checkcert`). Default true. */
  readonly checkCert?: boolean;
  /** PEM file of a CA to trust instead of the system's. */
  readonly caCertFile?: string;
  /** Client certificate and key (falcosidekick's `mutualtls`), and the CA of the receiver. */
  readonly mutualTls?: {
    readonly clientCertFile: string;
    readonly clientKeyFile: string;
    readonly caCertFile?: string;
  } | null;
}

export interface SidekickHttpOptions extends SidekickTlsOptions {
  /** Extra request headers (`customheaders`): a map or `key:value,key:value`. */
  readonly headers?: Readonly<Record<string, string>> | string;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  /** Default `Saker-Sinks`. */
  readonly userAgent?: string;
  /** HTTP/1.1 pipelining depth per connection (Saker's; see HttpTransportOptions.pipelining). Default 1: none. */
  readonly pipelining?: number;
}

export interface SidekickCommonOptions extends SidekickHttpOptions {
  /** `minimumpriority`; the framework's minimumPriority. Default: every alert. */
  readonly minimumPriority?: Priority | string;
  /** `customfields`: set in output_fields (they replace an alert's own value of that key). */
  readonly customFields?: Readonly<Record<string, string>> | string;
  /** `customtags`: added to tags. */
  readonly customTags?: readonly string[] | string;
  /** `templatedfields`: key → template (see Template), rendered over the alert as received. */
  readonly templatedFields?: Readonly<Record<string, string>>;
}

/** The enrichment of one output: identity when nothing is configured. */
export interface Enricher {
  readonly active: boolean;
  enrich(alert: FalcoAlert): FalcoAlert;
}

export function compileEnricher(path: string, o: SidekickCommonOptions): Enricher {
  const custom = parseKeyValues(`${path}.customFields`, o.customFields);
  const tags = parseList(o.customTags);
  const templated: [string, Template][] = Object.entries(o.templatedFields ?? {}).map(([k, src]) => {
    if (k === '') throw new SinksOptionsError(`${path}.templatedFields`, 'empty key');
    return [k, new Template(`${path}.templatedFields[${JSON.stringify(k)}]`, src)];
  });
  const active = Object.keys(custom).length > 0 || tags.length > 0 || templated.length > 0;
  return {
    active,
    enrich(alert) {
      if (!active) return alert;
      const fields: Record<string, OutputFieldValue> = { ...alert.output_fields };
      for (const [k, v] of Object.entries(custom)) fields[k] = v;
      // Templates see the alert as received, as falcosidekick renders them over the payload's fields.
      for (const [k, t] of templated) fields[k] = t.render(alert);
      const allTags = tags.length > 0 ? [...new Set([...alert.tags, ...tags])].sort() : alert.tags;
      return { ...alert, output_fields: fields, tags: allTags };
    },
  };
}

/**
 * Wraps an output so that it sees enriched alerts, and a `raw` JSON that
 * carries the enrichment (rendered with `format`'s `json_include_*` keys).
 */
export function withSidekick(
  output: Output,
  enricher: Enricher,
  format: AlertFormat = DEFAULT_FORMAT,
): Output {
  if (!enricher.active) return output;
  const opts = {
    includeOutput: format.includeOutput,
    includeTags: format.includeTags,
    includeOutputFields: format.includeOutputFields,
  };
  const one = (alert: FalcoAlert): Delivery => {
    const enriched = enricher.enrich(alert);
    return { alert: enriched, raw: formatAlertJson(enriched, opts) };
  };
  const batch = output.deliverBatch?.bind(output);
  const reopen = output.reopen?.bind(output);
  return {
    name: output.name,
    deliver(alert) {
      const d = one(alert);
      return output.deliver(d.alert, d.raw);
    },
    ...(batch ? { deliverBatch: (items: readonly Delivery[]) => batch(items.map((d) => one(d.alert))) } : {}),
    ...(reopen ? { reopen } : {}),
    close: () => output.close(),
  };
}

/**
 * Output settings for an output that opts in to falcosidekick's semantics:
 * `minimumPriority` from `common` (unless `extra` sets it), alerts enriched
 * with custom fields, custom tags and templated fields.
 */
export function sidekickSettings(
  output: Output,
  common: SidekickCommonOptions,
  extra: Omit<OutputSettings, 'output'> = {},
): OutputSettings {
  const path = `outputs.${output.name}`;
  if (common.minimumPriority !== undefined && parsePriority(common.minimumPriority) === undefined) {
    throw new SinksOptionsError(
      `${path}.minimumPriority`,
      `${JSON.stringify(common.minimumPriority)} is not a Falco priority`,
    );
  }
  const format: AlertFormat = { ...DEFAULT_FORMAT, ...extra.format };
  const minimumPriority = extra.minimumPriority ?? common.minimumPriority;
  return {
    ...extra,
    ...(minimumPriority !== undefined ? { minimumPriority } : {}),
    output: withSidekick(output, compileEnricher(path, common), format),
  };
}

// --- text for chat APIs ------------------------------------------------------------

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0, DEL, C1, and the bidi overrides/isolates that reorder what a reader sees.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Makes one code point visible: newlines, ANSI escapes and other controls
 * become `\n`, `\x1b`, `\u202e` as text, so attacker-controlled output can
 * neither forge lines in a chat message nor hide text.
 */
export function visibleChar(ch: string): string {
  if (!INVISIBLE.test(ch)) return ch;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/**
 * The chat text of an attacker-controlled string: lone surrogates replaced,
 * each code point made visible and escaped with `escapeChar`, cut so the
 * result has at most `max` UTF-16 units (ending with `…` when cut). Cutting
 * after escaping never splits an escape or a surrogate pair.
 */
export function chatText(s: string, max: number, escapeChar: (ch: string) => string = (c) => c): string {
  const clean = s.replace(LONE_SURROGATE, '\uFFFD');
  let out = '';
  let prefix: string | undefined; // the longest prefix that leaves room for `…`
  for (const ch of clean) {
    const piece = escapeChar(visibleChar(ch));
    if (prefix === undefined && out.length + piece.length > max - 1) prefix = out;
    out += piece;
    if (out.length > max) return `${prefix ?? ''}…`;
  }
  return out;
}

/** The first `max` UTF-16 units of `s`, never splitting a surrogate pair. */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Each priority's color (`#rrggbb`), most severe first. */
export const PRIORITY_COLORS: Readonly<Record<Priority, string>> = {
  EMERGENCY: '#7f0000',
  ALERT: '#b71c1c',
  CRITICAL: '#e53935',
  ERROR: '#f4511e',
  WARNING: '#fb8c00',
  NOTICE: '#fdd835',
  INFORMATIONAL: '#1e88e5',
  DEBUG: '#90a4ae',
};

export function priorityColor(priority: string): string {
  return PRIORITY_COLORS[parsePriority(priority) ?? 'DEBUG'];
}

/** The alert's output line, or `Priority: rule` when it has none (an incident title may not be empty). */
export function headline(alert: FalcoAlert): string {
  return alert.output.trim() === '' ? `${alert.priority}: ${alert.rule}` : alert.output;
}

/** `output_fields` as `[key, text]` pairs, sorted by key (a stable message). */
export function fieldTexts(alert: FalcoAlert): [string, string][] {
  return Object.keys(alert.output_fields)
    .sort()
    .map((k) => [k, valueText(alert.output_fields[k])]);
}

// --- transport -------------------------------------------------------------------

/**
 * One receiver URL, with falcosidekick's TLS and header options. `post`
 * resolves on 2xx; 408, 429, 5xx and network errors are retryable, other
 * statuses permanent (HttpTransport's classifier).
 */
export class SidekickHttp {
  readonly #http: HttpTransport;
  readonly #headers: Record<string, string>;

  constructor(name: string, path: string, url: string, o: SidekickHttpOptions = {}) {
    const target = parseHttpUrl(path, url, false);
    const tls: { ca?: Buffer[]; cert?: Buffer; key?: Buffer } = {};
    if (target.protocol === 'https:') {
      const ca: Buffer[] = [];
      if (o.caCertFile) ca.push(readPem(`${path}.caCertFile`, o.caCertFile));
      if (o.mutualTls) {
        tls.cert = readPem(`${path}.mutualTls.clientCertFile`, o.mutualTls.clientCertFile);
        tls.key = readPem(`${path}.mutualTls.clientKeyFile`, o.mutualTls.clientKeyFile);
        if (o.mutualTls.caCertFile) ca.push(readPem(`${path}.mutualTls.caCertFile`, o.mutualTls.caCertFile));
      }
      if (ca.length > 0) tls.ca = ca;
    } else if (o.mutualTls) {
      throw new SinksOptionsError(`${path}.mutualTls`, 'needs an https:// URL');
    }
    const custom = parseKeyValues(`${path}.headers`, o.headers);
    checkHeaders(`${path}.headers`, custom);
    this.#headers = { 'user-agent': o.userAgent ?? 'Saker-Sinks', ...custom };
    const options: HttpTransportOptions = {
      rejectUnauthorized: o.checkCert ?? true,
      ...tls,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      ...(o.pipelining === undefined ? {} : { pipelining: o.pipelining }),
      maxAnswer: 4096,
    };
    this.#http = new HttpTransport(name, target, options);
  }

  /** Sends `body`; the content type is the output's unless a custom header sets it. */
  async post(body: string, contentType = 'application/json', method = 'POST'): Promise<void> {
    const headers: Record<string, string> = { 'content-type': contentType };
    for (const [k, v] of Object.entries(this.#headers)) headers[k.toLowerCase()] = v;
    await this.#http.sendOk(method, this.#http.base, body, headers);
  }

  close(): void {
    this.#http.close();
  }
}
