/**
 * The web UI: alerts from SAKER_ALERTS in a bounded store, served with the
 * front end on ui.listen (docs/ui.md).
 */
import type { SakerConfig } from '@saker/config';
import { OptionError, type ServiceModule } from '@saker/runtime';
import { ControlRules, checkAuth, startUi } from '@saker/ui';
import { readKeyFile } from './shared.js';

export const uiService: ServiceModule<SakerConfig> = {
  name: 'ui',
  stage: 'sink',
  summary: 'the web UI: alerts stored, searched and streamed, health and rules views',
  help: `Serves the web UI and its API on ui.listen (default 127.0.0.1:2802) under
ui.base_path, with the alerts of SAKER_ALERTS (read through the durable
consumer saker-ui) in a SQLite store bounded by ui.store.max_rows,
max_bytes and max_age_ms (docs/ui.md). Someone must be able to log in:
ui.auth.users_file (lines name:role:hash, see 'saker ui hash-password'),
ui.auth.oidc, or ui.auth.anonymous: viewer. Inside 'saker run' the UI stays
off until one of them is set.

Options:
  --listen HOST:PORT       address to serve on (ui.listen)
`,
  flags: { listen: { type: 'string' } },
  overrides: (f) => (typeof f.listen === 'string' ? { ui: { listen: f.listen } } : {}),
  standaloneNeedsNats: true,
  async start(ctx) {
    const { ui, control } = ctx.config;
    if (ctx.embedded) {
      const why = !ui.enabled ? 'ui.enabled is false' : noAuth(ctx.config);
      if (why !== null) {
        ctx.logger.info(`off: ${why}`);
        return {
          name: 'ui',
          health: () => ({ ok: true, detail: 'off' }),
          describe: () => 'off',
          stop: async () => {},
        };
      }
    }
    checkAuth(ui);
    const rules = new ControlRules({
      address: (ui.control.address ?? control.listen)
        .replace(/^0\.0\.0\.0:/, '127.0.0.1:')
        .replace(/^\[::\]:/, '[::1]:'),
      ...controlTls(ui.control),
      ...(control.token === null ? {} : { token: control.token }),
      timeoutMs: 5000,
    });
    const service = await startUi({
      config: ui,
      bus: ctx.bus,
      metrics: ctx.metrics,
      logger: ctx.logger,
      tls:
        ui.tls === null
          ? null
          : { cert: readKeyFile('ui.tls.cert', ui.tls.cert), key: readKeyFile('ui.tls.key', ui.tls.key) },
      rules,
    }).catch((err: unknown) => {
      rules.close();
      throw err;
    });
    return {
      name: 'ui',
      health: () => ({ ok: true, detail: `${service.url} ${service.holding()}` }),
      describe: () => `url=${service.url}`,
      summary: () => `${service.holding()}, ${service.invalid()} invalid skipped`,
      async stop() {
        await service.stop();
        rules.close();
      },
    };
  },
};

/** TLS to control when `ui.control.ca` or a client certificate (mTLS: `cert`, `key`) is set. */
function controlTls(c: SakerConfig['ui']['control']): { tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer } } {
  if (c.ca === null && c.cert === null) return {};
  return {
    tls: {
      ...(c.ca === null ? {} : { ca: readKeyFile('ui.control.ca', c.ca) }),
      ...(c.cert === null || c.key === null
        ? {}
        : { cert: readKeyFile('ui.control.cert', c.cert), key: readKeyFile('ui.control.key', c.key) }),
    },
  };
}

/** Why the UI cannot start for lack of a login (null: it can). */
function noAuth(config: SakerConfig): string | null {
  try {
    checkAuth(config.ui);
    return null;
  } catch (err) {
    if (err instanceof OptionError) return `${err.key}: ${err.reason}`;
    throw err;
  }
}
