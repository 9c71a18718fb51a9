import type { KeyObject } from 'node:crypto';
import type { Bus } from '@saker/bus';
import type { AppendOutputEntry } from '@saker/rules';
import { OptionError, parseHostPort } from '@saker/runtime';
import { isLoopbackHost, plaintextTokenProblem } from '@saker/telemetry';

/** PEM text or bytes: a certificate chain, a private key or a CA bundle. */
export type Pem = string | Uint8Array;

interface ControlTlsOptions {
  /** The server's certificate chain (PEM). */
  readonly cert: Pem;
  /** The server's private key (PEM). */
  readonly key: Pem;
  /** CA bundle for client certificates. When given, every client must present a certificate it signed (mTLS). */
  readonly clientCa?: Pem;
}

interface ControlKeepaliveOptions {
  /** Ping an idle connection this often. Default 30 000 ms. */
  readonly timeMs?: number;
  /** Drop the connection when a ping is not answered within this. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Shortest gap between a client's pings the server accepts. Default 10 000 ms. */
  readonly minClientPingIntervalMs?: number;
}

export interface ControlOptions {
  /** The bus whose KV bucket `saker_rules` holds the ruleset. Not closed by the service. */
  readonly bus: Bus;
  /** `host:port` (IPv6 in brackets). Default `127.0.0.1:0`: loopback, a port the OS picks. */
  readonly listen?: string;
  /** TLS for the gRPC server. Without it the server speaks plaintext. */
  readonly tls?: ControlTlsOptions;
  /** Bearer token every RuleService call must carry (`authorization: Bearer <token>`). */
  readonly token?: string;
  /**
   * Accept the token without TLS on an address other than loopback, where
   * anyone on the network path can read it. Default false; logged loudly.
   */
  readonly allowPlaintextToken?: boolean;
  readonly keepalive?: ControlKeepaliveOptions;
  /** How long a shutdown waits for calls in flight before cutting them. Default 5000 ms. */
  readonly shutdownGraceMs?: number;
  /** Attempts of an enable/disable's read-modify-write when another writer got in between. Default 10. */
  readonly conflictRetries?: number;
  /** Largest request or response message. Default 16 MiB (a ruleset travels whole). */
  readonly maxMessageBytes?: number;
  /** Ed25519 key every revision written is signed with (engines given its public key check it). Default none. */
  readonly signingKey?: KeyObject;
  /**
   * The engines' Falco `append_output` (saker.yaml): a put whose effective
   * ruleset (effectiveRuleset of @saker/rules) the engines would refuse is
   * refused here. Default none.
   */
  readonly appendOutput?: readonly AppendOutputEntry[];
  /**
   * Caller identities (`mtls:<CN>`, `token`, `unauthenticated:<address>`)
   * that may name another author with the `saker-on-behalf-of` metadata
   * (the web UI, for its logged-in user). Default DEFAULT_DELEGATES.
   */
  readonly delegates?: readonly string[];
}

/**
 * Who may delegate by default: the token's holders and unauthenticated
 * callers on loopback. Either can already write any ruleset, so naming an
 * author gives them nothing more, and the record keeps who authenticated
 * (`ui:alice via token`). An mTLS client delegates only when listed.
 */
const DEFAULT_DELEGATES: readonly string[] = ['token', 'unauthenticated:127.0.0.1', 'unauthenticated:::1'];

interface ResolvedListen {
  readonly host: string;
  readonly port: number;
  readonly loopback: boolean;
}

/** Options after normalizing and defaults: later code never meets `undefined`. */
export interface ResolvedControlOptions {
  readonly bus: Bus;
  readonly listen: ResolvedListen;
  readonly tls: ControlTlsOptions | null;
  readonly token: string | null;
  readonly allowPlaintextToken: boolean;
  readonly keepalive: Required<ControlKeepaliveOptions>;
  readonly shutdownGraceMs: number;
  readonly conflictRetries: number;
  readonly appendOutput: readonly AppendOutputEntry[];
  readonly maxMessageBytes: number;
  readonly signingKey: KeyObject | null;
  readonly delegates: ReadonlySet<string>;
}

/** An option that cannot work; `option` names it. Thrown by start() before anything listens. */
export class ControlConfigError extends OptionError {
  override readonly name = 'ControlConfigError';
  readonly option: string;

