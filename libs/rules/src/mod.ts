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
