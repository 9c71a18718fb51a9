import yaml from 'js-yaml';

/**
 * YAML with positions. js-yaml builds plain values; its `listener` option
 * reports where each node opens and closes, and from those events this module
 * rebuilds a small tree in which every node knows where it starts and ends.
 *
 * Scalars are read with the failsafe schema so that they keep their source
 * text (`2`, `1.10`, `true` stay strings), the way yaml-cpp hands them to
 * Falco's loader; the loader then decodes booleans and numbers itself.
 */

export interface YPos {
  /** 0-based offset into the file. */
  readonly offset: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

interface YBase {
  readonly pos: YPos;
  /** Offset just past the node's last character. */
  readonly end: number;
}

export interface YScalar extends YBase {
  readonly kind: 'scalar';
  readonly value: string;
  /** Plain `~`, `null`, or an absent value: yaml-cpp's Null node. */
  readonly isNull: boolean;
  readonly style: 'plain' | 'single' | 'double' | 'block';
}

interface YSeq extends YBase {
  readonly kind: 'seq';
  readonly items: readonly YNode[];
}

interface YPair {
  readonly key: YNode;
  readonly value: YNode;
}

export interface YMap extends YBase {
  readonly kind: 'map';
  readonly pairs: readonly YPair[];
}

export type YNode = YScalar | YSeq | YMap;

export type YamlParseResult =
  | { readonly ok: true; readonly docs: readonly (YNode | null)[] }
  | { readonly ok: false; readonly message: string; readonly pos: YPos };

/**
 * yaml-cpp accepts any tag and Falco reads the value as if untagged, so a
 * plain scalar such as `desc: != after evt.type` (a `!=` tag) must load.
 */
const ANY_TAG_TYPES = ['!', 'tag:'].flatMap((prefix) =>
  (['scalar', 'sequence', 'mapping'] as const).map(
    (kind) => new yaml.Type(prefix, { kind, multi: true, construct: (data: unknown) => data }),
  ),
);
const SCHEMA = yaml.FAILSAFE_SCHEMA.extend(ANY_TAG_TYPES);

/** Maps offsets to 1-based lines and columns. */
export class LineIndex {
  readonly #starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.#starts.push(i + 1);
  }

  pos(offset: number): YPos {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, column: offset - (this.#starts[lo] ?? 0) + 1 };
  }
}

interface Frame {
  readonly open: number;
  readonly children: Built[];
}

interface Built {
  readonly node: YNode;
  /** The value js-yaml built for the node (collections: the object itself). */
  readonly result: unknown;
  /** Whether the node is followed by `:`, i.e. it is a mapping key. */
  readonly isKey: boolean;
}

const NULL_WORDS = new Set(['~', 'null', 'Null', 'NULL']);

/** The offset of the first character at or after `from` (before `to`) that is not blank or a comment. */
export function skipBlank(text: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (c === '#') {
      while (i < to && text[i] !== '\n') i++;
    } else break;
  }
  return i;
}

/** Whether the node ending at `end` is followed by `:` (and a separator): it is a mapping key. */
export function followedByColon(text: string, end: number): boolean {
  let i = end;
  while (text[i] === ' ' || text[i] === '\t') i++;
  if (text[i] !== ':') return false;
  const n = text[i + 1];
  return (
    n === undefined ||
    n === ' ' ||
    n === '\t' ||
    n === '\n' ||
    n === '\r' ||
    n === ',' ||
    n === '}' ||
    n === ']'
  );
}

function scalarStyle(ch: string | undefined): YScalar['style'] {
  if (ch === '"') return 'double';
  if (ch === "'") return 'single';
  if (ch === '|' || ch === '>') return 'block';
  return 'plain';
}

/**
 * How many nodes aliases may expand into, over one text. js-yaml shares one
 * object between an anchor and its aliases, but the positioned tree copies it
 * at each alias, so nested aliases (a "billion laughs" file: 1 KB, 9^9
 * nodes) would grow without bound; past this many the text is refused.
 */
