/**
 * The UI service: the store, the feed from SAKER_ALERTS into it, the live
 * stream, and the HTTP server, started and stopped together. Stop order:
 * the feed (nothing new is stored), the HTTP server, then the store.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '@saker/bus';
import type { UiConfig } from '@saker/config';
import { type Logger, OptionError, parseHostPort } from '@saker/runtime';
import type { MetricsRegistry } from '@saker/telemetry';
import { BusHealth } from './health.js';
import { Ingest } from './ingest.js';
import { LiveHub } from './live.js';
import { OidcRelyingParty } from './oidc.js';
import { type LocalUser, readUsersFile } from './passwords.js';
import { type AlertReader, sqlReader } from './reader.js';
import { type HealthProvider, type OidcLogin, type RulesProvider, UiServer } from './server.js';
import { Sessions } from './sessions.js';
import { StaticFiles } from './static.js';
import { elasticsearchReader } from './store-es-config.js';
import { AlertStore, StoreLayoutError, type StoreOptions } from './store.js';
import { findWebRoot } from './web-root.js';

export interface UiOptions {
  readonly config: UiConfig;
  readonly bus: Bus;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  /** Shown by api/info. Default: this package's version. */
  readonly version?: string;
  /** ui.tls's certificate and key, read; null: plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | null;
  /** The control API (rules view, detail); null: not shown. */
  readonly rules?: RulesProvider | null;
  /** Default: the bus and metrics (health.ts); null: no health view. */
  readonly health?: HealthProvider | null;
  readonly oidc?: OidcLogin | null;
  /** Overrides `findWebRoot()` (tests); null: the placeholder. */
  readonly webRoot?: string | null;
}

