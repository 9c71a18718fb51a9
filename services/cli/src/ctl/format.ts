import type {
  Diagnostic__Output,
  FileLoadResult__Output,
  Rule__Output,
  RulesetRevision__Output,
} from '@saker/control/client';
import type { Diagnostic, FileLoadResult, ItemType } from '@saker/rules';
import { table } from '../table.js';

/**
 * Load results off the wire, back in @saker/rules' shape, so `saker ctl`
 * prints them exactly as `saker rules validate` does (and --json gives the
 * same `falco_load_results`).
 */
export function toLoadResults(results: readonly FileLoadResult__Output[]): FileLoadResult[] {
  const diag = (d: Diagnostic__Output): Diagnostic => ({
    // The service sends the loader's own codes and item types back; they are only printed.
    code: d.code as Diagnostic['code'],
    codedesc: d.codedesc,
    message: d.message,
    locations: d.locations.map((l) => ({
      item_type: l.itemType as ItemType,
      item_name: l.itemName,
      position: { name: l.file, line: l.line, column: l.column, offset: l.offset },
    })),
    snippet: d.snippet,
  });
  return results.map((r) => ({
    name: r.name,
    successful: r.successful,
    errors: r.errors.map(diag),
    warnings: r.warnings.map(diag),
  }));
}

export function revisionLine(r: RulesetRevision__Output): string {
  const by = r.author === '' ? '' : ` by ${r.author}`;
  const why = r.comment === '' ? '' : ` (${r.comment})`;
  return `revision ${r.revision}: ${r.ruleCount} rules (${r.enabledRuleCount} enabled) from ${r.fileCount} file${r.fileCount === 1 ? '' : 's'}, ${r.selectionCount} selection${r.selectionCount === 1 ? '' : 's'}, at ${r.updatedAt}${by}${why}`;
}

export function rulesTable(rules: readonly Rule__Output[]): string {
  return table(
    ['NAME', 'PRIORITY', 'SOURCE', 'ENABLED', 'TAGS'],
    rules.map((r) => [r.name, r.priority, r.source, r.enabled ? 'yes' : 'no', r.tags.join(',')]),
  );
}

export function describeRule(r: Rule__Output, revision: number): string {
  return [
    `Rule:       ${r.name}`,
    `Revision:   ${revision}`,
    `Defined at: ${r.file}:${r.line}:${r.column}`,
    `Enabled:    ${r.enabled ? 'yes' : 'no'}`,
    `Priority:   ${r.priority}`,
    `Source:     ${r.source}`,
    `Tags:       ${r.tags.join(', ')}`,
    `Desc:       ${r.desc}`,
    `Condition:  ${r.condition}`,
    `Output:     ${r.output}`,
    '',
  ].join('\n');
}

/** A revision as JSON (for --json and `watch --json`): snake_case, as in the proto. */
export function revisionJson(r: RulesetRevision__Output): Record<string, unknown> {
  return {
    revision: r.revision,
    updated_at: r.updatedAt,
    author: r.author,
    comment: r.comment,
    rule_count: r.ruleCount,
    enabled_rule_count: r.enabledRuleCount,
    file_count: r.fileCount,
    selection_count: r.selectionCount,
  };
}