export const MAX_ALIAS_NODES = 100_000;

/** Thrown when aliases expand past MAX_ALIAS_NODES; parseYaml reports it at the alias. */
class AliasLimitError extends Error {
  override readonly name = 'AliasLimitError';
  readonly pos: YPos;

  constructor(pos: YPos) {
    super(
      `YAML aliases expand to more than ${MAX_ALIAS_NODES} nodes (the limit, against "billion laughs" files)`,
    );
    this.pos = pos;
  }
}

/** The nodes aliases may still expand into. */
interface AliasBudget {
  left: number;
}

/** Rebuilds a positioned node from a plain value (aliases, which report no structure). */
function fromValue(value: unknown, pos: YPos, end: number, budget: AliasBudget): YNode {
  if (--budget.left < 0) throw new AliasLimitError(pos);
  if (Array.isArray(value))
    return { kind: 'seq', pos, end, items: value.map((v) => fromValue(v, pos, end, budget)) };
  if (value !== null && typeof value === 'object') {
    const pairs: YPair[] = [];
    for (const [k, v] of Object.entries(value)) {
      pairs.push({ key: fromValue(k, pos, end, budget), value: fromValue(v, pos, end, budget) });
    }
    return { kind: 'map', pos, end, pairs };
  }
  if (value === null || value === undefined)
    return { kind: 'scalar', pos, end, value: '', isNull: true, style: 'plain' };
  return { kind: 'scalar', pos, end, value: String(value), isNull: false, style: 'plain' };
}

function nullAt(pos: YPos): YScalar {
  return { kind: 'scalar', pos, end: pos.offset, value: '', isNull: true, style: 'plain' };
}

function buildMap(children: readonly Built[], pos: YPos, end: number, lines: LineIndex): YMap {
  const pairs: YPair[] = [];
  for (let i = 0; i < children.length; i++) {
    const c = children[i];
    if (!c) continue;
    if (!c.isKey) {
      // A value without a key (explicit `? ` syntax or a flow oddity): keep it under an empty key.
      pairs.push({ key: nullAt(c.node.pos), value: c.node });
      continue;
    }
    const next = children[i + 1];
    if (next && !next.isKey) {
      pairs.push({ key: c.node, value: next.node });
      i++;
    } else {
      pairs.push({ key: c.node, value: nullAt(lines.pos(c.node.end)) });
    }
  }
  return { kind: 'map', pos, end, pairs };
}

