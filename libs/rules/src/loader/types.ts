import type { SakerEvent } from '@saker/events';
import type { AppendedOutput } from '../output/append.js';
import type { Priority } from '../priority.js';

/**
 * Public shapes of loading: what the loader reports and what it builds.
 * The CLI, the engine service and the control API only use these.
 */

/** Falco's load result codes. Errors start with LOAD_ERR_; everything else is a warning. */
export type ErrorCode =
  | 'LOAD_ERR_FILE_READ'
  | 'LOAD_ERR_YAML_PARSE'
  | 'LOAD_ERR_YAML_VALIDATE'
  | 'LOAD_ERR_COMPILE_CONDITION'
  | 'LOAD_ERR_COMPILE_OUTPUT'
  | 'LOAD_ERR_VALIDATE'
  | 'LOAD_ERR_EXTENSION';

export type WarningCode =
  | 'LOAD_UNKNOWN_SOURCE'
  | 'LOAD_UNSAFE_NA_CHECK'
  | 'LOAD_NO_EVTTYPE'
  | 'LOAD_UNKNOWN_FILTER'
  | 'LOAD_UNUSED_MACRO'
  | 'LOAD_UNUSED_LIST'
  | 'LOAD_UNKNOWN_ITEM'
  | 'LOAD_DEPRECATED_ITEM'
  | 'LOAD_WARNING_EXTENSION'
  | 'LOAD_APPEND_NO_VALUES'
  | 'LOAD_EXCEPTION_NAME_NOT_UNIQUE'
  | 'LOAD_INVALID_MACRO_NAME'
  | 'LOAD_INVALID_LIST_NAME'
  | 'LOAD_COMPILE_CONDITION'
  | 'LOAD_UNKNOWN_KEY'
  | 'LOAD_UNSUPPORTED_PLUGIN';

/** Where in a file something is. Lines and columns are 1-based; offset is 0-based. */
export interface Position {
  readonly name: string;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export type ItemType =
  | 'rule'
  | 'macro'
  | 'list'
  | 'required_engine_version'
  | 'required_plugin_versions'
  | 'rules content'
  | 'rules content item'
  | 'exception'
  | 'condition expression'
  | 'rule output'
  | 'rule output expression'
  | 'list item'
  | 'macro condition'
  | 'rule condition'
  | 'exception field'
  | 'exception value'
  // Falco's own names for the remaining parts of an item, as its load results spell them.
  | 'value for'
  | 'exceptions'
  | 'exception values'
  | 'required plugin versions'
  | 'required plugin versions entry'
  | 'required plugin versions alternative'
  | 'rule priority'
  | 'overrides'
  | 'extension item';

export interface Location {
  readonly item_type: ItemType;
  readonly item_name: string;
  readonly position: Position;
}

export interface Diagnostic {
  readonly code: ErrorCode | WarningCode;
  /** Falco's short description of the code ("Unused macro"). */
  readonly codedesc: string;
  readonly message: string;
  /** Outermost first: the item, then the part of it (condition, exception, ...). */
  readonly locations: readonly Location[];
  /** The lines of the file around the innermost position, with a caret under it. */
  readonly snippet: string;
}

/** The load outcome of one file, in the shape of Falco's `falco_load_results`. */
export interface FileLoadResult {
  readonly name: string;
  readonly successful: boolean;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
}

export interface RuleInfo {
  readonly name: string;
  readonly desc: string;
  /** The condition as written, after appends and overrides. */
  readonly condition: string;
  readonly output: string;
  readonly priority: Priority;
  readonly source: string;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  /** Event types the rule can match; undefined when it matches every type (or the source has none). */
  readonly evttypes: readonly string[] | undefined;
  readonly warnEvttypes: boolean;
  readonly skipIfUnknownFilter: boolean;
  readonly position: Position;
  /** What falco.yaml's `append_output` adds to this rule's output (Ruleset.withAppendedOutput); absent: nothing. */
  readonly appended?: AppendedOutput;
}

export interface MacroInfo {
  readonly name: string;
  readonly condition: string;
  readonly source: string;
  readonly used: boolean;
  readonly position: Position;
}

export interface ListInfo {
  readonly name: string;
  readonly items: readonly string[];
  readonly used: boolean;
  readonly position: Position;
}

/** A rule that matched an event. */
export interface RuleMatch {
  readonly rule: RuleInfo;
  /** The formatted output line (without time and priority), with `%field` substituted. */
  readonly output: string;
  /** The values of the fields named in the output, keyed as written (`proc.aname[2]`). */
  readonly outputFields: Readonly<
    Record<string, string | number | boolean | null | readonly (string | number | boolean)[]>
  >;
  readonly event: SakerEvent;
}

export type RuleMatching = 'first' | 'all';

export interface EvaluateOptions {
  /** Drop rules whose priority is less severe than this. Default DEBUG (keep all). */
  readonly minPriority?: Priority;
  /** `first`: stop at the first matching rule, in load order (Falco's default); `all`: report every match. */
  readonly ruleMatching?: RuleMatching;
  /**
   * Default true. False leaves each match's `output` empty and `outputFields`
   * empty, for a caller that renders later with `Ruleset.render` (after a
   * metadata join, say) and would otherwise render twice.
   */
  readonly render?: boolean;
}
