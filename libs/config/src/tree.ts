/**
 * The configuration as a tree of nodes that remember where they came from,
 * so every error can name a file, line and column (or an environment
 * variable). Layers are merged in order: file, then environment, then the
 * caller's overrides.
 */
// The YAML scanning rules' loader does, with the same alias limit (MAX_ALIAS_NODES).
import { LineIndex, MAX_ALIAS_NODES, followedByColon, skipBlank } from '@saker/rules';
import yaml from 'js-yaml';
import { ConfigError, type Origin } from './errors.js';

export type Scalar = string | number | boolean | null;

export type CNode =
  | { readonly kind: 'scalar'; readonly value: Scalar; readonly origin: Origin }
  | { readonly kind: 'seq'; readonly items: readonly CNode[]; readonly origin: Origin }
  | { readonly kind: 'map'; readonly entries: ReadonlyMap<string, CEntry>; readonly origin: Origin };

interface CEntry {
  /** Where the key was written; errors about the key (unknown, misspelt) point here. */
  readonly keyOrigin: Origin;
  readonly value: CNode;
}

export type CMap = Extract<CNode, { kind: 'map' }>;

export function emptyMap(origin: Origin): CMap {
  return { kind: 'map', entries: new Map(), origin };
}

interface Built {
  readonly node: CNode;
  readonly result: unknown;
  /** A scalar followed by `:` is a mapping key. */
  readonly isKey: boolean;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** The nodes aliases may still expand into. */
interface AliasBudget {
  left: number;
}

/** A node from a plain value, every part carrying `origin` (aliases, env values, overrides). */
export function nodeFromValue(
  value: unknown,
  origin: Origin,
  path: string,
  budget: AliasBudget = { left: MAX_ALIAS_NODES },
): CNode {
  if (--budget.left < 0) {
    throw new ConfigError(
      path,
      `YAML aliases expand to more than ${MAX_ALIAS_NODES} nodes (the limit, against "billion laughs" files)`,
      origin,
    );
  }
  if (value === undefined) return { kind: 'scalar', value: null, origin };
  if (isScalar(value)) return { kind: 'scalar', value, origin };
  if (Array.isArray(value)) {
    return {
      kind: 'seq',
      items: value.map((v, i) => nodeFromValue(v, origin, `${path}[${i}]`, budget)),
      origin,
    };
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = new Map<string, CEntry>();
    for (const [k, v] of Object.entries(value)) {
      entries.set(k, {
        keyOrigin: origin,
        value: nodeFromValue(v, origin, path === '' ? k : `${path}.${k}`, budget),
      });
    }
    return { kind: 'map', entries, origin };
  }
  throw new ConfigError(path, `unsupported value of type ${typeof value}`, origin);
}

/**
 * Parses one YAML document into positioned nodes. js-yaml builds plain values;
 * its `listener` reports where each node opens and closes, and from those
 * events this rebuilds the tree with positions. Scalars use the core schema
 * (null, booleans, integers, floats, strings), as YAML 1.2 reads them.
 */
export function parseYamlConfig(text: string, file: string): CNode | null {
  const lines = new LineIndex(text);
  const stack: { open: number; children: Built[] }[] = [];
  let root: CNode | null = null;
  const originAt = (offset: number): Origin => {
    const { line, column } = lines.pos(offset);
    return { kind: 'file', file, line, column };
  };
  const budget: AliasBudget = { left: MAX_ALIAS_NODES };

  const listener = (event: 'open' | 'close', state: yaml.State): void => {
    if (event === 'open') {
      stack.push({ open: state.position, children: [] });
      return;
    }
    const frame = stack.pop();
    if (!frame) return;
    const end = state.position;
    const start = Math.min(skipBlank(text, frame.open, Math.max(frame.open, end)), end);
    const origin = originAt(start);
    const { kind, result } = state as unknown as { kind: string | null; result: unknown };
    let node: CNode | null = null;
    const only = frame.children.length === 1 ? frame.children[0] : undefined;
    if (
      only &&
      kind !== 'scalar' &&
      typeof result === 'object' &&
      result !== null &&
      only.result === result
    ) {
      // js-yaml read a would-be mapping key holding a nested node; no `:` followed, so that node is this one.
      node = only.node;
    } else if (kind === 'scalar') {
      node = { kind: 'scalar', value: isScalar(result) ? result : String(result), origin };
    } else if (kind === 'sequence') {
      node =
        frame.children.length === 0 && Array.isArray(result) && result.length > 0
          ? nodeFromValue(result, origin, '', budget)
          : { kind: 'seq', items: frame.children.map((c) => c.node), origin };
    } else if (kind === 'mapping') {
      if (frame.children.length === 0 && typeof result === 'object' && result !== null) {
        node = nodeFromValue(result, origin, '', budget);
      } else {
        const entries = new Map<string, CEntry>();
        const kids = frame.children;
        for (let i = 0; i < kids.length; i++) {
          const k = kids[i];
          if (!k || !k.isKey || k.node.kind !== 'scalar') continue;
          const next = kids[i + 1];
          const value: CNode =
            next && !next.isKey ? next.node : { kind: 'scalar', value: null, origin: k.node.origin };
          if (next && !next.isKey) i++;
          entries.set(String(k.node.value), { keyOrigin: k.node.origin, value });
        }
        node = { kind: 'map', entries, origin };
      }
    } else if (result !== null && result !== undefined) {
      node = nodeFromValue(result, origin, '', budget);
    }
    const parent = stack[stack.length - 1];
    if (!parent) {
      root = node;
      return;
    }
    if (node) {
      parent.children.push({ node, result, isKey: node.kind === 'scalar' && followedByColon(text, end) });
    }
  };

  try {
    yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file, listener });
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const mark = (err as { mark?: { position?: number } }).mark;
      const offset = Math.min(Math.max(mark?.position ?? 0, 0), text.length);
      throw new ConfigError('', `invalid YAML: ${err.reason || err.message}`, originAt(offset), {
        cause: err,
      });
    }
    throw err;
  }
  return root;
}

