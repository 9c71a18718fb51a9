import { type Priority, parsePriority } from '../priority.js';
import {
  type CollectedRule,
  type Collector,
  type ExceptionEntry,
  type ExceptionInfo,
  NO_ENTRY,
  type RuleUpdate,
  type Version,
  parseVersion,
} from './collect.js';
import { Context, type FileResult, LoadError } from './diagnostics.js';
import { SourcedText } from './text.js';
import { type YMap, type YNode, type YScalar, mapGet, mapKeys, parseYaml, scalarOffsets } from './yaml.js';

/**
 * The reader: checks the shape of every item of a rules file and hands it to
 * the collector. Messages, the order of checks and the "stop at the first
 * error of a file" behaviour follow Falco's rule_loader_reader.
 */

const WARNING_APPEND =
  "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
const WARNING_ENABLED =
  "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').";
const ERROR_OVERRIDE_APPEND =
  "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";

const RGX_IDENTIFIER = '([a-zA-Z]+[a-zA-Z0-9_]*)';
const RGX_BARESTR = '([^()"\'[:space:]=,]+)';
const IDENTIFIER = /^[a-zA-Z]+[a-zA-Z0-9_]*$/;
const BARESTR = /^[^()"'\s=,]+$/;

const RULE_APPENDABLE = ['condition', 'output', 'desc', 'tags', 'exceptions'] as const;
const RULE_REPLACEABLE = [
  'condition',
  'output',
  'desc',
  'priority',
  'capture',
  'capture_duration',
  'tags',
  'exceptions',
  'enabled',
  'warn_evttypes',
  'skip-if-unknown-filter',
] as const;
const RULE_KEYS = new Set([
  'rule',
  'condition',
  'output',
  'desc',
  'priority',
  'source',
  'enabled',
  'capture',
  'capture_duration',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'tags',
  'exceptions',
  'override',
  'append',
]);
const LIST_KEYS = new Set(['list', 'items', 'append', 'override']);
const MACRO_KEYS = new Set(['macro', 'condition', 'append', 'override']);

function invalid(message: string, ctx: Context): never {
  throw new LoadError('LOAD_ERR_YAML_VALIDATE', message, ctx);
}

/** yaml-cpp's `convert<bool>`: y/yes/true/on and n/no/false/off, in lower, UPPER or Capitalized case. */
function decodeBool(text: string): boolean | undefined {
  const forms = (w: string) => [w, w.toUpperCase(), w.charAt(0).toUpperCase() + w.slice(1)];
  for (const w of ['y', 'yes', 'true', 'on']) if (forms(w).includes(text)) return true;
  for (const w of ['n', 'no', 'false', 'off']) if (forms(w).includes(text)) return false;
  return undefined;
}

function decodeUint(text: string): number | undefined {
  if (!/^\+?\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n <= 0xffffffff ? n : undefined;
}

interface DecodeOptions {
  readonly optional?: boolean;
  readonly canBeEmpty?: boolean;
}

class Reader {
  readonly #file: string;
  readonly #text: string;
  readonly #collector: Collector;
  readonly #result: FileResult;

  constructor(file: string, text: string, collector: Collector, result: FileResult) {
    this.#file = file;
    this.#text = text;
    this.#collector = collector;
    this.#result = result;
  }

  /** Falco's decode_val: the scalar node under `key`, after the presence, emptiness and type checks. */
  scalarNode(item: YMap, key: string, ctx: Context, opts: DecodeOptions = {}): YScalar | undefined {
    const val = mapGet(item, key);
    if (val === undefined) {
      if (opts.optional) return undefined;
      invalid(`Item has no mapping for key '${key}'`, ctx);
    }
    if (val.kind === 'scalar' && val.isNull) {
      if (opts.canBeEmpty) return undefined;
      invalid(`Mapping for key '${key}' is empty`, ctx);
    }
    const valctx = ctx.at('value for', key, val.pos);
    if (val.kind !== 'scalar') invalid('Value is not a scalar value', valctx);
    if (val.value === '') {
      if (opts.canBeEmpty) return val;
      invalid('Value must be non-empty', valctx);
    }
    return val;
  }

  string(item: YMap, key: string, ctx: Context, opts: DecodeOptions = {}): string | undefined {
    return this.scalarNode(item, key, ctx, opts)?.value;
  }

  requiredString(item: YMap, key: string, ctx: Context): string {
    return this.scalarNode(item, key, ctx)?.value ?? '';
  }

  bool(item: YMap, key: string, ctx: Context, optional: boolean): boolean | undefined {
    const node = this.scalarNode(item, key, ctx, { optional });
    if (!node) return undefined;
    const b = decodeBool(node.value);
    if (b === undefined) invalid("Can't decode YAML scalar value", ctx.at('value for', key, node.pos));
    return b;
  }

  uint(item: YMap, key: string, ctx: Context, optional: boolean): number | undefined {
    const node = this.scalarNode(item, key, ctx, { optional });
    if (!node) return undefined;
    const n = decodeUint(node.value);
    if (n === undefined) invalid("Can't decode YAML scalar value", ctx.at('value for', key, node.pos));
    return n;
  }

  /** A scalar's text with its file positions, trimmed when asked (Falco trims output and desc). */
  sourced(node: YScalar, trim = false): SourcedText {
    const map = scalarOffsets(node, this.#text);
    let text = node.value;
    let lead = 0;
    if (trim) {
      const m = /^[ \t\n\r\f\v]*/.exec(text);
      lead = m ? m[0].length : 0;
      text = text.slice(lead).replace(/[ \t\n\r\f\v]+$/, '');
    }
    return SourcedText.from(text, this.#file, (i) => map(i + lead));
  }

  sequence(item: YMap, key: string, ctx: Context, optional: boolean): string[] | undefined {
    const val = mapGet(item, key);
    if (val === undefined) {
      if (optional) return undefined;
      invalid(`Item has no mapping for key '${key}'`, ctx);
    }
    const valctx = ctx.at('value for', key, val.pos);
    if (val.kind !== 'seq') invalid('Value is not a sequence', valctx);
    const out: string[] = [];
    for (const v of val.items) {
      const ictx = valctx.at('list item', '', v.pos);
      if (v.kind !== 'scalar' || v.isNull) invalid('sequence value is not scalar', ictx);
      out.push(v.value);
    }
    return out;
  }

  warnUnknownKeys(item: YMap, expected: ReadonlySet<string>, ctx: Context): void {
    for (const { name } of mapKeys(item)) {
      if (!expected.has(name)) {
        this.#result.warning('LOAD_UNKNOWN_KEY', `Unknown key '${name}'. The key will be ignored.`, ctx);
      }
    }
  }

  overrides(
    item: YMap,
    appendable: ReadonlySet<string>,
    replaceable: ReadonlySet<string>,
    ctx: Context,
  ): { append: Set<string>; replace: Set<string> } {
    const append = new Set<string>();
    const replace = new Set<string>();
    const val = mapGet(item, 'override');
    if (val === undefined) return { append, replace };
    const octx = ctx.at('overrides', '', item.pos);
    if (val.kind !== 'map') {
      if (val.kind === 'scalar' && val.isNull) return { append, replace };
      invalid("Value of 'override' must be a mapping", octx.at('value for', 'override', val.pos));
    }
    for (const pair of val.pairs) {
      const key = pair.key.kind === 'scalar' ? pair.key.value : '';
      const operation = pair.value.kind === 'scalar' ? pair.value.value : '';
      const keyctx = octx.at('overrides', key, pair.key.pos);
      if (operation === 'append') {
        if (!appendable.has(key))
          invalid(`Key '${key}' cannot be appended to, use 'replace' instead`, keyctx);
        append.add(key);
      } else if (operation === 'replace') {
        if (!replaceable.has(key)) invalid(`Key '${key}' cannot be replaced`, keyctx);
        replace.add(key);
      } else {
        const allowed = `${appendable.has(key) ? 'append ' : ''}${replaceable.has(key) ? 'replace ' : ''}`;
        invalid(
          `Invalid override operation for key '${key}': '${operation}'. Allowed values are: ${allowed}`,
          octx.at('value for', key, pair.value.pos),
        );
      }
    }
    return { append, replace };
  }

  exceptionEntry(
    val: YNode | undefined,
    key: string | undefined,
    ctx: Context,
    optional: boolean,
  ): ExceptionEntry {
    if (val === undefined) {
      if (optional) return NO_ENTRY;
      invalid(`Item has no mapping for key '${key ?? ''}'`, ctx);
    }
    const valctx = ctx.at('value for', key ?? '', val.pos);
    if (val.kind === 'scalar' && !val.isNull) {
      if (val.value === '') invalid('Value must be non-empty', valctx);
      return { isList: false, item: val.value, items: [] };
    }
    if (val.kind === 'seq') {
      const items = val.items.map((v) =>
        this.exceptionEntry(v, undefined, valctx.at('exception', '', v.pos), false),
      );
      return { isList: true, item: '', items };
    }
    return NO_ENTRY;
  }

  exceptions(item: YMap, parent: Context, append: boolean): ExceptionInfo[] | undefined {
    const exs = mapGet(item, 'exceptions');
    if (exs === undefined || (exs.kind === 'scalar' && exs.isNull)) return undefined;
    const exesCtx = parent.at('exceptions', '', exs.pos);
    if (exs.kind !== 'seq') invalid('Rule exceptions must be a sequence', exesCtx);
    const out: ExceptionInfo[] = [];
    for (const ex of exs.items) {
      const tmp = exesCtx.at('exception', '', ex.pos);
      if (ex.kind !== 'map') invalid('Rule exception must be a mapping', tmp);
      const name = this.requiredString(ex, 'name', tmp);
      const exCtx = parent.at('exception', name, ex.pos);
      if (out.some((e) => e.name === name)) {
        this.#result.warning(
          'LOAD_EXCEPTION_NAME_NOT_UNIQUE',
          `Multiple definitions of exception '${name}' in the same rule`,
          exCtx,
        );
      }
      const fields = this.exceptionEntry(mapGet(ex, 'fields'), 'fields', exCtx, append);
      const comps = this.exceptionEntry(mapGet(ex, 'comps'), 'comps', exCtx, true);
      const values: ExceptionEntry[] = [];
      const exvals = mapGet(ex, 'values');
      if (exvals !== undefined) {
        const valsCtx = exCtx.at('exception values', '', exvals.pos);
        if (exvals.kind !== 'seq') {
          if (!(exvals.kind === 'scalar' && exvals.isNull))
            invalid('Rule exception values must be a sequence', valsCtx);
        } else {
          for (const v of exvals.items) {
            values.push(this.exceptionEntry(v, undefined, valsCtx.at('exception value', '', v.pos), false));
          }
        }
      } else if (append) {
        this.#result.warning('LOAD_APPEND_NO_VALUES', 'Overriding/appending exception with no values', exCtx);
      }
      out.push({ name, fields, comps, values, ctx: exCtx });
    }
    return out;
  }

  tags(item: YMap, ctx: Context): Set<string> | undefined {
    const t = this.sequence(item, 'tags', ctx, true);
    return t === undefined ? undefined : new Set(t);
  }

  priority(item: YMap, ctx: Context): Priority {
    const text = this.requiredString(item, 'priority', ctx);
    const node = mapGet(item, 'priority');
    const p = parsePriority(text);
    if (p === undefined)
      invalid('Invalid priority', ctx.at('rule priority', '', node?.pos ?? ctx.last.position));
    return p;
  }

  readItem(item: YNode, parent: Context): void {
    const tmp = parent.at('rules content item', '', item.pos);
    if (item.kind !== 'map')
      invalid('Unexpected element type. Each element should be a yaml associative array.', tmp);
    if (mapGet(item, 'required_engine_version') !== undefined) this.engineVersion(item, parent);
    else if (mapGet(item, 'required_plugin_versions') !== undefined) this.pluginVersions(item, parent);
    else if (mapGet(item, 'list') !== undefined) this.list(item, parent);
    else if (mapGet(item, 'macro') !== undefined) this.macro(item, parent);
    else if (mapGet(item, 'rule') !== undefined) this.rule(item, parent);
    else this.#result.warning('LOAD_UNKNOWN_ITEM', 'Unknown top level item', tmp);
  }

  engineVersion(item: YMap, parent: Context): void {
    const ctx = parent.at('required_engine_version', '', item.pos);
    const node = this.scalarNode(item, 'required_engine_version', ctx);
    const text = node?.value ?? '';
    const n = decodeUint(text);
    let version: Version | undefined;
    if (n !== undefined) version = { major: 0, minor: n, patch: 0 };
    else version = parseVersion(text);
    if (!version || !node) {
      invalid(
        "Can't decode YAML scalar value",
        ctx.at('value for', 'required_engine_version', node?.pos ?? item.pos),
      );
    }
    this.#collector.defineEngineVersion({ version, text: text.trim(), ctx });
    this.warnUnknownKeys(item, new Set(['required_engine_version']), ctx);
  }

  pluginVersions(item: YMap, parent: Context): void {
    const req = mapGet(item, 'required_plugin_versions');
    if (!req) return;
    const ctx = parent.at('required plugin versions', '', req.pos);
    if (req.kind !== 'seq') invalid('Value of required_plugin_versions must be a sequence', ctx);
    for (const plugin of req.items) {
      const tmp = ctx.at('required plugin versions entry', '', plugin.pos);
      if (plugin.kind !== 'map') invalid('Plugin version must be a mapping', tmp);
      const name = this.requiredString(plugin, 'name', tmp);
      const pctx = ctx.at('required plugin versions entry', name, plugin.pos);
      const version = this.requiredString(plugin, 'version', pctx);
      const alternatives = [{ name, version }];
      const alts = mapGet(plugin, 'alternatives');
      if (alts !== undefined) {
        if (alts.kind !== 'seq') invalid('Value of plugin version alternatives must be a sequence', pctx);
        for (const alt of alts.items) {
          const atmp = pctx.at('required plugin versions alternative', '', alt.pos);
          if (alt.kind !== 'map') invalid('Plugin version alternative must be a mapping', atmp);
          const aname = this.requiredString(alt, 'name', atmp);
          const actx = pctx.at('required plugin versions alternative', aname, alt.pos);
          alternatives.push({ name: aname, version: this.requiredString(alt, 'version', actx) });
        }
      }
      this.#collector.definePluginRequirement({ alternatives, ctx: pctx });
    }
    this.warnUnknownKeys(
      item,
      new Set(['required_plugin_versions']),
      parent.at('required plugin versions', '', item.pos),
    );
  }

  list(item: YMap, parent: Context): void {
    const name = this.requiredString(item, 'list', parent.at('list', '', item.pos));
    const ctx = parent.at('list', name, item.pos);
    if (!BARESTR.test(name)) {
      this.#result.warning(
        'LOAD_INVALID_LIST_NAME',
        `List has an invalid name. List names should match a regular expression: ${RGX_BARESTR}`,
        ctx,
      );
    }
    const items = this.sequence(item, 'items', ctx, false) ?? [];
    const appendFlag = this.bool(item, 'append', ctx, true) ?? false;
    if (appendFlag) this.#result.warning('LOAD_DEPRECATED_ITEM', WARNING_APPEND, ctx);
    const overridable = new Set(['items']);
    const ov = this.overrides(item, overridable, overridable, ctx);
    if (appendFlag && ov.append.size + ov.replace.size > 0) invalid(ERROR_OVERRIDE_APPEND, ctx);
    const info = { name, items, ctx, index: 0, visibility: 0 };
    if (appendFlag || ov.append.has('items')) this.#collector.appendList(info, !appendFlag);
    else this.#collector.defineList(info);
    this.warnUnknownKeys(item, LIST_KEYS, ctx);
  }

  macro(item: YMap, parent: Context): void {
    const name = this.requiredString(item, 'macro', parent.at('macro', '', item.pos));
    const ctx = parent.at('macro', name, item.pos);
    if (!IDENTIFIER.test(name)) {
      this.#result.warning(
        'LOAD_INVALID_MACRO_NAME',
        `Macro has an invalid name. Macro names should match a regular expression: ${RGX_IDENTIFIER}`,
        ctx,
      );
    }
    const condNode = this.scalarNode(item, 'condition', ctx);
    if (!condNode) return;
    const condCtx = ctx.at('macro condition', '', condNode.pos);
    const appendFlag = this.bool(item, 'append', ctx, true) ?? false;
    if (appendFlag) this.#result.warning('LOAD_DEPRECATED_ITEM', WARNING_APPEND, ctx);
    const overridable = new Set(['condition']);
    const ov = this.overrides(item, overridable, overridable, ctx);
    if (appendFlag && ov.append.size + ov.replace.size > 0) invalid(ERROR_OVERRIDE_APPEND, ctx);
    const info = { name, cond: this.sourced(condNode), ctx, condCtx, index: 0, visibility: 0 };
    if (appendFlag || ov.append.has('condition')) this.#collector.appendMacro(info, !appendFlag);
    else this.#collector.defineMacro(info);
    this.warnUnknownKeys(item, MACRO_KEYS, ctx);
  }

  rule(item: YMap, parent: Context): void {
    const name = this.requiredString(item, 'rule', parent.at('rule', '', item.pos));
    const ctx = parent.at('rule', name, item.pos);
    const source = this.string(item, 'source', ctx, { optional: true, canBeEmpty: true }) ?? '';
    const appendFlag = this.bool(item, 'append', ctx, true) ?? false;
    if (appendFlag) this.#result.warning('LOAD_DEPRECATED_ITEM', WARNING_APPEND, ctx);
    const ov = this.overrides(item, new Set(RULE_APPENDABLE), new Set(RULE_REPLACEABLE), ctx);
    const hasOverrides = ov.append.size + ov.replace.size > 0;
    if (appendFlag && hasOverrides) invalid(ERROR_OVERRIDE_APPEND, ctx);

    if (hasOverrides) this.ruleOverride(item, name, source, ov, ctx);
    else if (appendFlag) {
      const update: RuleUpdate = { name, ctx, source };
      const condNode = mapGet(item, 'condition') ? this.scalarNode(item, 'condition', ctx) : undefined;
      if (condNode) update.cond = this.sourced(condNode);
      if (mapGet(item, 'exceptions') !== undefined)
        update.exceptions = this.exceptions(item, ctx, true) ?? [];
      this.#collector.appendRule(update, false);
    } else if (
      mapGet(item, 'condition') === undefined &&
      mapGet(item, 'output') === undefined &&
      mapGet(item, 'desc') === undefined &&
      mapGet(item, 'priority') === undefined
    ) {
      const enabled = this.bool(item, 'enabled', ctx, false) ?? true;
      this.#result.warning('LOAD_DEPRECATED_ITEM', WARNING_ENABLED, ctx);
      this.#collector.enableRule(name, enabled, ctx);
    } else {
      const condNode = this.scalarNode(item, 'condition', ctx);
      const condCtx = ctx.at('rule condition', '', mapGet(item, 'condition')?.pos ?? item.pos);
      const outNode = this.scalarNode(item, 'output', ctx);
      const outputCtx = ctx.at('rule output', '', mapGet(item, 'output')?.pos ?? item.pos);
      const descNode = this.scalarNode(item, 'desc', ctx);
      const priority = this.priority(item, ctx);
      const info: CollectedRule = {
        name,
        cond: condNode ? this.sourced(condNode) : new SourcedText(''),
        condCtx,
        output: outNode ? this.sourced(outNode, true) : new SourcedText(''),
        outputCtx,
        desc: (descNode?.value ?? '').trim(),
        priority,
        source: this.string(item, 'source', ctx, { optional: true }) ?? 'syscall',
        enabled: this.bool(item, 'enabled', ctx, true) ?? true,
        capture: this.bool(item, 'capture', ctx, true) ?? false,
        captureDuration: this.uint(item, 'capture_duration', ctx, true) ?? 0,
        warnEvttypes: this.bool(item, 'warn_evttypes', ctx, true) ?? true,
        skipIfUnknownFilter: this.bool(item, 'skip-if-unknown-filter', ctx, true) ?? false,
        tags: this.tags(item, ctx) ?? new Set(),
        exceptions: this.exceptions(item, ctx, false) ?? [],
        unknownSource: false,
        ctx,
        index: 0,
        visibility: 0,
      };
      this.#collector.defineRule(info, this.#result);
    }
    this.warnUnknownKeys(item, RULE_KEYS, ctx);
  }

  ruleOverride(
    item: YMap,
    name: string,
    source: string,
    ov: { append: Set<string>; replace: Set<string> },
    ctx: Context,
  ): void {
    const expected = new Set<string>();
    for (const key of [...RULE_APPENDABLE, ...RULE_REPLACEABLE])
      if (mapGet(item, key) !== undefined) expected.add(key);
    const take = (set: Set<string>, kind: string, key: string): boolean => {
      if (!set.has(key)) return false;
      if (!expected.has(key))
        invalid(`An ${kind} override for '${key}' was specified but '${key}' is not defined`, ctx);
      expected.delete(key);
      return true;
    };
    const fill = (set: Set<string>, kind: 'append' | 'replace'): RuleUpdate => {
      const u: RuleUpdate = { name, ctx };
      if (take(set, kind, 'condition')) {
        u.source = source;
        const node = this.scalarNode(item, 'condition', ctx);
        if (node) u.cond = this.sourced(node);
      }
      if (take(set, kind, 'exceptions')) u.exceptions = this.exceptions(item, ctx, kind === 'append') ?? [];
      if (take(set, kind, 'output')) {
        const node = this.scalarNode(item, 'output', ctx);
        if (node) u.output = this.sourced(node, kind === 'replace');
      }
      if (take(set, kind, 'desc')) u.desc = this.requiredString(item, 'desc', ctx);
      if (take(set, kind, 'tags')) u.tags = this.tags(item, ctx) ?? new Set();
      if (kind === 'replace') {
        if (take(set, kind, 'priority')) u.priority = this.priority(item, ctx);
        if (take(set, kind, 'capture')) u.capture = this.bool(item, 'capture', ctx, false);
        if (take(set, kind, 'capture_duration'))
          u.captureDuration = this.uint(item, 'capture_duration', ctx, false);
        if (take(set, kind, 'enabled')) u.enabled = this.bool(item, 'enabled', ctx, false);
        if (take(set, kind, 'warn_evttypes')) u.warnEvttypes = this.bool(item, 'warn_evttypes', ctx, false);
        if (take(set, kind, 'skip-if-unknown-filter')) {
          u.skipIfUnknownFilter = this.bool(item, 'skip-if-unknown-filter', ctx, false);
        }
      }
      return u;
    };
    if (ov.append.size > 0) this.#collector.appendRule(fill(ov.append, 'append'), true);
    if (ov.replace.size > 0) this.#collector.replaceRule(fill(ov.replace, 'replace'));
    for (const key of expected) {
      const node = mapGet(item, key);
      invalid(
        `Unexpected key '${key}': no corresponding entry under 'override' is defined.`,
        ctx.at('overrides', key, node?.pos ?? item.pos),
      );
    }
  }
}

/**
 * Reads one rules file into the collector. Returns false, with the error in
 * `result`, at the first problem (later items of the file are not read).
 */
export function readRulesText(name: string, text: string, collector: Collector, result: FileResult): boolean {
  const fileCtx = Context.file(name);
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    result.error(
      'LOAD_ERR_YAML_PARSE',
      `yaml: error at line ${parsed.pos.line}, column ${parsed.pos.column}: ${parsed.message}`,
      fileCtx.at('value for', '', parsed.pos),
    );
    return false;
  }
  const reader = new Reader(name, text, collector, result);
  for (const doc of parsed.docs) {
    if (doc === null || (doc.kind === 'scalar' && doc.isNull)) continue;
    try {
      if (doc.kind === 'scalar') invalid('Rules content is not yaml', fileCtx);
      if (doc.kind !== 'seq') invalid('Rules content is not yaml array of objects', fileCtx);
      for (const item of doc.items) {
        if (item.kind === 'scalar' && item.isNull) continue;
        reader.readItem(item, fileCtx);
      }
    } catch (e) {
      if (e instanceof LoadError) result.error(e.code, e.message, e.ctx);
      else result.error('LOAD_ERR_VALIDATE', e instanceof Error ? e.message : String(e), fileCtx);
      return false;
    }
  }
  return true;
}
