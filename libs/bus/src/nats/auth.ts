/**
 * How a service proves who it is to NATS, and how it checks the server: TLS
 * (CA, client certificate and key), and one of a creds file (JWT + nkey), an
 * nkey seed, user and password, or a token. Secrets are read from files (a
 * Kubernetes Secret is mounted as files) each time the client (re)connects,
 * so a rotated Secret is picked up without a restart.
 *
 * Credentials written in a URL (`nats://user:pass@host:4222`) are taken out
 * of the URL and used: nats.js would otherwise drop them without a word.
 * They never appear in an error message.
 */
import { readFileSync } from 'node:fs';
import {
  type Authenticator,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';

/** TLS towards NATS: paths of PEM files. Any of them turns TLS on. */
export interface NatsTlsFiles {
  /** CA bundle that signed the server's certificate; null: the system's CAs. */
  readonly ca?: string | null;
  /** Client certificate (mTLS); goes with `key`. */
  readonly cert?: string | null;
  readonly key?: string | null;
}

/** One way to authenticate; each secret is a file path. At most one of them. */
export interface NatsAuthFiles {
  /** A `.creds` file: the user JWT and its nkey seed (NATS decentralized auth). */
  readonly credsFile?: string | null;
  /** A file holding an nkey seed (`SU…`). */
  readonly nkeySeedFile?: string | null;
  /** User name; its password comes from `passwordFile`. */
  readonly user?: string | null;
  readonly passwordFile?: string | null;
  /** A file holding the token. */
  readonly tokenFile?: string | null;
}

/** What nats.js's connect() takes for servers, TLS and auth. */
export interface NatsConnectSecurity {
  /** Server URLs without credentials. */
  readonly servers: string[];
  /** The same, safe to print. */
  readonly display: string;
  readonly authenticator: Authenticator | undefined;
  readonly tls: { caFile?: string; certFile?: string; keyFile?: string } | undefined;
}

/** The security options cannot work: two auth methods, an unreadable file, a cert without key. */
export class NatsSecurityConfigError extends Error {
  override readonly name = 'NatsSecurityConfigError';
  /** The option at fault, e.g. `auth.passwordFile`. */
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(`nats ${option}: ${message}`, options);
    this.option = option;
  }
}

/** Reads a secret file whole, trimmed of surrounding white space (editors add a final newline). */
function readSecret(option: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NatsSecurityConfigError(option, `cannot read ${path} (${code ?? String(err)})`, { cause: err });
  }
  const value = text.trim();
  if (value === '') throw new NatsSecurityConfigError(option, `${path} is empty`);
  return value;
}

/** A reader for the authenticator: read now (fail fast), again at each connect. */
function secretReader(option: string, path: string): () => string {
  readSecret(option, path);
  return () => readSecret(option, path);
}

interface UrlCredentials {
  user: string;
  pass: string | undefined;
}

/** Splits `scheme://user:pass@host:port` into a bare server and its credentials. */
export function splitUrlCredentials(url: string): {
  server: string;
  credentials: UrlCredentials | undefined;
} {
  const m = /^((?:[a-z]+:\/\/)?)([^@/]*)@(.*)$/i.exec(url.trim());
  if (m === null) return { server: url.trim(), credentials: undefined };
  const userinfo = m[2] ?? '';
  const at = userinfo.indexOf(':');
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const credentials =
    at < 0
      ? { user: decode(userinfo), pass: undefined }
      : { user: decode(userinfo.slice(0, at)), pass: decode(userinfo.slice(at + 1)) };
  return { server: `${m[1] ?? ''}${m[3] ?? ''}`, credentials };
}

/** A URL with any credentials replaced by `***`, for messages. */
export function redactNatsUrl(url: string): string {
  const { server, credentials } = splitUrlCredentials(url);
  if (credentials === undefined) return server;
  const at = server.indexOf('://');
  return at < 0 ? `***@${server}` : `${server.slice(0, at + 3)}***@${server.slice(at + 3)}`;
}

