export type {
  Expr,
  Span,
  BinaryOperator,
  UnaryOperator,
  ListModifier,
  TransformerName,
  FieldRef,
} from './condition/ast.js';
export type { FieldDef, FieldKind, FieldValue, Extractor, FieldArgSpec, Scalar } from './fields/types.js';
export { FieldArgumentError } from './fields/types.js';
export { FieldRegistry } from './fields/registry.js';
export { syscallFields } from './fields/syscall/mod.js';
export { k8sAuditFields } from './fields/k8s-audit/mod.js';
export type { SourceDef, AnySourceDef } from './sources.js';
export { SOURCES, syscallSource, k8sAuditSource } from './sources.js';
export type { Priority } from './priority.js';
export { PRIORITIES, parsePriority, severity, meetsThreshold, priorityLabel } from './priority.js';
export type {
  Diagnostic,
  ErrorCode,
  WarningCode,
  FileLoadResult,
  Location,
  Position,
  ItemType,
  RuleInfo,
  MacroInfo,
  ListInfo,
  RuleMatch,
  RuleMatching,
  EvaluateOptions,
} from './loader/types.js';
export type { ParseResult } from './condition/parser.js';
export { parseCondition } from './condition/parser.js';
export { mapExpr, forEachNode, forEachFieldRef } from './condition/walk.js';
export type { Predicate, CompileResult } from './compile/compile.js';
export { compileCondition } from './compile/compile.js';
export { SYSCALL_EVENT_TYPES, eventTypesOf } from './compile/evttypes.js';
export type { OutputTemplate, OutputFieldValue, CompileOutputResult } from './output/format.js';
export { compileOutput, fieldValueText } from './output/format.js';
export type {
  AppendOutputEntry,
  AppendOutputMatch,
  AppendedField,
  AppendedOutput,
  ExtraOutputField,
} from './output/append.js';
export { FALCO_DEFAULT_APPEND_OUTPUT, suggestedFormat } from './output/append.js';
export type { FalcoAlert, AlertOptions, AlertJsonOptions } from './output/alert.js';
export { toFalcoAlert, formatAlertJson, formatAlertText } from './output/alert.js';
export type { RuleText, LoadResult, LoadOptions, RequiredPlugin } from './loader/load.js';
export {
  loadRules,
  readRuleFiles,
  loadResultsJson,
  ENGINE_VERSION,
  PROVIDED_PLUGINS,
} from './loader/load.js';
export type { AppendOutputResult, RuleSelector } from './loader/ruleset.js';
export { Ruleset } from './loader/ruleset.js';
// Positioned YAML scanning, shared with @saker/config's tree.
export { LineIndex, MAX_ALIAS_NODES, followedByColon, skipBlank } from './loader/yaml.js';
export type { EffectiveRuleset, EffectiveRulesetOptions } from './effective-ruleset.js';
export { effectiveRuleset, firstLoadError } from './effective-ruleset.js';
export type { RulesetDocument, RulesetSelection, RulesetSignature } from './ruleset-doc.js';
export type { RulesetVerdict } from './ruleset-signing.js';
export {
  RulesetKeyError,
  readRulesetSigningKey,
  readRulesetVerifyKey,
  rulesetKeyId,
  rulesetSignedBytes,
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
