/**
 * One shape for every option that cannot be used, whatever wrote it (a
 * saker.yaml key, a SAKER__… variable, a command-line flag, a caller's
 * option), and error kinds a caller branches on by a field, never by the
 * message text.
 */
import { BusError } from '@saker/bus';

/** Where an option was written. */
export type OptionPlace =
  | { readonly kind: 'file'; readonly file: string; readonly line: number; readonly column: number }
  | { readonly kind: 'env'; readonly envVar: string }
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'overrides' }
  | { readonly kind: 'default' };

export function describePlace(place: OptionPlace): string {
  switch (place.kind) {
    case 'file':
      return `${place.file}:${place.line}:${place.column}`;
    case 'env':
      return place.envVar;
    case 'flag':
      return place.flag;
    case 'overrides':
      return 'overrides';
    case 'default':
      return 'defaults';
  }
}

/**
 * The kinds of failure a service reports. `option`: a setting that cannot
 * work (exit 2, fix the configuration); `bus`: the transport failed;
 * `startup`: a part could not start (a port taken, a socket missing);
 * `internal`: anything else (a bug).
 */
export type ErrorKind = 'option' | 'bus' | 'startup' | 'internal';

/**
 * An option that cannot be used. The message reads
 * `saker.yaml:12:3: control.listen: expected host:port, got "x"`, or without
 * a place `listen: expected host:port, got "x"`. Secret values are never put
 * in `reason` (the caller names the key, not the value).
 */
export class OptionError extends Error {
  override readonly name: string = 'OptionError';
  readonly kind = 'option' as const;
  /** Dotted key (`control.listen`, `rules_files[1]`), or a flag (`--listen`); '' for a whole document. */
  readonly key: string;
  readonly reason: string;
  readonly place: OptionPlace | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly envVar: string | undefined;

  constructor(key: string, reason: string, place?: OptionPlace, options?: ErrorOptions) {
    const where = place === undefined ? '' : `${describePlace(place)}: `;
    super(key === '' ? `${where}${reason}` : `${where}${key}: ${reason}`, options);
    this.key = key;
    this.reason = reason;
    this.place = place;
    this.file = place?.kind === 'file' ? place.file : undefined;
    this.line = place?.kind === 'file' ? place.line : undefined;
    this.column = place?.kind === 'file' ? place.column : undefined;
    this.envVar = place?.kind === 'env' ? place.envVar : undefined;
  }
}

/** A part that could not start (a port taken, a device missing): not the configuration's fault. */
export class StartupError extends Error {
  override readonly name: string = 'StartupError';
  readonly kind = 'startup' as const;
  /** The service that failed. */
  readonly service: string;

  constructor(service: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.service = service;
  }
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>(['option', 'bus', 'startup', 'internal']);

/** The kind of any thrown value: its `kind` field when it has one of ours, `bus` for bus errors, else `internal`. */
export function errorKind(err: unknown): ErrorKind {
  if (err instanceof BusError) return 'bus';
  if (typeof err === 'object' && err !== null && 'kind' in err) {
    const k = (err as { kind: unknown }).kind;
    if (typeof k === 'string' && KINDS.has(k)) return k as ErrorKind;
  }
  return 'internal';
}
