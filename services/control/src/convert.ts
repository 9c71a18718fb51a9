import { status } from '@grpc/grpc-js';
import type {
  Diagnostic,
  FileLoadResult,
  RuleInfo,
  RuleSelector,
  RuleText,
  RulesetSelection,
} from '@saker/rules';
import { RpcError } from './errors.js';
import type { Diagnostic as DiagnosticMsg } from './gen/saker/v1/Diagnostic.js';
import type { FileLoadResult as FileLoadResultMsg } from './gen/saker/v1/FileLoadResult.js';
import type { Rule as RuleMsg } from './gen/saker/v1/Rule.js';
import type { RuleFile__Output } from './gen/saker/v1/RuleFile.js';
import type { RuleSelector__Output } from './gen/saker/v1/RuleSelector.js';
import type { Selection__Output } from './gen/saker/v1/Selection.js';

/**
 * The gRPC boundary: requests are checked once, here, into @saker/rules
 * types (INVALID_ARGUMENT naming the field), and results go back out as
 * messages.
 */

function invalid(field: string, reason: string): RpcError {
  return new RpcError(status.INVALID_ARGUMENT, `${field}: ${reason}`);
}

/** Rule files from a request. `required`: at least one. */
export function toRuleTexts(files: readonly RuleFile__Output[], required: boolean): RuleText[] {
  if (required && files.length === 0) throw invalid('files', 'at least one rules file is required');
  const seen = new Map<string, number>();
  return files.map((f, i) => {
    if (f.name.trim() === '') throw invalid(`files[${i}].name`, 'is empty');
    const first = seen.get(f.name);
    if (first !== undefined) throw invalid(`files[${i}].name`, `"${f.name}" is already files[${first}]`);
    seen.set(f.name, i);
    return { name: f.name, content: f.content };
  });
}

/** A selector from a request; at least one criterion, no empty ones. */
export function toRuleSelector(sel: RuleSelector__Output | null, field: string): RuleSelector {
  if (sel === null) throw invalid(field, 'is required (rule, substring or tags)');
  const out: { rule?: string; substring?: string; tags?: string[] } = {};
  if (sel.rule !== undefined) {
    if (sel.rule === '') throw invalid(`${field}.rule`, 'is empty');
    out.rule = sel.rule;
  }
  if (sel.substring !== undefined) {
    if (sel.substring === '') throw invalid(`${field}.substring`, 'is empty');
    out.substring = sel.substring;
  }
  if (sel.tags.length > 0) {
    sel.tags.forEach((t, i) => {
      if (t.trim() === '') throw invalid(`${field}.tags[${i}]`, 'is empty');
    });
    out.tags = [...sel.tags];
  }
  if (out.rule === undefined && out.substring === undefined && out.tags === undefined) {
    throw invalid(field, 'selects nothing: give rule, substring or tags');
  }
  return out;
}

export function toSelections(selections: readonly Selection__Output[]): RulesetSelection[] {
  return selections.map((s, i) => {
    let action: 'enable' | 'disable';
    if (s.action === 'SELECTION_ACTION_ENABLE') action = 'enable';
    else if (s.action === 'SELECTION_ACTION_DISABLE') action = 'disable';
    else
      throw invalid(`selections[${i}].action`, 'must be SELECTION_ACTION_ENABLE or SELECTION_ACTION_DISABLE');
    return { action, selector: toRuleSelector(s.selector, `selections[${i}].selector`) };
  });
}

/** The optional `expected_revision`: undefined when absent (proto3 `optional` presence). */
export function expectedRevisionOf(req: { expectedRevision?: number; _expectedRevision?: string }):
  | number
  | undefined {
  if (req._expectedRevision !== 'expectedRevision' || req.expectedRevision === undefined) return undefined;
  const rev = req.expectedRevision;
  if (!Number.isSafeInteger(rev) || rev < 0) throw invalid('expected_revision', `${rev} is not a revision`);
  return rev;
}

export function ruleMsg(r: RuleInfo): RuleMsg {
  return {
    name: r.name,
    desc: r.desc,
    condition: r.condition,
    output: r.output,
    priority: r.priority,
    source: r.source,
    tags: [...r.tags],
    enabled: r.enabled,
    file: r.position.name,
    line: r.position.line,
    column: r.position.column,
  };
}

function diagnosticMsg(d: Diagnostic): DiagnosticMsg {
  return {
    code: d.code,
    codedesc: d.codedesc,
    message: d.message,
    locations: d.locations.map((l) => ({
      itemType: l.item_type,
      itemName: l.item_name,
      file: l.position.name,
      line: l.position.line,
      column: l.position.column,
      offset: l.position.offset,
    })),
    snippet: d.snippet,
  };
}

export function loadResultMsg(r: FileLoadResult, opts: { warnings: boolean }): FileLoadResultMsg {
  return {
    name: r.name,
    successful: r.successful,
    errors: r.errors.map(diagnosticMsg),
    warnings: opts.warnings ? r.warnings.map(diagnosticMsg) : [],
  };
}
