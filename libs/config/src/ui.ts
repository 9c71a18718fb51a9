/**
 * `ui:` the web UI's section (services/ui, docs/ui.md): where it listens,
 * under which base path, the bounds of its alert store, and who may log in.
 * Read by config.ts with the same combinators as every section, so errors
 * name the key with file:line:col or the variable; secrets come inline or
 * from a `*_file`, and no error ever shows them.
 */
import { ConfigError } from './errors.js';
import {
  type Schema,
  boolean,
  field,
  list,
  map,
  nullable,
  number,
  oneOf,
  section,
  string,
} from './schema.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export type UiRole = 'viewer' | 'admin';

export interface UiOidcConfig {
  /** The provider's issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: string;
  readonly clientId: string;
  /** null: a public client (PKCE only). */
  readonly clientSecret: string | null;
  /** The callback URL registered at the provider; null: derived from the request (`<origin><base_path>/auth/oidc/callback`). */
  readonly redirectUri: string | null;
  readonly scopes: readonly string[];
  /** The claim that names the user. */
  readonly usernameClaim: string;
  /** The claim (a string or a list of strings) the role is read from. */
  readonly roleClaim: string;
  /** Values of role_claim that make an admin. */
  readonly adminValues: readonly string[];
  /** Values of role_claim that make a viewer; empty: every user the provider signs in is at least a viewer. */
  readonly viewerValues: readonly string[];
}

/** `ui.store.elasticsearch`: the index pattern the API reads when `ui.store.backend` is `elasticsearch`. */
export interface UiElasticsearchConfig {
  /** `http(s)://host:port[/prefix]`. */
  readonly url: string;
  /** An index pattern or comma list (`falco-*`). */
  readonly index: string;
  /** The documents' time field. */
  readonly timeField: string;
  readonly auth:
    | { readonly kind: 'basic'; readonly username: string; readonly password: string }
    | { readonly kind: 'apiKey'; readonly key: string }
    | null;
  /** PEM CA file for HTTPS (absolute); null: the system's CAs. */
  readonly ca: string | null;
  readonly timeoutMs: number;
}

export interface UiConfig {
  /** Started by `saker run` (when auth is configured). */
  readonly enabled: boolean;
  /** `host:port` of the HTTP server. */
  readonly listen: string;
  /** '' for `/`, else `/prefix` without a trailing slash. */
  readonly basePath: string;
  /** HTTPS (absolute paths); null: plain HTTP. */
  readonly tls: { readonly cert: string; readonly key: string } | null;
  readonly store: {
    /** SQLite file (absolute); null: a temporary file removed at stop. */
    readonly path: string | null;
    readonly maxRows: number;
    readonly maxBytes: number;
    readonly maxAgeMs: number;
    /** SQLite's page cache, in bytes: what the store may hold in memory. */
    readonly cacheBytes: number;
    /** Where the API reads alerts: the SQLite store, or an Elasticsearch/OpenSearch index pattern (read-only). */
    readonly backend: 'sqlite' | 'elasticsearch';
    /** Set when backend is `elasticsearch`. */
    readonly elasticsearch: UiElasticsearchConfig | null;
  };
  readonly auth: {
    /** Lines `name:role:hash` (`saker ui hash-password`); null: no local users. */
    readonly usersFile: string | null;
    /** 'viewer': visitors who are not logged in see the alerts. null: everyone logs in. */
    readonly anonymous: 'viewer' | null;
    readonly sessionTtlMs: number;
    readonly oidc: UiOidcConfig | null;
  };
  /**
   * The control service the rules view talks to: `control.listen` unless set;
   * TLS when `ca` or `cert` is set; `cert` and `key`, a client certificate for
   * a control that requires one (mTLS).
   */
  readonly control: {
    readonly address: string | null;
    readonly ca: string | null;
    readonly cert: string | null;
    readonly key: string | null;
  };
  /** Prometheus endpoints (`http://sinks:8765/metrics`) the health view reads delivery and drop counters from. */
  readonly health: { readonly metricsUrls: readonly string[] };
}