  constructor(option: string, message: string, options?: ErrorOptions) {
    super(option, message, undefined, options);
    this.option = option;
  }
}

const DEFAULT_LISTEN = '127.0.0.1:0';

/** Splits `host:port` / `[v6]:port` (libs/runtime's parser); ControlConfigError naming `option` when it is not one. */
function listenAddress(value: string, option: string): { host: string; port: number } {
  try {
    return parseHostPort(value, option);
  } catch (err) {
    if (err instanceof OptionError) throw new ControlConfigError(option, err.reason, { cause: err });
    throw err;
  }
}

function signingKey(key: KeyObject | undefined): KeyObject | null {
  if (key === undefined) return null;
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new ControlConfigError(
      'signingKey',
      `expected an Ed25519 private key, got a ${key.asymmetricKeyType ?? key.type} ${key.type} key`,
    );
  }
  return key;
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new ControlConfigError(option, `expected a positive number, got ${value}`);
  }
  return value;
}

function nonEmpty(value: Pem | undefined, option: string): void {
  if (value === undefined) return;
  if (value.length === 0) throw new ControlConfigError(option, 'is empty');
}

/**
 * Normalizes, checks and fills in defaults. Fails fast, naming the option:
 * with neither TLS nor a token, only a loopback address may be listened on,
 * because anyone who can reach the port could replace every engine's rules.
 */
export function resolveControlOptions(options: ControlOptions): ResolvedControlOptions {
  const listenText = options.listen ?? DEFAULT_LISTEN;
  const { host, port } = listenAddress(listenText, 'listen');
  const loopback = isLoopbackHost(host);
  const token = options.token === undefined || options.token === '' ? null : options.token;
  if (token !== null && /[\s]/.test(token)) {
    throw new ControlConfigError('token', 'must not contain white space');
  }
  const tls = options.tls ?? null;
  if (tls !== null) {
    nonEmpty(tls.cert, 'tls.cert');
    nonEmpty(tls.key, 'tls.key');
    nonEmpty(tls.clientCa, 'tls.clientCa');
  }
  if (!loopback && tls === null && token === null) {
    throw new ControlConfigError(
      'listen',
      `refusing to serve the control API on ${listenText} (not a loopback address) without TLS or a token; ` +
        'configure TLS (with a client CA for mTLS) and/or a bearer token, or listen on 127.0.0.1',
    );
  }
  const allowPlaintextToken = options.allowPlaintextToken ?? false;
  const plaintext = plaintextTokenProblem({
    what: 'the control API',
    host,
    tls: tls !== null,
    token: token !== null,
    optOutKey: 'allowPlaintextToken (control.allow_plaintext_token)',
    optOut: allowPlaintextToken,
  });
  if (plaintext !== undefined) throw new ControlConfigError('listen', plaintext);
  const keepalive = options.keepalive ?? {};
  return {
    bus: options.bus,
    listen: { host, port, loopback },
    tls,
    token,
    allowPlaintextToken,
    keepalive: {
      timeMs: positive(keepalive.timeMs, 30_000, 'keepalive.timeMs'),
      timeoutMs: positive(keepalive.timeoutMs, 10_000, 'keepalive.timeoutMs'),
      minClientPingIntervalMs: positive(
        keepalive.minClientPingIntervalMs,
        10_000,
        'keepalive.minClientPingIntervalMs',
      ),
    },
    shutdownGraceMs: positive(options.shutdownGraceMs, 5000, 'shutdownGraceMs'),
    conflictRetries: Math.floor(positive(options.conflictRetries, 10, 'conflictRetries')),
    appendOutput: [...(options.appendOutput ?? [])],
    maxMessageBytes: Math.floor(positive(options.maxMessageBytes, 16 * 1024 * 1024, 'maxMessageBytes')),
    signingKey: signingKey(options.signingKey),
    delegates: delegates(options.delegates),
  };
}

function delegates(list: readonly string[] | undefined): ReadonlySet<string> {
  const out = new Set(list ?? DEFAULT_DELEGATES);
  for (const d of out) {
    if (!/^(mtls:.+|token|unauthenticated:.+)$/.test(d)) {
      throw new ControlConfigError(
        'delegates',
        `${JSON.stringify(d)} is not a caller identity (mtls:<CN>, token or unauthenticated:<address>)`,
      );
    }
  }
  return out;
}