function present(value: string | null | undefined): value is string {
  return value !== undefined && value !== null && value !== '';
}

/**
 * Works out servers, TLS and the authenticator. Throws
 * NatsSecurityConfigError naming the option when the settings cannot work.
 */
export function natsConnectSecurity(
  urls: readonly string[],
  tls: NatsTlsFiles | null | undefined,
  auth: NatsAuthFiles | null | undefined,
): NatsConnectSecurity {
  const servers: string[] = [];
  let fromUrl: UrlCredentials | undefined;
  for (const url of urls) {
    const { server, credentials } = splitUrlCredentials(url);
    servers.push(server);
    if (credentials === undefined) continue;
    if (fromUrl !== undefined && (fromUrl.user !== credentials.user || fromUrl.pass !== credentials.pass)) {
      throw new NatsSecurityConfigError('url', 'the server URLs carry different credentials');
    }
    fromUrl = credentials;
  }
  const a = auth ?? {};
  const methods: string[] = [];
  if (present(a.credsFile)) methods.push('auth.credsFile');
  if (present(a.nkeySeedFile)) methods.push('auth.nkeySeedFile');
  if (present(a.user) || present(a.passwordFile)) methods.push('auth.user');
  if (present(a.tokenFile)) methods.push('auth.tokenFile');
  if (fromUrl !== undefined) methods.push('credentials in the url');
  if (methods.length > 1) {
    throw new NatsSecurityConfigError(
      methods[1] ?? 'auth',
      `choose one way to authenticate, got ${methods.join(' and ')}`,
    );
  }

  let authenticator: Authenticator | undefined;
  if (present(a.credsFile)) {
    const read = secretReader('auth.credsFile', a.credsFile);
    // nats.js's parser wants the newline after the last END line, which trimming took.
    authenticator = credsAuthenticator(() => new TextEncoder().encode(`${read()}\n`));
  } else if (present(a.nkeySeedFile)) {
    const read = secretReader('auth.nkeySeedFile', a.nkeySeedFile);
    if (!/^S[A-Z2-7]{50,}$/.test(read())) {
      throw new NatsSecurityConfigError(
        'auth.nkeySeedFile',
        `${a.nkeySeedFile} does not hold an nkey seed (S…)`,
      );
    }
    authenticator = nkeyAuthenticator(() => new TextEncoder().encode(read()));
  } else if (present(a.user) || present(a.passwordFile)) {
    if (!present(a.user)) throw new NatsSecurityConfigError('auth.user', 'required with auth.passwordFile');
    if (!present(a.passwordFile))
      throw new NatsSecurityConfigError('auth.passwordFile', 'required with auth.user');
    authenticator = usernamePasswordAuthenticator(a.user, secretReader('auth.passwordFile', a.passwordFile));
  } else if (present(a.tokenFile)) {
    authenticator = tokenAuthenticator(secretReader('auth.tokenFile', a.tokenFile));
  } else if (fromUrl !== undefined) {
    authenticator =
      fromUrl.pass === undefined
        ? tokenAuthenticator(fromUrl.user)
        : usernamePasswordAuthenticator(fromUrl.user, fromUrl.pass);
  }

  let tlsOptions: NatsConnectSecurity['tls'];
  if (tls !== null && tls !== undefined && (present(tls.ca) || present(tls.cert) || present(tls.key))) {
    if (present(tls.cert) !== present(tls.key)) {
      throw new NatsSecurityConfigError(
        present(tls.cert) ? 'tls.key' : 'tls.cert',
        'the client certificate and key go together',
      );
    }
    const opts: { caFile?: string; certFile?: string; keyFile?: string } = {};
    for (const [option, path, key] of [
      ['tls.ca', tls.ca, 'caFile'],
      ['tls.cert', tls.cert, 'certFile'],
      ['tls.key', tls.key, 'keyFile'],
    ] as const) {
      if (!present(path)) continue;
      readSecret(option, path);
      opts[key] = path;
    }
    tlsOptions = opts;
  }
  return { servers, display: servers.join(','), authenticator, tls: tlsOptions };
}