/** `/`, `/saker`, `/a/b/`: a URL path prefix; normalized to '' or `/saker`. */
function basePath(): Schema<string> {
  return map(string(), (value, node, path) => {
    if (!/^\/[A-Za-z0-9._~\-/]*$/.test(value) || value.split('/').some((s) => s === '.' || s === '..')) {
      throw new ConfigError(
        path,
        `expected a URL path like / or /saker (letters, digits, . _ ~ - /), got ${JSON.stringify(value)}`,
        node.origin,
      );
    }
    return value.replace(/\/+$/, '').replace(/\/{2,}/g, '/');
  });
}

/** config.ts's value schemas the section is built from. */
interface UiSchemaParts {
  readonly path: Schema<string>;
  readonly hostPort: Schema<string>;
  readonly secret: Schema<string>;
  readonly url: Schema<string>;
}

/** The `ui:` section's schema. */
export function uiSection({ path, hostPort, secret, url }: UiSchemaParts) {
  return section({
    enabled: field(boolean(), true),
    listen: field(hostPort, '127.0.0.1:2802'),
    base_path: field(basePath(), ''),
    tls: section({
      cert: field(nullable(path), null),
      key: field(nullable(path), null),
    }),
    store: section({
      path: field(nullable(path), null),
      max_rows: field(number({ integer: true, min: 100 }), 1_000_000),
      max_bytes: field(number({ integer: true, min: 1024 * 1024 }), 1024 ** 3),
      max_age_ms: field(number({ integer: true, min: 60_000 }), 7 * DAY_MS),
      cache_bytes: field(number({ integer: true, min: 1024 * 1024 }), 32 * 1024 * 1024),
      backend: field(oneOf<'sqlite' | 'elasticsearch'>(['sqlite', 'elasticsearch']), 'sqlite'),
      elasticsearch: section({
        url: field(nullable(url), null),
        index: field(string(), 'falco-*'),
        time_field: field(string(), '@timestamp'),
        username: field(nullable(string()), null),
        password: field(nullable(secret), null),
        password_file: field(nullable(path), null),
        api_key: field(nullable(secret), null),
        api_key_file: field(nullable(path), null),
        ca: field(nullable(path), null),
        timeout_ms: field(number({ integer: true, min: 100 }), 10_000),
      }),
    }),
    auth: section({
      users_file: field(nullable(path), null),
      anonymous: field(nullable(oneOf<'viewer'>(['viewer'])), null),
      session_ttl_ms: field(number({ integer: true, min: 60_000 }), 12 * 60 * 60 * 1000),
      oidc: section({
        issuer: field(nullable(url), null),
        client_id: field(nullable(string()), null),
        client_secret: field(nullable(secret), null),
        client_secret_file: field(nullable(path), null),
        redirect_uri: field(nullable(url), null),
        scopes: field(list(string()), ['openid', 'profile', 'email']),
        username_claim: field(string(), 'preferred_username'),
        role_claim: field(string(), 'groups'),
        admin_values: field(list(string()), []),
        viewer_values: field(list(string()), []),
      }),
    }),
    control: section({
      address: field(nullable(hostPort), null),
      ca: field(nullable(path), null),
      cert: field(nullable(path), null),
      key: field(nullable(path), null),
    }),
    health: section({
      metrics_urls: field(list(url), []),
    }),
  });
}

type UiRaw = ReturnType<typeof uiSection>['schema'] extends Schema<infer T> ? T : never;

