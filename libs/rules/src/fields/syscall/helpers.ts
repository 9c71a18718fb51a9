import type { SyscallEvent } from '@saker/events';
import {
  type Extractor,
  type FieldArgSpec,
  FieldArgumentError,
  type FieldDef,
  type FieldKind,
  type FieldValue,
} from '../types.js';

export type Ev = SyscallEvent;
export type Def = FieldDef<Ev>;

interface BaseSpec {
  readonly name: string;
  readonly kind: FieldKind;
  readonly falcoType: string;
  readonly description: string;
  readonly isList?: boolean;
  readonly anyElement?: boolean;
}

/** What every field definition declares besides its binding. */
function described(spec: BaseSpec): Omit<Def, 'bind'> {
  return {
    name: spec.name,
    kind: spec.kind,
    falcoType: spec.falcoType,
    isList: spec.isList ?? false,
    ...(spec.anyElement ? { anyElement: true } : {}),
    description: spec.description,
  };
}

/** A field without argument: `extract` runs per event, and an argument is refused at bind time. */
export function field(spec: BaseSpec & { readonly extract: Extractor<Ev> }): Def {
  const { extract, name } = spec;
  return {
    ...described(spec),
    bind(arg) {
      if (arg !== undefined)
        throw new FieldArgumentError(name, `${name} does not take an argument (got [${arg}])`);
      return extract;
    },
  };
}

/**
 * A field that takes an argument. `bind` receives the argument already checked
 * against `arg.required`; it parses it and returns the per-event closure.
 */
export function fieldWithArg(
  spec: BaseSpec & { readonly arg: FieldArgSpec; readonly bind: (arg: string | undefined) => Extractor<Ev> },
): Def {
  const { name, arg: argSpec, bind } = spec;
  return {
    ...described(spec),
    arg: argSpec,
    bind(arg) {
      if (arg === undefined && argSpec.required) {
        throw new FieldArgumentError(name, `${name} requires an argument, e.g. ${name}[...]`);
      }
      if (arg !== undefined && arg.length === 0)
        throw new FieldArgumentError(name, `${name} has an empty argument`);
      return bind(arg);
    },
  };
}

/** A field Saker registers for compatibility but cannot fill from a self-contained event. */
export function unavailable(spec: BaseSpec & { readonly why: string; readonly arg?: FieldArgSpec }): Def {
  const none: Extractor<Ev> = () => undefined;
  const description = `${spec.description} Always missing in Saker: ${spec.why}`;
  if (spec.arg) return fieldWithArg({ ...spec, description, arg: spec.arg, bind: () => none });
  return field({ ...spec, description, extract: none });
}

const INDEX = /^(0|[1-9][0-9]{0,8})$/;

/** Parses a non-negative index argument (`proc.aname[2]`), or throws FieldArgumentError. */
export function parseIndex(field: string, arg: string): number {
  if (!INDEX.test(arg)) throw new FieldArgumentError(field, `${field} needs a numeric index, got [${arg}]`);
  return Number(arg);
}

/** Whether an index-or-key argument is an index. */
export function isIndex(arg: string): boolean {
  return INDEX.test(arg);
}

/**
 * `b - a` for two nanosecond timestamps held as decimal strings. Exact as long
 * as the difference fits in 2^53 ns (104 days); beyond that the error is a few
 * nanoseconds, which no duration check can see.
 */
export function nsDiff(later: string, earlier: string): number {
  if (later.length <= 15 && earlier.length <= 15) return Number(later) - Number(earlier);
  const ls = later.length > 9 ? Number(later.slice(0, -9)) : 0;
  const es = earlier.length > 9 ? Number(earlier.slice(0, -9)) : 0;
  const ln = Number(later.length > 9 ? later.slice(-9) : later);
  const en = Number(earlier.length > 9 ? earlier.slice(-9) : earlier);
  return (ls - es) * 1e9 + (ln - en);
}

/** A timestamp of 0 means "unknown" in Falco's process table. */
export function nonZeroTs(ts: string | undefined): string | undefined {
  return ts === undefined || ts === '0' ? undefined : ts;
}

/** Renders a label map as Falco does: `k1:v1, k2:v2`, sorted, without internal Kubernetes labels. */
export function renderLabels(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  if (labels === undefined) return undefined;
  let out = '';
  for (const k of Object.keys(labels).sort()) {
    if (k.startsWith('annotation.') || k.startsWith('io.kubernetes.')) continue;
    if (out.length > 0) out += ', ';
    out += k;
    const v = labels[k];
    if (v) out += `:${v}`;
  }
  return out;
}

/** A key lookup in an optional record, as an extractor, bound to a fixed key. */
export function keyOf(
  get: (e: Ev) => Readonly<Record<string, string>> | undefined,
  key: string,
): (e: Ev) => FieldValue {
  return (e) => {
    const rec = get(e);
    return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
  };
}
