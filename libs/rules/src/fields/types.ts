/**
 * The field registry contract. A field knows its name, its type, whether it
 * takes an argument, what it means, and how to pull its value out of an event.
 *
 * Extraction is split in two so the hot path does no parsing: `bind(arg)`
 * runs once at compile time (it checks and pre-parses the argument) and
 * returns a closure that runs once per event.
 */

/**
 * How a value compares. `string` fields use the string operators; `number`
 * fields parse the right side as a number at compile time; `ip` fields accept
 * addresses and CIDR networks; `ipnet` fields hold a network.
 */
export type FieldKind = 'string' | 'number' | 'bool' | 'ip' | 'ipnet';

export type Scalar = string | number | boolean;

/**
 * What an extractor returns. `undefined` means the value is missing, which
 * Falco prints as `<NA>` and which makes every comparison false (except `!=`
 * and `exists`, which follow Falco's own rules; see compile/operators.ts).
 * List-valued fields return an array.
 */
export type FieldValue = Scalar | readonly Scalar[] | undefined;

export type Extractor<E> = (event: E) => FieldValue;

export interface FieldArgSpec {
  /** Whether the field is unusable without an argument (`proc.aname` works without; `jevt.value` does not). */
  readonly required: boolean;
  /**
   * What the argument is: an index (`proc.aname[2]`), a key (`evt.arg[name]`,
   * `k8s.pod.label[app]`, `jevt.value[/a/b]`), or either (`evt.arg[0]` and `evt.arg[name]`).
   */
  readonly kind: 'index' | 'key' | 'index-or-key';
  /** Whether the dotted form `field.arg` is accepted as well as `field[arg]` (`evt.arg.flags`). */
  readonly dotted?: boolean;
}

export interface FieldDef<E> {
  /** Without argument: `proc.aname`, `evt.arg`. */
  readonly name: string;
  readonly kind: FieldKind;
  /** Falco's type name, shown by `saker fields list`: CHARBUF, UINT64, BOOL, IPADDR, ... */
  readonly falcoType: string;
  /** Whether the value is a list (`ka.req.pod.containers.image`, `proc.aname` without index). */
  readonly isList: boolean;
  /**
   * For list fields whose items are alternatives rather than members of one
   * set: each item is tested on its own, so `in` holds when any item is in
   * the set and `!=` holds only when no item equals the value. True for the
   * ancestor fields without index (`proc.aname`) and the two-ended socket
   * fields (`fd.ip`, `fd.port`, `fd.net`, `fd.proto`: either end).
   */
  readonly anyElement?: boolean;
  readonly arg?: FieldArgSpec;
  /** One or two sentences, written for Saker's users. */
  readonly description: string;
  /**
   * Called once per use at compile time. Throws FieldArgumentError when the
   * argument is missing, not allowed, or malformed.
   */
  bind(arg: string | undefined): Extractor<E>;
}

export class FieldArgumentError extends Error {
  override readonly name = 'FieldArgumentError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** A field name as written in a condition or output, split into name and argument. */
export interface FieldLookup<E> {
  readonly def: FieldDef<E>;
  readonly arg: string | undefined;
}