export interface UiService {
  /** `http://127.0.0.1:2802/` (the base path included). */
  readonly url: string;
  /** The SQLite store; with `ui.store.backend: elasticsearch` there is none and reading this throws. */
  readonly store: AlertStore;
  /** What the API reads: the SQLite store or the Elasticsearch/OpenSearch index pattern. */
  readonly reader: AlertReader;
  /** What the API reads, for health and summaries: `N alerts stored`, or the index pattern and its URL. */
  holding(): string;
  /** Alerts skipped as invalid since start. */
  invalid(): number;
  stop(): Promise<void>;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Refuses a UI nobody could log in to, and a UI that would show alerts to anyone without being told to. */
export function checkAuth(config: UiConfig): void {
  const a = config.auth;
  if (a.usersFile === null && a.oidc === null && a.anonymous === null) {
    throw new OptionError(
      'ui.auth',
      'no way to log in: set ui.auth.users_file (saker ui hash-password), ui.auth.oidc, or ui.auth.anonymous: viewer',
    );
  }
}

/** The users file, read again when it changes (a mounted Secret is replaced in place). */
function usersSource(file: string | null, logger: Logger): () => ReadonlyMap<string, LocalUser> {
  if (file === null) return () => new Map();
  let users = readUsersFile(file);
  let stamp = statSync(file).mtimeMs;
  return () => {
    try {
      const now = statSync(file).mtimeMs;
      if (now !== stamp) {
        users = readUsersFile(file);
        stamp = now;
        logger.info(`users file ${file} reloaded: ${users.size} users`);
      }
    } catch (err) {
      logger.error(
        `users file: ${err instanceof Error ? err.message : String(err)} (keeping the users read before)`,
      );
    }
    return users;
  };
}

/**
 * Opens the store; a file of another layout (written by another Saker version)
 * is replaced by an empty store, with a warning: the store is a bounded view of
 * SAKER_ALERTS and holds no other state, and refusing to start would leave the
 * UI down after an upgrade (a pod restarting on the same volume).
 */
function openStore(options: StoreOptions, logger: Logger): AlertStore {
  try {
    return new AlertStore(options);
  } catch (err) {
    if (!(err instanceof StoreLayoutError)) throw err;
    logger.warn(`${err.message}: replacing it with an empty store (the alerts stored before are not shown)`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${options.path}${suffix}`, { force: true });
    return new AlertStore(options);
  }
}

export async function startUi(o: UiOptions): Promise<UiService> {
  const { config, logger } = o;
  checkAuth(config);
  const users = usersSource(config.auth.usersFile, logger);
  const { host, port } = parseHostPort(config.listen, 'ui.listen');
  const es = config.store.elasticsearch;
  const tmp = config.store.path === null && es === null ? mkdtempSync(join(tmpdir(), 'saker-ui-')) : null;
  const store =
    es === null
      ? openStore(
          {
            path: config.store.path ?? join(tmp ?? '', 'alerts.db'),
            maxRows: config.store.maxRows,
            maxBytes: config.store.maxBytes,
            maxAgeMs: config.store.maxAgeMs,
            cacheBytes: config.store.cacheBytes,
          },
          logger,
        )
      : null;
  const reader = store === null ? elasticsearchReader(es ?? undefined) : sqlReader(store);
  const live = new LiveHub();
  const stored = o.metrics.counter('saker_ui_alerts_stored_total', 'Alerts the UI stored from SAKER_ALERTS');
  const invalid = o.metrics.counter(
    'saker_ui_alerts_invalid_total',
    'Messages on SAKER_ALERTS that were not valid alerts, skipped',
  );
  const rows = o.metrics.gauge('saker_ui_store_rows', 'Alerts in the UI store');
  const ingest = new Ingest({
    bus: o.bus,
    // The elasticsearch backend keeps nothing here: the alerts only pass to the live stream.
    store: store ?? { add: (batch) => batch.length },
    logger,
    counters: { stored, invalid },
    onStored: (batch) => {
      if (store !== null) rows.set(store.rows);
      live.publish(batch);
    },
  });
  // The age limit applies while nothing arrives too.
  const ager = setInterval(() => {
    try {
      if (store !== null && store.enforce() > 0) rows.set(store.rows);
    } catch (err) {
      logger.error(`store limits: ${err instanceof Error ? err.message : String(err)}`);
    }
  }, 10_000);
  ager.unref();
  const busHealth =
    o.health === undefined
      ? new BusHealth({ bus: o.bus, logger, metrics: o.metrics, metricsUrls: config.health.metricsUrls })
      : null;
  const root = o.webRoot === undefined ? await findWebRoot() : o.webRoot;
  if (root === null && o.webRoot === undefined) {
    logger.warn('the front end (@saker/ui-web) is not built: serving a placeholder page');
  }
  const tls = o.tls ?? null;
  const sessions = new Sessions({
    ttlMs: config.auth.sessionTtlMs,
    basePath: config.basePath,
    secure: tls !== null,
  });
  const server = new UiServer({
    basePath: config.basePath,
    tls,
    store: reader,
    sessions,
    users,
    anonymous: config.auth.anonymous,
    oidc:
      o.oidc !== undefined
        ? o.oidc
        : config.auth.oidc === null
          ? null
          : new OidcRelyingParty(config.auth.oidc, sessions, config.basePath, tls !== null, logger),
    live,
    statics: new StaticFiles(root, config.basePath),
    rules: o.rules ?? null,
    health: busHealth ?? o.health ?? null,
    version: o.version ?? packageVersion(),
    logger,
  });
  const cleanup = (): void => {
    clearInterval(ager);
    store?.close();
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  };
  let url: string;
  try {
    await ingest.start();
    await busHealth?.start();
    url = await server.listen(host, port);
  } catch (err) {
    await ingest.stop().catch(() => undefined);
    await busHealth?.stop().catch(() => undefined);
    cleanup();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    get store(): AlertStore {
      if (store === null) throw new Error('ui.store.backend is elasticsearch: there is no SQLite store');
      return store;
    },
    reader,
    // The host only: a URL may carry credentials.
    holding: () =>
      store === null
        ? `reading ${es?.index} at ${new URL(es?.url ?? '').host}`
        : `${store.rows} alerts stored`,
    invalid: () => ingest.invalid,
    stop() {
      stopping ??= (async () => {
        await ingest.stop();
        await busHealth?.stop();
        await server.close();
        cleanup();
      })();
      return stopping;
    },
  };
}