/** Overlays `top` on `base`: mappings merge key by key, anything else replaces. */
export function mergeNodes(base: CNode, top: CNode): CNode {
  if (base.kind !== 'map' || top.kind !== 'map') return top;
  const entries = new Map(base.entries);
  for (const [key, entry] of top.entries) {
    const prev = entries.get(key);
    entries.set(
      key,
      prev ? { keyOrigin: entry.keyOrigin, value: mergeNodes(prev.value, entry.value) } : entry,
    );
  }
  return { kind: 'map', entries, origin: base.origin };
}

/** The prefix of environment variables that set configuration keys. */
const ENV_PREFIX = 'SAKER__';

/**
 * `SAKER__HTTP_OUTPUT__URL=https://x` sets `http_output.url`: the name after
 * the prefix is split on `__` and lowercased; the value is read as YAML, so
 * `true`, `5`, `0.5`, `null` and `[a, b]` have their YAML types.
 */
export function envLayer(env: Readonly<Record<string, string | undefined>>): CNode {
  let layer: CNode = emptyMap({ kind: 'overrides' });
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    const origin: Origin = { kind: 'env', envVar: name };
    const segments = name.slice(ENV_PREFIX.length).split('__');
    if (segments.some((s) => !/^[A-Za-z0-9_]+$/.test(s) || s.startsWith('_') || s.endsWith('_'))) {
      throw new ConfigError(
        '',
        'not a configuration key: after SAKER__, name the key path with __ between levels (SAKER__HTTP_OUTPUT__URL)',
        origin,
      );
    }
    const keys = segments.map((s) => s.toLowerCase());
    let value: unknown;
    try {
      value = raw.trim() === '' ? null : yaml.load(raw, { schema: yaml.CORE_SCHEMA });
    } catch (err) {
      const reason = err instanceof yaml.YAMLException ? err.reason : String(err);
      throw new ConfigError(keys.join('.'), `not a valid YAML value: ${reason}`, origin, { cause: err });
    }
    let node = nodeFromValue(value, origin, keys.join('.'));
    for (let i = keys.length - 1; i >= 0; i--) {
      node = { kind: 'map', entries: new Map([[keys[i] ?? '', { keyOrigin: origin, value: node }]]), origin };
    }
    layer = mergeNodes(layer, node);
  }
  return layer;
}
