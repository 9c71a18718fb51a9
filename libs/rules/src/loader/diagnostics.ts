import type {
  Diagnostic,
  ErrorCode,
  FileLoadResult,
  ItemType,
  Location,
  Position,
  WarningCode,
} from './types.js';
import type { YPos } from './yaml.js';

/**
 * Load diagnostics: where a problem is (a chain of locations, outermost
 * first, like Falco's rule_loader context), what Falco calls it, and a
 * snippet of the file with a caret under the spot.
 */

/** Falco's short description of each code (its `codedesc`), plus Saker's own codes. */
const CODE_DESCRIPTIONS: Readonly<Record<ErrorCode | WarningCode, string>> = {
  LOAD_ERR_FILE_READ: 'File read error',
  LOAD_ERR_YAML_PARSE: 'YAML parse error',
  LOAD_ERR_YAML_VALIDATE: 'Error validating internal structure of YAML file',
  LOAD_ERR_COMPILE_CONDITION: 'Error compiling condition',
  LOAD_ERR_COMPILE_OUTPUT: 'Error compiling output',
  LOAD_ERR_VALIDATE: 'Error validating rule/macro/list/exception objects',
  LOAD_ERR_EXTENSION: 'Error in extension item',
  LOAD_UNKNOWN_SOURCE: 'Unknown event source',
  LOAD_UNSAFE_NA_CHECK: 'Unsafe <NA> comparison in condition',
  LOAD_NO_EVTTYPE: 'Condition has no event-type restriction',
  LOAD_UNKNOWN_FILTER: 'Unknown field or event-type in condition or output',
  LOAD_UNUSED_MACRO: 'Unused macro',
  LOAD_UNUSED_LIST: 'Unused list',
  LOAD_UNKNOWN_ITEM: 'Unknown rules file item',
  LOAD_DEPRECATED_ITEM: 'Used deprecated item',
  LOAD_WARNING_EXTENSION: 'Warning in extension item',
  LOAD_APPEND_NO_VALUES: 'Overriding/appending with no values',
  LOAD_EXCEPTION_NAME_NOT_UNIQUE: 'Multiple exceptions defined with the same name',
  LOAD_INVALID_MACRO_NAME: 'Invalid macro name',
  LOAD_INVALID_LIST_NAME: 'Invalid list name',
  LOAD_COMPILE_CONDITION: 'Warning in rule condition',
  LOAD_UNKNOWN_KEY: 'Unknown key in item definition',
  LOAD_UNSUPPORTED_PLUGIN: 'Required plugin not provided by Saker',
};

/** A chain of locations: the file, then the item, then the part of it. Immutable. */
export class Context {
  readonly locations: readonly Location[];

  private constructor(locations: readonly Location[]) {
    this.locations = locations;
  }

  /** The whole file: Falco's `rules content` location. */
  static file(name: string): Context {
    return new Context([
      { item_type: 'rules content', item_name: '', position: { name, line: 1, column: 1, offset: 0 } },
    ]);
  }

  get fileName(): string {
    return this.locations[0]?.position.name ?? '';
  }

  get last(): Location {
    const l = this.locations[this.locations.length - 1];
    if (!l) throw new Error('context without location');
    return l;
  }

  /** A nested location, in the same file unless `file` names another. */
  at(itemType: ItemType, itemName: string, pos: YPos, file?: string): Context {
    const name = file ?? this.fileName;
    const position: Position = { name, line: pos.line, column: pos.column, offset: pos.offset };
    return new Context([...this.locations, { item_type: itemType, item_name: itemName, position }]);
  }
}

/** The file texts by name, for snippets. */
export type Contents = ReadonlyMap<string, string>;

const SNIPPET_WIDTH = 160;

/**
 * The line holding `offset`, cut to a readable width, and a caret line under
 * the spot. Follows Falco's snippet layout.
 */
function snippet(text: string | undefined, offset: number): string {
  if (text === undefined) return '<No context available>\n';
  if (text.length === 0) return '<No context available>\n';
  let pos = Math.max(0, Math.min(offset, text.length - 1));
  // A mark at a line end or past the end of the text points at the line before.
  while (pos > 0 && (pos >= text.length || text[pos] === '\n')) pos--;
  const half = SNIPPET_WIDTH / 2;
  let from = pos;
  while (from > 0 && text[from - 1] !== '\n' && pos - from < half) from--;
  let to = pos;
  while (to < text.length - 1 && text[to + 1] !== '\n' && to - pos < half) to++;
  let line = text.slice(from, to + 1).replace(/\r$/, '');
  if (line.length === 0) return '<No context available>\n';
  if (from > 0 && text[from - 1] !== '\n') line = `...${line.slice(3)}`;
  if (to < text.length - 1 && text[to + 1] !== '\n') line = `${line.slice(0, -3)}...`;
  return `${line}\n${' '.repeat(pos - from)}^\n`;
}

function makeDiagnostic(
  code: ErrorCode | WarningCode,
  message: string,
  ctx: Context,
  contents: Contents,
): Diagnostic {
  const last = ctx.last;
  return {
    code,
    codedesc: CODE_DESCRIPTIONS[code],
    message,
    locations: ctx.locations,
    snippet: snippet(contents.get(last.position.name), last.position.offset),
  };
}

/** Collects the errors and warnings of loading one file. */
export class FileResult {
  readonly name: string;
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly #contents: Contents;

  constructor(name: string, contents: Contents) {
    this.name = name;
    this.#contents = contents;
  }

  get successful(): boolean {
    return this.errors.length === 0;
  }

  error(code: ErrorCode, message: string, ctx: Context): void {
    this.errors.push(makeDiagnostic(code, message, ctx, this.#contents));
  }

  warning(code: WarningCode, message: string, ctx: Context): void {
    this.warnings.push(makeDiagnostic(code, message, ctx, this.#contents));
  }

  toResult(): FileLoadResult {
    return {
      name: this.name,
      successful: this.successful,
      errors: [...this.errors],
      warnings: [...this.warnings],
    };
  }
}

/**
 * A load error raised while reading or compiling an item. Falco stops reading
 * a file at its first error and stops compiling at the first failing item;
 * throwing this and catching it at those two places reproduces that.
 */
export class LoadError extends Error {
  override readonly name = 'LoadError';
  readonly code: ErrorCode;
  readonly ctx: Context;

  constructor(code: ErrorCode, message: string, ctx: Context) {
    super(message);
    this.code = code;
    this.ctx = ctx;
  }
}
