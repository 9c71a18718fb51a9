import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Diagnostic,
  type FileLoadResult,
  type LoadResult,
  loadRules,
  readRuleFiles,
} from '@saker/rules';
import type { Io } from './io.js';

/**
 * Saker's default rules: the `rules/` folder at the root of the Saker
 * checkout or install, found by walking up from this module to the package
 * named `saker` (the workspace root).
 */
function defaultRulesPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const rules = join(dir, 'rules');
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && isDir(rules) && packageName(pkg) === 'saker') return rules;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function packageName(file: string): string | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null && 'name' in v && typeof v.name === 'string'
      ? v.name
      : undefined;
  } catch {
    return undefined;
  }
}

export type LoadOutcome = { readonly ok: true; readonly load: LoadResult } | { readonly ok: false };

/**
 * Reads and loads rule files and folders. A file that cannot be read, or a
 * load with errors, is reported on stderr and gives `ok: false`.
 */
export async function loadRulePaths(paths: readonly string[], io: Io): Promise<LoadOutcome> {
  const texts = await readRulesOrReport(paths, io);
  if (!texts) return { ok: false };
  const load = loadRules(texts);
  if (!load.ok) {
    io.err(formatLoadResults(load.results, { errorsOnly: true }));
    return { ok: false };
  }
  return { ok: true, load };
}

export async function readRulesOrReport(
  paths: readonly string[],
  io: Io,
): Promise<Awaited<ReturnType<typeof readRuleFiles>> | undefined> {
  try {
    return await readRuleFiles(paths);
  } catch (err) {
    io.err(`saker: cannot read rules: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  }
}

/** The paths of `-r` options, or the default rules folder. Undefined (reported) when there is none. */
export function rulePathsOrDefault(given: readonly string[] | undefined, io: Io): string[] | undefined {
  if (given && given.length > 0) return [...given];
  const dflt = defaultRulesPath();
  if (dflt === undefined) {
    io.err('saker: no default rules folder found; name rule files with -r FILE|DIR\n');
    return undefined;
  }
  return [dflt];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function indent(text: string, prefix: string): string {
  return text
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => (l === '' ? l : prefix + l))
    .join('\n');
}

/**
 * `rules.yaml:20:29: rule 'Write below etc' (rule output): <message> [LOAD_ERR_COMPILE_OUTPUT]`,
 * then the snippet. The position is the innermost location; the item is the
 * innermost named one (the rule, macro or list), with the part of it in brackets.
 */
function formatDiagnostic(d: Diagnostic, kind: 'error' | 'warning'): string {
  const inner = d.locations[d.locations.length - 1];
  const named = d.locations.findLast((l) => l.item_name !== '');
  const where = inner ? `${inner.position.name}:${inner.position.line}:${inner.position.column}: ` : '';
  let item = '';
  if (named) item = `${named.item_type} '${named.item_name}'`;
  else if (inner && inner.item_type !== 'rules content') item = inner.item_type;
  if (named && inner && inner !== named && inner.item_type !== 'rules content') {
    item += ` (${inner.item_type.replace(/ expression$/, '')})`;
  }
  let s = `  ${kind}: ${where}${item === '' ? '' : `${item}: `}${d.message} [${d.code}]\n`;
  if (d.snippet.trim() !== '') s += `${indent(d.snippet, '      ')}\n`;
  return s;
}

/** Human form of load results: one header per file, then its errors and warnings. */
export function formatLoadResults(
  results: readonly FileLoadResult[],
  opts: { readonly errorsOnly?: boolean } = {},
): string {
  let s = '';
  for (const r of results) {
    if (opts.errorsOnly && r.errors.length === 0) continue;
    const counts: string[] = [];
    if (r.errors.length > 0) counts.push(plural(r.errors.length, 'error'));
    if (r.warnings.length > 0) counts.push(plural(r.warnings.length, 'warning'));
    const status = r.errors.length > 0 ? 'FAILED' : 'OK';
    s += `${r.name}: ${status}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}\n`;
    for (const d of r.errors) s += formatDiagnostic(d, 'error');
    if (!opts.errorsOnly) for (const d of r.warnings) s += formatDiagnostic(d, 'warning');
  }
  return s;
}
