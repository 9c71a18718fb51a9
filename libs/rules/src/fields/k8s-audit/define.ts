import type { K8sAuditEvent } from '@saker/events';
import type { Extractor, FieldDef } from '../types.js';
import { FieldArgumentError } from '../types.js';

/**
 * Builders for k8s_audit field definitions. Every field of this source is a
 * Falco CHARBUF: the plugin hands Falco text, so `kind` is always `string`
 * and a JSON `true` is compared as the word `true`.
 */

export type AuditFieldDef = FieldDef<K8sAuditEvent>;
export type AuditExtractor = Extractor<K8sAuditEvent>;

function noArgument(name: string, arg: string | undefined): void {
  if (arg !== undefined) {
    throw new FieldArgumentError(name, `${name} does not take an argument, got [${arg}]`);
  }
}

const INDEX = /^(0|[1-9][0-9]*)$/;

/** Falco's rule for an index: digits only, no leading zero, small enough to be an index. */
function parseIndex(name: string, arg: string): number {
  const n = INDEX.test(arg) ? Number(arg) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new FieldArgumentError(
      name,
      `${name} takes a numeric index argument (e.g. ${name}[0]), got [${arg}]`,
    );
  }
  return n;
}

/** A field that takes no argument. */
export function plain(
  name: string,
  description: string,
  isList: boolean,
  extract: AuditExtractor,
): AuditFieldDef {
  return {
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    isList,
    description,
    bind(arg) {
      noArgument(name, arg);
      return extract;
    },
  };
}

/** A list field that may be narrowed to one element (`[n]`): of the containers, volumes, rules, ... */
export function indexed(
  name: string,
  description: string,
  make: (index: number | undefined) => AuditExtractor,
): AuditFieldDef {
  return {
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    isList: true,
    arg: { required: false, kind: 'index' },
    description,
    bind(arg) {
      return make(arg === undefined ? undefined : parseIndex(name, arg));
    },
  };
}

/** A field that needs a key argument (`ka.uri.param[command]`). */
export function keyed(
  name: string,
  description: string,
  make: (key: string) => AuditExtractor,
  check?: (key: string) => string | undefined,
): AuditFieldDef {
  return {
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    isList: false,
    arg: { required: true, kind: 'key' },
    description,
    bind(arg) {
      if (arg === undefined)
        throw new FieldArgumentError(name, `${name} requires an argument, e.g. ${name}[key]`);
      const problem = check?.(arg);
      if (problem !== undefined) throw new FieldArgumentError(name, `${name}[${arg}]: ${problem}`);
      return make(arg);
    },
  };
}
