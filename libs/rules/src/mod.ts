export type { Expr } from './condition/ast.js';
export type { FieldDef, FieldValue } from './fields/types.js';

export { FieldRegistry } from './fields/registry.js';
export { syscallFields } from './fields/syscall/mod.js';

export { SOURCES } from './sources.js';
export type { Priority } from './priority.js';
export { PRIORITIES, parsePriority, severity, meetsThreshold, priorityLabel } from './priority.js';
export type {
  Diagnostic,
  FileLoadResult,
  Position,
  ItemType,
  RuleInfo,
  MacroInfo,
  ListInfo,
  RuleMatch,
  RuleMatching,
  EvaluateOptions,
} from './loader/types.js';

export { parseCondition } from './condition/parser.js';
export { forEachNode, forEachFieldRef } from './condition/walk.js';
export type { Predicate } from './compile/compile.js';
export { compileCondition } from './compile/compile.js';

export type { OutputFieldValue } from './output/format.js';

export type { AppendOutputEntry, ExtraOutputField } from './output/append.js';
export { FALCO_DEFAULT_APPEND_OUTPUT } from './output/append.js';
export type { FalcoAlert, AlertJsonOptions } from './output/alert.js';
export { toFalcoAlert, formatAlertJson, formatAlertText } from './output/alert.js';
export type { RuleText, LoadResult } from './loader/load.js';
export { loadRules, readRuleFiles, loadResultsJson } from './loader/load.js';
export type { RuleSelector } from './loader/ruleset.js';
export { Ruleset } from './loader/ruleset.js';
// Positioned YAML scanning, shared with @saker/config's tree.
export { LineIndex, MAX_ALIAS_NODES, followedByColon, skipBlank } from './loader/yaml.js';

export { effectiveRuleset, firstLoadError } from './effective-ruleset.js';
export type { RulesetDocument, RulesetSelection } from './ruleset-doc.js';

export {
  readRulesetSigningKey,
  readRulesetVerifyKey,
  rulesetKeyId,
  signRulesetDocument,
  verifyRulesetDocument,
} from './ruleset-signing.js';
export {
  RULESET_KEY,
  RulesetDocumentError,
  encodeRulesetDocument,
  decodeRulesetDocument,
  loadRulesetDocument,
} from './ruleset-doc.js';