/** Parses every document of a YAML text. Never throws. */
export function parseYaml(text: string): YamlParseResult {
  const lines = new LineIndex(text);
  const stack: Frame[] = [];
  const roots: (YNode | null)[] = [];
  const budget: AliasBudget = { left: MAX_ALIAS_NODES };
  const listener = (event: 'open' | 'close', state: yaml.State): void => {
    if (event === 'open') {
      stack.push({ open: state.position, children: [] });
      return;
    }
    const frame = stack.pop();
    if (!frame) return;
    const end = state.position;
    const startOffset = skipBlank(text, frame.open, Math.max(frame.open, end));
    const pos = lines.pos(Math.min(startOffset, end));
    let node: YNode | null = null;
    const kind = (state as unknown as { kind: string | null }).kind;
    const result = (state as unknown as { result: unknown }).result;
    // js-yaml reads a would-be mapping key with a nested node and, when no `:`
    // follows, keeps that node as the result: the nested node is this node.
    const only = frame.children.length === 1 ? frame.children[0] : undefined;
    if (
      only &&
      kind !== 'scalar' &&
      result !== null &&
      typeof result === 'object' &&
      only.result === result
    ) {
      node = only.node;
    } else if (kind === 'scalar') {
      const style = scalarStyle(text[startOffset]);
      const value =
        typeof result === 'string' ? result : result === null || result === undefined ? '' : String(result);
      const isNull = result === null || (style === 'plain' && (value === '' || NULL_WORDS.has(value)));
      node = { kind: 'scalar', pos, end, value, isNull, style };
    } else if (kind === 'sequence') {
      const items = frame.children.map((c) => c.node);
      node =
        items.length === 0 && Array.isArray(result) && result.length > 0
          ? fromValue(result, pos, end, budget)
          : { kind: 'seq', pos, end, items };
    } else if (kind === 'mapping') {
      node =
        frame.children.length === 0 &&
        result !== null &&
        typeof result === 'object' &&
        Object.keys(result).length > 0
          ? fromValue(result, pos, end, budget)
          : buildMap(frame.children, pos, end, lines);
    } else if (result !== null && result !== undefined) {
      node = fromValue(result, pos, end, budget);
    }
    const parent = stack[stack.length - 1];
    if (!parent) {
      roots.push(node);
      return;
    }
    if (node)
      parent.children.push({ node, result, isKey: node.kind === 'scalar' && followedByColon(text, end) });
  };
  try {
    yaml.loadAll(text, undefined, { schema: SCHEMA, json: true, listener });
  } catch (e) {
    if (e instanceof AliasLimitError) return { ok: false, message: e.message, pos: e.pos };
    if (e instanceof yaml.YAMLException) {
      const mark = (e as { mark?: { position?: number } }).mark;
      const offset = Math.min(Math.max(mark?.position ?? 0, 0), text.length);
      return { ok: false, message: e.reason || e.message, pos: lines.pos(offset) };
    }
    const message =
      e instanceof RangeError ? 'the document nests too deeply' : e instanceof Error ? e.message : String(e);
    return { ok: false, message, pos: lines.pos(0) };
  }
  return { ok: true, docs: roots };
}

/** The value of the first pair whose key is `key` (yaml-cpp's `node[key]`). */
export function mapGet(map: YMap, key: string): YNode | undefined {
  for (const p of map.pairs) if (p.key.kind === 'scalar' && p.key.value === key) return p.value;
  return undefined;
}

/** The keys of a mapping, as written (non-scalar keys are skipped). */
export function mapKeys(map: YMap): { readonly name: string; readonly node: YNode }[] {
  const out: { name: string; node: YNode }[] = [];
  for (const p of map.pairs) if (p.key.kind === 'scalar') out.push({ name: p.key.value, node: p.key });
  return out;
}

/**
 * For a scalar, where each character of its decoded value sits in the file.
 * Quotes, escapes, folding and indentation make the two differ, so the
 * decoded text is aligned against the source; a character that cannot be
 * found (an escape) takes the position of the previous one.
 */
export function scalarOffsets(node: YScalar, text: string): (index: number) => number {
  let p = node.pos.offset;
  if (node.style === 'double' || node.style === 'single') p++;
  if (node.style === 'block') {
    const nl = text.indexOf('\n', p);
    p = nl < 0 || nl >= node.end ? node.end : nl + 1;
  }
  const value = node.value;
  const to = Math.max(node.end, p);
  const map = new Array<number>(value.length + 1);
  const build = (): void => {
    const WINDOW = 400;
    for (let i = 0; i < value.length; i++) {
      const c = value[i];
      let q = p;
      let found = -1;
      while (q < to && q - p < WINDOW) {
        const s = text[q];
        if (s === c || ((c === ' ' || c === '\n') && (s === '\n' || s === '\r'))) {
          found = q;
          break;
        }
        q++;
      }
      if (found >= 0) {
        map[i] = found;
        p = found + 1;
      } else {
        map[i] = Math.min(p, Math.max(to - 1, node.pos.offset));
      }
    }
    map[value.length] = Math.min(p, Math.max(to, node.pos.offset));
  };
  let built = false;
  return (index: number) => {
    if (value.length === 0) return node.pos.offset;
    if (!built) {
      build();
      built = true;
    }
    const i = Math.max(0, Math.min(index, value.length));
    return map[i] ?? node.pos.offset;
  };
}