/** Checks what one key cannot check alone; `origin(keys)` says where a key was written, `secretFile` reads `*_file`. */
export function finalizeUi(
  raw: UiRaw,
  origin: (keys: readonly string[]) => ConstructorParameters<typeof ConfigError>[2],
  secretFile: (keys: readonly string[], inline: string | null, file: string | null) => string | null,
): UiConfig {
  // A certificate and its key go together: ui.tls (the UI's own), ui.control (its client certificate).
  for (const [section, what] of [
    ['tls', 'ui.tls is configured'],
    ['control', 'a client certificate for control is configured'],
  ] as const) {
    const { cert, key } = raw[section];
    if ((cert === null) !== (key === null)) {
      throw new ConfigError(
        `ui.${section}.${cert === null ? 'cert' : 'key'}`,
        `required when ${what} (cert and key go together)`,
        origin(['ui', section]),
      );
    }
  }
  const t = raw.tls;
  const o = raw.auth.oidc;
  let oidc: UiOidcConfig | null = null;
  if (o.issuer !== null || o.clientId !== null) {
    if (o.issuer === null || o.clientId === null) {
      throw new ConfigError(
        o.issuer === null ? 'ui.auth.oidc.issuer' : 'ui.auth.oidc.client_id',
        'required when ui.auth.oidc is configured (issuer and client_id go together)',
        origin(['ui', 'auth', 'oidc']),
      );
    }
    oidc = {
      issuer: o.issuer,
      clientId: o.clientId,
      clientSecret: secretFile(['ui', 'auth', 'oidc', 'client_secret'], o.clientSecret, o.clientSecretFile),
      redirectUri: o.redirectUri,
      scopes: o.scopes,
      usernameClaim: o.usernameClaim,
      roleClaim: o.roleClaim,
      adminValues: o.adminValues,
      viewerValues: o.viewerValues,
    };
  }
  return {
    enabled: raw.enabled,
    store: storeConfig(raw.store, origin, secretFile),
    listen: raw.listen,
    basePath: raw.basePath,
    tls: t.cert === null || t.key === null ? null : { cert: t.cert, key: t.key },
    auth: {
      usersFile: raw.auth.usersFile,
      anonymous: raw.auth.anonymous,
      sessionTtlMs: raw.auth.sessionTtlMs,
      oidc,
    },
    control: raw.control,
    health: raw.health,
  };
}

type StoreRaw = UiRaw['store'];

/** `ui.store`: the SQLite limits as given; `elasticsearch` checked and its secrets read when it is the backend. */
function storeConfig(
  raw: StoreRaw,
  origin: (keys: readonly string[]) => ConstructorParameters<typeof ConfigError>[2],
  secretFile: (keys: readonly string[], inline: string | null, file: string | null) => string | null,
): UiConfig['store'] {
  const { elasticsearch: e, ...sqlite } = raw;
  if (raw.backend !== 'elasticsearch') return { ...sqlite, elasticsearch: null };
  const at = ['ui', 'store', 'elasticsearch'];
  if (e.url === null || e.url === '') {
    throw new ConfigError(
      'ui.store.elasticsearch.url',
      'required when ui.store.backend is elasticsearch',
      origin(at),
    );
  }
  if (e.index === '' || /[\s/\\?#"<>|]/.test(e.index)) {
    throw new ConfigError(
      'ui.store.elasticsearch.index',
      `expected an index pattern like falco-* (no spaces, / \\ ? # " < > |), got ${JSON.stringify(e.index)}`,
      origin([...at, 'index']),
    );
  }
  const password = secretFile([...at, 'password'], e.password, e.passwordFile);
  const apiKey = secretFile([...at, 'api_key'], e.apiKey, e.apiKeyFile);
  if (apiKey !== null && e.username !== null) {
    throw new ConfigError(
      'ui.store.elasticsearch.api_key',
      'give username/password or api_key, not both',
      origin(at),
    );
  }
  if ((e.username === null) !== (password === null)) {
    throw new ConfigError(
      e.username === null ? 'ui.store.elasticsearch.username' : 'ui.store.elasticsearch.password',
      'required with the other (username and password go together)',
      origin(at),
    );
  }
  return {
    ...sqlite,
    elasticsearch: {
      url: e.url,
      index: e.index,
      timeField: e.timeField,
      auth:
        apiKey !== null
          ? { kind: 'apiKey', key: apiKey }
          : e.username !== null && password !== null
            ? { kind: 'basic', username: e.username, password }
            : null,
      ca: e.ca,
      timeoutMs: e.timeoutMs,
    },
  };
}
