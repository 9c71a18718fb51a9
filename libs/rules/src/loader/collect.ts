import type { Priority } from '../priority.js';
import type { AnySourceDef } from '../sources.js';
import { type Context, LoadError } from './diagnostics.js';
import type { FileResult } from './diagnostics.js';
import { validateException } from './exceptions.js';
import type { SourcedText } from './text.js';

/**
 * The collector: every item read from every file, in definition order, with
 * Falco's define / append / replace / enable semantics applied. Names keep
 * the position of their first definition; `visibility` records when an item
 * was last touched, which decides which lists and macros it can see.
 */

export interface ExceptionEntry {
  readonly isList: boolean;
  readonly item: string;
  readonly items: readonly ExceptionEntry[];
}

export const NO_ENTRY: ExceptionEntry = { isList: false, item: '', items: [] };

/** Falco's `entry::is_valid`: a non-empty scalar or a non-empty list. */
function entryValid(e: ExceptionEntry): boolean {
  return e.isList ? e.items.length > 0 : e.item.length > 0;
}

export interface ExceptionInfo {
  readonly name: string;
  fields: ExceptionEntry;
  comps: ExceptionEntry;
  values: ExceptionEntry[];
  readonly ctx: Context;
}

export interface CollectedList {
  readonly name: string;
  items: string[];
  ctx: Context;
  index: number;
  visibility: number;
}

export interface CollectedMacro {
  readonly name: string;
  cond: SourcedText;
  ctx: Context;
  condCtx: Context;
  index: number;
  visibility: number;
}

export interface CollectedRule {
  readonly name: string;
  cond: SourcedText;
  condCtx: Context;
  output: SourcedText;
  outputCtx: Context;
  desc: string;
  priority: Priority;
  source: string;
  tags: Set<string>;
  exceptions: ExceptionInfo[];
  enabled: boolean;
  warnEvttypes: boolean;
  skipIfUnknownFilter: boolean;
  capture: boolean;
  captureDuration: number;
  unknownSource: boolean;
  ctx: Context;
  index: number;
  visibility: number;
}

/** What an `append: true` or `override:` item brings to an existing rule. */
export interface RuleUpdate {
  readonly name: string;
  readonly ctx: Context;
  source?: string;
  cond?: SourcedText;
  output?: SourcedText;
  desc?: string;
  tags?: Set<string>;
  exceptions?: ExceptionInfo[];
  priority?: Priority;
  enabled?: boolean;
  warnEvttypes?: boolean;
  skipIfUnknownFilter?: boolean;
  capture?: boolean;
  captureDuration?: number;
}

