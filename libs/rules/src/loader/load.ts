import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type AnySourceDef, SOURCES } from '../sources.js';
import { Collector, parseVersion } from './collect.js';
import { type CompileOutput, compileCollected } from './compiler.js';
import { Context, FileResult } from './diagnostics.js';
import { Ruleset } from './ruleset.js';
import { readRulesText } from './schema.js';
import type { Diagnostic, FileLoadResult } from './types.js';
import { LineIndex, type YPos } from './yaml.js';

/**
 * Loading rules files: read, collect, compile, after each file, like Falco's
 * engine does (a later file may append to or override what an earlier one
 * defined, and each file's result reports what compiling everything loaded so
 * far found). The entry point never throws.
 */

/** The Falco engine version Saker implements, for `required_engine_version`. */
export const ENGINE_VERSION = '0.57.0';

/** Plugins whose fields and event sources Saker provides natively. */
const PROVIDED_PLUGINS: ReadonlySet<string> = new Set(['container', 'k8saudit', 'json']);

export interface RuleText {
  readonly name: string;
  readonly content: string;
  /** Set when the file could not be read; reported as LOAD_ERR_FILE_READ. */
  readonly readError?: string;
}

interface RequiredPlugin {
  readonly name: string;
  readonly version: string;
  /** Other plugins (and versions) that satisfy the requirement as well. */
  readonly alternatives: readonly { readonly name: string; readonly version: string }[];
  /** Whether Saker provides this plugin's fields itself (or one of the alternatives'). */
  readonly provided: boolean;
  /** The file that asked for it. */
  readonly file: string;
}

export interface LoadResult {
  /** Whether every file loaded without errors. */
  readonly ok: boolean;
  /** One entry per file, in Falco's `falco_load_results` shape. */
  readonly results: readonly FileLoadResult[];
  /** The rules of the last successful compilation; use it only when `ok`. */
  readonly ruleset: Ruleset;
  readonly requiredPlugins: readonly RequiredPlugin[];
  /** The highest `required_engine_version` seen, normalised to x.y.z. */
  readonly requiredEngineVersion: string | undefined;
}

export interface LoadOptions {
  /** Defaults to ENGINE_VERSION. */
  readonly engineVersion?: string;
  /** Event sources the rules may use. Defaults to SOURCES (syscall, k8s_audit). */
  readonly sources?: ReadonlyMap<string, AnySourceDef>;
}

export function loadRules(files: readonly RuleText[], options: LoadOptions = {}): LoadResult {
  const engine = parseVersion(options.engineVersion ?? ENGINE_VERSION) ?? { major: 0, minor: 57, patch: 0 };
  const sources = options.sources ?? SOURCES;
  const contents = new Map<string, string>();
  for (const f of files) if (!contents.has(f.name)) contents.set(f.name, f.content);
  const lineIndexes = new Map<string, LineIndex>();
  const positionOf = (file: string, offset: number): YPos => {
    let idx = lineIndexes.get(file);
    if (!idx) {
      idx = new LineIndex(contents.get(file) ?? '');
      lineIndexes.set(file, idx);
    }
    return idx.pos(offset);
  };

  const collector = new Collector(engine, sources);
  const results: FileLoadResult[] = [];
  const requiredPlugins: RequiredPlugin[] = [];
  let compiled: CompileOutput | undefined;

  for (const file of files) {
    const result = new FileResult(file.name, contents);
    try {
      if (file.readError !== undefined) {
        result.error('LOAD_ERR_FILE_READ', file.readError, Context.file(file.name));
      } else {
        const before = collector.pluginRequirements.length;
        const read = readRulesText(file.name, file.content, collector, result);
        for (const req of collector.pluginRequirements.slice(before)) {
          const first = req.alternatives[0];
          if (!first) continue;
          const provided = req.alternatives.some((a) => PROVIDED_PLUGINS.has(a.name));
          requiredPlugins.push({
            name: first.name,
            version: first.version,
            alternatives: req.alternatives.slice(1),
            provided,
            file: file.name,
          });
          if (!provided) {
            result.warning(
              'LOAD_UNSUPPORTED_PLUGIN',
              `Plugin '${first.name}' (version ${first.version}) is required, but Saker does not provide it: rules that need its event source are skipped, and its fields are unknown`,
              req.ctx,
            );
          }
        }
        if (read) {
          const out = compileCollected(collector, result, sources, positionOf);
          if (out && result.successful) compiled = out;
        }
      }
    } catch (e) {
      result.error(
        'LOAD_ERR_VALIDATE',
        `internal error while loading: ${e instanceof Error ? e.message : String(e)}`,
        Context.file(file.name),
      );
    }
    results.push(result.toResult());
  }

  const req = collector.engineRequirement?.version;
  return {
    ok: results.every((r) => r.successful),
    results,
    ruleset: compiled ? new Ruleset(compiled.rules, compiled.macros, compiled.lists) : Ruleset.empty(),
    requiredPlugins,
    requiredEngineVersion: req ? `${req.major}.${req.minor}.${req.patch}` : undefined,
  };
}

const RULE_FILE = /\.ya?ml$/;

/**
 * Reads rules files. A directory stands for its `*.yaml` and `*.yml` files,
 * sorted by name (not recursive). A path that cannot be read becomes a
 * RuleText carrying the error, which loadRules reports as LOAD_ERR_FILE_READ.
 */
export async function readRuleFiles(paths: readonly string[]): Promise<RuleText[]> {
  const out: RuleText[] = [];
  const readOne = async (path: string): Promise<RuleText> => {
    try {
      return { name: path, content: await readFile(path, 'utf8') };
    } catch (e) {
      return { name: path, content: '', readError: `Could not read rules file ${path}: ${errorText(e)}` };
    }
  };
  for (const path of paths) {
    let isDir = false;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (e) {
      out.push({ name: path, content: '', readError: `Could not read rules file ${path}: ${errorText(e)}` });
      continue;
    }
    if (!isDir) {
      out.push(await readOne(path));
      continue;
    }
    let names: string[];
    try {
      names = (await readdir(path, { withFileTypes: true }))
        .filter((d) => !d.isDirectory() && RULE_FILE.test(d.name))
        .map((d) => d.name)
        .sort();
    } catch (e) {
      out.push({
        name: path,
        content: '',
        readError: `Could not read rules directory ${path}: ${errorText(e)}`,
      });
      continue;
    }
    for (const n of names) out.push(await readOne(join(path, n)));
  }
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  // Keys in alphabetical order, as Falco's JSON library writes them.
  return {
    code: d.code,
    codedesc: d.codedesc,
    context: {
      locations: d.locations.map((l) => ({
        item_name: l.item_name,
        item_type: l.item_type,
        position: {
          column: l.position.column,
          line: l.position.line,
          name: l.position.name,
          offset: l.position.offset,
        },
      })),
      snippet: d.snippet,
    },
    message: d.message,
  };
}

/**
 * `{"falco_load_results":[...]}`, the shape of `falco -V <file> -o json_output=true`.
 * Lines and columns are 1-based (Falco prints yaml-cpp's 0-based marks).
 */
export function loadResultsJson(results: readonly FileLoadResult[]): string {
  return JSON.stringify({
    falco_load_results: results.map((r) => ({
      errors: r.errors.map(diagnosticJson),
      name: r.name,
      successful: r.successful,
      warnings: r.warnings.map(diagnosticJson),
    })),
  });
}
