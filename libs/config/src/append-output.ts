/**
 * Falco's `append_output` key: a list of entries, each with an optional
 * `match` (rule, source, tags), `extra_output`, `extra_fields` and
 * `suggested_output`. Read into fully populated values; the rules engine
 * applies them (@saker/rules, Ruleset.withAppendedOutput).
 */
import type { ExtraOutputField } from '@saker/rules';
import { ConfigError } from './errors.js';
import { type Schema, boolean, field, joinPath, nullable, object, section, string } from './schema.js';
import type { CNode } from './tree.js';

export interface AppendOutputConfig {
  readonly match: {
    readonly rule: string | null;
    readonly source: string | null;
    /** The rule must have every one of them; empty: any. */
    readonly tags: readonly string[];
  };
  /** '' when not set. */
  readonly extraOutput: string;
  readonly extraFields: readonly ExtraOutputField[];
  readonly suggestedOutput: boolean;
}

/** Falco's default file: `append_output: [ { suggested_output: true } ]`. */
export function defaultAppendOutput(): AppendOutputConfig[] {
  return [
    {
      match: { rule: null, source: null, tags: [] },
      extraOutput: '',
      extraFields: [],
      suggestedOutput: true,
    },
  ];
}

function got(node: CNode): string {
  if (node.kind === 'seq') return 'a list';
  if (node.kind === 'map') return 'a mapping';
  return JSON.stringify(node.value);
}

/** A list, and only a list (Falco reads no scalar as a list of one here). */
function strictList<T>(item: Schema<T>): Schema<readonly T[]> {
  const expected = `a list of ${item.expected.replace(/^an? /, '')}s`;
  return {
    expected,
    read(node, path, ctx) {
      if (node.kind !== 'seq')
        throw new ConfigError(path, `expected ${expected}, got ${got(node)}`, node.origin);
      return node.items.map((n, i) => item.read(n, `${path}[${i}]`, ctx));
    },
  };
}

/** A field as written in an output: `evt.hostname`, `proc.aname[2]`, `k8s.pod.label.app`. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+(?:\[[^\]\s]*\])?$/;

const EXTRA_FIELD_EXPECTED = 'a field name (evt.hostname) or a mapping of one name to a format';

/** One `extra_fields` item: a field name, or `{name: format}`. */
function extraField(): Schema<ExtraOutputField> {
  const text = string();
  return {
    expected: EXTRA_FIELD_EXPECTED,
    read(node, path, ctx) {
      if (node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number')) {
        const name = text.read(node, path, ctx);
        if (!FIELD_NAME.test(name)) {
          throw new ConfigError(
            path,
            `expected ${EXTRA_FIELD_EXPECTED}, got ${JSON.stringify(name)}`,
            node.origin,
          );
        }
        return name;
      }
      const only = node.kind === 'map' && node.entries.size === 1 ? [...node.entries][0] : undefined;
      if (only !== undefined) {
        const [name, entry] = only;
        return { name, format: text.read(entry.value, joinPath(path, name), ctx) };
      }
      const what = node.kind === 'map' ? `a mapping of ${node.entries.size} keys` : got(node);
      throw new ConfigError(path, `expected ${EXTRA_FIELD_EXPECTED}, got ${what}`, node.origin);
    },
  };
}

/** `extra_fields`; as in Falco, a name given twice in one entry is an error (a field name twice is one). */
function extraFields(): Schema<readonly ExtraOutputField[]> {
  const items = strictList(extraField());
  return {
    expected: items.expected,
    read(node, path, ctx) {
      const out = items.read(node, path, ctx);
      const seen = new Map<string, boolean>();
      const kept: ExtraOutputField[] = [];
      out.forEach((f, i) => {
        const key = typeof f === 'string' ? f : f.name;
        const raw = typeof f === 'string';
        const before = seen.get(key);
        if (before === true && raw) return;
        if (before !== undefined) {
          const item = node.kind === 'seq' ? node.items[i] : undefined;
          throw new ConfigError(
            `${path}[${i}]`,
            `${JSON.stringify(key)} is already defined in this entry`,
            (item ?? node).origin,
          );
        }
        seen.set(key, raw);
        kept.push(f);
      });
      return kept;
    },
  };
}

function entry(): Schema<AppendOutputConfig> {
  return object({
    match: section({
      rule: field(nullable(string()), null),
      source: field(nullable(string()), null),
      tags: field(strictList(string()), []),
    }),
    extra_output: field(string(), ''),
    extra_fields: field(extraFields(), []),
    suggested_output: field(boolean(), false),
  });
}

/** The `append_output` list. */
export function appendOutputSchema(): Schema<readonly AppendOutputConfig[]> {
  return strictList(entry());
}
