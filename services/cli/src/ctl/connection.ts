import { readFileSync } from 'node:fs';
import { ControlClient, type ControlClientOptions } from '@saker/control/client';
import { UsageError } from '../io.js';

/**
 * Where `saker ctl` connects when neither --addr nor SAKER__CONTROL__LISTEN
 * says: control.listen's default, where `saker run` and `saker control` serve.
 */
export const DEFAULT_CONTROL_ADDR = '127.0.0.1:5060';

/** The spellings before SAKER__A__B, refused by name so a script that sets one learns it is not read. */
const LEGACY_ENV: Readonly<Record<string, string>> = {
  SAKER_CONTROL_ADDR: 'SAKER__CONTROL__LISTEN (or --addr)',
  SAKER_CONTROL_TOKEN: 'SAKER__CONTROL__TOKEN (or --token)',
};

/** A listen address as one to dial: a wildcard host means this machine. */
function dialable(listen: string): string {
  return listen.replace(/^(?:0\.0\.0\.0|\[::\]|):/, '127.0.0.1:');
}

/** The connection flags every `saker ctl` command takes. */
export interface ConnectionFlags {
  readonly addr?: string | undefined;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly 'server-name'?: string | undefined;
  readonly token?: string | undefined;
  readonly timeout?: string | undefined;
}

export const CONNECTION_OPTIONS = {
  addr: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'server-name': { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
} as const;

/** `500ms`, `10s`, `2m`, or a bare number of seconds. */
function parseDuration(text: string, command: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const n = Number(m?.[1]);
  if (m === null || !(n > 0)) {
    throw new UsageError(
      `--timeout: expected a duration like 10s or 500ms, got ${JSON.stringify(text)}`,
      command,
    );
  }
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000);
}

function readPem(path: string, flag: string, command: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      command,
    );
  }
}

/**
 * Client options from flags and environment, with the server's keys:
 * --addr or SAKER__CONTROL__LISTEN, --token or SAKER__CONTROL__TOKEN. Any of --ca, --cert, --key switches to TLS;
 * --cert and --key go together (mTLS).
 */
export function clientOptions(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  command: string,
): ControlClientOptions {
  for (const [name, instead] of Object.entries(LEGACY_ENV)) {
    if (env[name]) throw new UsageError(`${name} is no longer read; set ${instead}`, command);
  }
  const listen = env.SAKER__CONTROL__LISTEN || undefined;
  const address = flags.addr ?? (listen === undefined ? undefined : dialable(listen)) ?? DEFAULT_CONTROL_ADDR;
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw new UsageError('--cert and --key go together', command);
  }
  const tlsWanted = flags.ca !== undefined || flags.cert !== undefined || flags['server-name'] !== undefined;
  const token = flags.token ?? (env.SAKER__CONTROL__TOKEN || undefined);
  return {
    address,
    ...(token === undefined ? {} : { token }),
    ...(flags.timeout === undefined ? {} : { timeoutMs: parseDuration(flags.timeout, command) }),
    ...(tlsWanted
      ? {
          tls: {
            ...(flags.ca === undefined ? {} : { ca: readPem(flags.ca, '--ca', command) }),
            ...(flags.cert === undefined ? {} : { cert: readPem(flags.cert, '--cert', command) }),
            ...(flags.key === undefined ? {} : { key: readPem(flags.key, '--key', command) }),
            ...(flags['server-name'] === undefined ? {} : { serverName: flags['server-name'] }),
          },
        }
      : {}),
  };
}

export function connect(options: ControlClientOptions): ControlClient {
  return new ControlClient(options);
}
