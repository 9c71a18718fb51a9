/**
 * The one `host:port` parser: listen and dial addresses in saker.yaml,
 * flags and outputs all go through it, so `[::1]:5060`, `0.0.0.0:9765` and
 * a bad port are read (and refused) the same everywhere.
 */
import { isIP } from 'node:net';
import { OptionError, type OptionPlace } from './errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface HostPortOptions {
  /** Used for `:port`; without it an empty host is refused. */
  readonly defaultHost?: string;
  /** Used when the text has no `:port`; without it the port is required. */
  readonly defaultPort?: number;
  /** Where the text was written, for the error. */
  readonly place?: OptionPlace;
}

const FORM = /^(?:\[([^\]]*)\]|([^:[\]\s]*))(?::(\d{1,5}))?$/;

/** `host:port`, `[v6]:port` (and `host` alone with a default port); OptionError naming `key` otherwise. */
export function parseHostPort(text: string, key: string, opts: HostPortOptions = {}): HostPort {
  const fail = (reason: string): never => {
    throw new OptionError(key, reason, opts.place);
  };
  const expected = `expected host:port (IPv6 as [addr]:port), got ${JSON.stringify(text)}`;
  const m = FORM.exec(text.trim());
  if (m === null) return fail(expected);
  const bracketed = m[1];
  let host = bracketed ?? m[2] ?? '';
  if (bracketed !== undefined && isIP(bracketed) !== 6) {
    return fail(`${JSON.stringify(bracketed)} in brackets is not an IPv6 address`);
  }
  if (host === '') {
    if (opts.defaultHost === undefined) return fail(expected);
    host = opts.defaultHost;
  }
  let port: number;
  if (m[3] === undefined) {
    if (opts.defaultPort === undefined) return fail(expected);
    port = opts.defaultPort;
  } else port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`port ${port} is not in 0-65535`);
  return { host, port };
}

/** The address as text again: IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
