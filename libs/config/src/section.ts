/**
 * A section whose schema another package owns: `sinks.sidekick`, whose keys
 * the sinks' output descriptors declare. The loader keeps the section's
 * positioned nodes (file, environment and overrides merged); the owner reads
 * them with its schema, built from this package's combinators, so its errors
 * still name the key with file:line:col or the variable.
 */
import type { Field, ReadContext, Schema } from './schema.js';
import type { CNode } from './tree.js';

/** What the owner's schema may need from the loader. */
export interface SectionTools {
  /** A path: relative ones are taken from the directory of the file that wrote them. */
  readonly path: Schema<string>;
}

export class ConfigSection {
  /** Dotted path of the section (`sinks.sidekick`). */
  readonly path: string;
  readonly #node: CNode;
  readonly #tools: SectionTools;

  constructor(path: string, node: CNode, tools: SectionTools) {
    this.path = path;
    this.#node = node;
    this.#tools = tools;
  }

  /** Reads the section with the owner's schema; throws ConfigError naming the key and where it was written. */
  read<T>(schema: (tools: SectionTools) => Schema<T>): T {
    const ctx: ReadContext = { ignored: () => undefined, notice: () => undefined };
    return schema(this.#tools).read(this.#node, this.path, ctx);
  }
}

/** A field kept as a ConfigSection; absent, it reads as an empty mapping (every default). */
export function deferredSection(at: string, path: Schema<string>): Field<ConfigSection> {
  const tools: SectionTools = { path };
  return {
    schema: {
      expected: 'a mapping',
      read: (node, at) => new ConfigSection(at, node, tools),
    },
    default: () => new ConfigSection(at, { kind: 'scalar', value: null, origin: { kind: 'default' } }, tools),
  };
}