function hasAnyValue(u: RuleUpdate): boolean {
  return (
    u.cond !== undefined ||
    u.output !== undefined ||
    u.desc !== undefined ||
    u.tags !== undefined ||
    u.exceptions !== undefined ||
    u.priority !== undefined ||
    u.enabled !== undefined ||
    u.warnEvttypes !== undefined ||
    u.skipIfUnknownFilter !== undefined ||
    u.capture !== undefined ||
    u.captureDuration !== undefined
  );
}

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** `x.y.z` with anything after it ignored, as libsinsp's version parser reads it. */
export function parseVersion(text: string): Version | undefined {
  const m = /^\s*\+?(\d+)\.\+?(\d+)\.\+?(\d+)/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Same major version, and at least as new. */
function versionCompatible(have: Version, want: Version): boolean {
  return have.major === want.major && compareVersions(have, want) >= 0;
}

function versionText(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export interface EngineRequirement {
  readonly version: Version;
  /** As written in the file: `2` or `0.57.0`. */
  readonly text: string;
  readonly ctx: Context;
}

interface PluginRequirement {
  readonly name: string;
  readonly version: string;
}

export interface PluginRequirementInfo {
  readonly alternatives: readonly PluginRequirement[];
  readonly ctx: Context;
}

const ERR_APPEND_NO_LIST = "List has 'append' key but no list by that name already exists";
const ERR_APPEND_NO_MACRO = "Macro has 'append' key but no macro by that name already exists";
const ERR_APPEND_NO_RULE = "Rule has 'append' key but no rule by that name already exists";
const ERR_OVERRIDE_NO_LIST =
  "List uses 'append' or 'override.items: append' but no list by that name already exists";
const ERR_OVERRIDE_NO_MACRO =
  "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists";
const ERR_OVERRIDE_NO_RULE =
  "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists";
const ERR_REPLACE_NO_RULE =
  "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists";

function fail(message: string, ctx: Context): never {
  throw new LoadError('LOAD_ERR_VALIDATE', message, ctx);
}

export class Collector {
  readonly lists = new Map<string, CollectedList>();
  readonly macros = new Map<string, CollectedMacro>();
  readonly rules = new Map<string, CollectedRule>();
  readonly pluginRequirements: PluginRequirementInfo[] = [];
  engineRequirement: EngineRequirement | undefined;
  readonly #engineVersion: Version;
  readonly #sources: ReadonlyMap<string, AnySourceDef>;
  #index = 0;

  constructor(engineVersion: Version, sources: ReadonlyMap<string, AnySourceDef>) {
    this.#engineVersion = engineVersion;
    this.#sources = sources;
  }

  defineEngineVersion(req: EngineRequirement): void {
    if (!versionCompatible(this.#engineVersion, req.version)) {
      fail(
        `Rules require engine version ${req.text}, but engine version is ${versionText(this.#engineVersion)}`,
        req.ctx,
      );
    }
    if (!this.engineRequirement || compareVersions(this.engineRequirement.version, req.version) < 0) {
      this.engineRequirement = req;
    }
  }

  definePluginRequirement(info: PluginRequirementInfo): void {
    const names = new Set<string>();
    for (const alt of info.alternatives) {
      if (!parseVersion(alt.version)) {
        fail(`Invalid required version '${alt.version}' for plugin '${alt.name}'`, info.ctx);
      }
      if (names.has(alt.name)) {
        fail(`Defined multiple alternative version requirements for plugin '${alt.name}'`, info.ctx);
      }
      names.add(alt.name);
    }
    this.pluginRequirements.push(info);
  }

  #define<T extends { readonly name: string; index: number; visibility: number }>(
    infos: Map<string, T>,
    info: T,
  ): void {
    const id = this.#index++;
    const prev = infos.get(info.name);
    info.visibility = id;
    info.index = prev ? prev.index : id;
    infos.set(info.name, info);
  }

  defineList(info: CollectedList): void {
    this.#define(this.lists, info);
  }

  appendList(info: CollectedList, viaOverride: boolean): void {
    const prev = this.lists.get(info.name);
    if (!prev) fail(viaOverride ? ERR_OVERRIDE_NO_LIST : ERR_APPEND_NO_LIST, info.ctx);
    prev.items.push(...info.items);
    prev.visibility = this.#index++;
  }

  defineMacro(info: CollectedMacro): void {
    this.#define(this.macros, info);
  }

  appendMacro(info: CollectedMacro, viaOverride: boolean): void {
    const prev = this.macros.get(info.name);
    if (!prev) fail(viaOverride ? ERR_OVERRIDE_NO_MACRO : ERR_APPEND_NO_MACRO, info.ctx);
    prev.cond = prev.cond.concat(' ').concat(info.cond);
    prev.visibility = this.#index++;
  }

  #findPrevRule(name: string, source: string | undefined, ctx: Context): CollectedRule | undefined {
    const prev = this.rules.get(name);
    if (prev && prev.source !== '' && source !== undefined && source !== '' && prev.source !== source) {
      fail('Rule has been re-defined with a different source', ctx);
    }
    return prev;
  }

  defineRule(info: CollectedRule, result: FileResult): void {
    this.#findPrevRule(info.name, info.source, info.ctx);
    const source = this.#sources.get(info.source);
    if (!source) {
      info.unknownSource = true;
      result.warning('LOAD_UNKNOWN_SOURCE', `Unknown source ${info.source}, skipping`, info.ctx);
    }
    for (const ex of info.exceptions) {
      if (!entryValid(ex.fields))
        fail('Rule exception item must have fields property with a list of fields', ex.ctx);
      validateException(source, ex);
    }
    this.#define(this.rules, info);
  }

  #updatedSource(prev: CollectedRule, ctx: Context): AnySourceDef | undefined {
    if (prev.unknownSource) return undefined;
    const source = this.#sources.get(prev.source);
    if (!source) fail(`Unknown source ${prev.source}`, ctx);
    return source;
  }

  appendRule(info: RuleUpdate, viaOverride: boolean): void {
    const prev = this.#findPrevRule(info.name, info.source, info.ctx);
    if (!prev) fail(viaOverride ? ERR_OVERRIDE_NO_RULE : ERR_APPEND_NO_RULE, info.ctx);
    if (!hasAnyValue(info)) fail('Appended rule must have exceptions or condition property', info.ctx);
    const source = this.#updatedSource(prev, info.ctx);
    if (info.cond !== undefined && info.cond.text !== '') prev.cond = prev.cond.concat(' ').concat(info.cond);
    if (info.output !== undefined && info.output.text !== '')
      prev.output = prev.output.concat(' ').concat(info.output);
    if (info.desc !== undefined && info.desc !== '') prev.desc = `${prev.desc} ${info.desc}`;
    if (info.tags !== undefined) for (const t of info.tags) prev.tags.add(t);
    if (info.exceptions !== undefined) {
      for (const ex of info.exceptions) {
        const existing = prev.exceptions.find((e) => e.name === ex.name);
        if (!existing) {
          if (!entryValid(ex.fields))
            fail('Rule exception must have fields property with a list of fields', ex.ctx);
          if (ex.values.length === 0)
            fail('Rule exception must have values property with a list of values', ex.ctx);
          validateException(source, ex);
          prev.exceptions.push(ex);
        } else {
          if (entryValid(ex.fields))
            fail('Can not append exception fields to existing exception, only values', ex.ctx);
          if (entryValid(ex.comps))
            fail('Can not append exception comps to existing exception, only values', ex.ctx);
          existing.values.push(...ex.values);
        }
      }
    }
    prev.visibility = this.#index++;
  }

  replaceRule(info: RuleUpdate): void {
    const prev = this.#findPrevRule(info.name, info.source, info.ctx);
    if (!prev) fail(ERR_REPLACE_NO_RULE, info.ctx);
    if (!hasAnyValue(info)) fail('The rule must have at least one field that can be replaced', info.ctx);
    const source = this.#updatedSource(prev, info.ctx);
    if (info.cond !== undefined) prev.cond = info.cond;
    if (info.output !== undefined) prev.output = info.output;
    if (info.desc !== undefined) prev.desc = info.desc;
    if (info.tags !== undefined) prev.tags = info.tags;
    if (info.exceptions !== undefined) {
      // Replaced exceptions are checked like the ones of a new definition.
      for (const ex of info.exceptions) {
        if (!entryValid(ex.fields))
          fail('Rule exception item must have fields property with a list of fields', ex.ctx);
        validateException(source, ex);
      }
      prev.exceptions = info.exceptions;
    }
    if (info.priority !== undefined) prev.priority = info.priority;
    if (info.capture !== undefined) prev.capture = info.capture;
    if (info.captureDuration !== undefined) prev.captureDuration = info.captureDuration;
    if (info.enabled !== undefined) prev.enabled = info.enabled;
    if (info.warnEvttypes !== undefined) prev.warnEvttypes = info.warnEvttypes;
    if (info.skipIfUnknownFilter !== undefined) prev.skipIfUnknownFilter = info.skipIfUnknownFilter;
    prev.visibility = this.#index++;
  }

  enableRule(name: string, enabled: boolean, ctx: Context): void {
    const prev = this.rules.get(name);
    if (!prev) fail("Rule has 'enabled' key but no rule by that name already exists", ctx);
    prev.enabled = enabled;
  }
}
