/**
 * The Kubernetes audit source: the webhook the API server posts to and the
 * audit log files to follow, from saker.yaml's `audit` section. Events go
 * out on SAKER_AUDIT (JetStream) on NATS, with a plain publish in memory.
 */
import { start as startAudit } from '@saker/audit';
import type { SakerConfig } from '@saker/config';
import { OptionError, type ServiceModule, parseHostPort } from '@saker/runtime';
import { readKeyFile } from './shared.js';

export const auditService: ServiceModule<SakerConfig> = {
  name: 'audit',
  stage: 'source',
  summary: 'the Kubernetes audit source: webhook and audit log files',
  help: `Serves the Kubernetes audit webhook (POST audit.path on audit.listen, with
audit.tls, audit.token or audit.token_file) and follows the audit log files of
audit.files; publishes the events for the engines (docs/audit.md).

Options:
  --listen HOST:PORT       serve the webhook here (audit.listen)
  --audit-log FILE         follow this audit log (audit.files); repeatable
`,
  flags: { listen: { type: 'string' }, 'audit-log': { type: 'string', multiple: true } },
  overrides: (f) => {
    const audit: Record<string, unknown> = {};
    if (typeof f.listen === 'string') audit.listen = f.listen;
    if (Array.isArray(f['audit-log'])) audit.files = f['audit-log'];
    return Object.keys(audit).length > 0 ? { audit } : {};
  },
  standaloneNeedsNats: true,
  async start(ctx) {
    const a = ctx.config.audit;
    if (a.listen === null && a.files.length === 0) {
      if (ctx.embedded) {
        return {
          name: 'audit',
          health: () => ({ ok: true, detail: 'off' }),
          describe: () => 'off',
          stop: async () => {},
        };
      }
      throw new OptionError(
        'audit.listen',
        'the audit service has nothing to do: set audit.listen or audit.files',
      );
    }
    const service = await startAudit({
      bus: ctx.bus,
      webhook:
        a.listen === null
          ? false
          : {
              ...parseHostPort(a.listen, 'audit.listen'),
              path: a.path,
              tls:
                a.tls === null
                  ? undefined
                  : {
                      cert: readKeyFile('audit.tls.cert', a.tls.cert).toString('utf8'),
                      key: readKeyFile('audit.tls.key', a.tls.key).toString('utf8'),
                      clientCa:
                        a.tls.clientCa === null
                          ? undefined
                          : readKeyFile('audit.tls.client_ca', a.tls.clientCa).toString('utf8'),
                    },
              bearerTokens: a.tokens,
              allowUnauthenticated: a.allowUnauthenticated,
              allowPlaintextToken: a.allowPlaintextToken,
              maxBodyBytes: a.maxBodyBytes,
            },
      files: a.files.map((path, i) => ({
        path,
        ...(a.checkpointDir === null ? {} : { checkpointFile: `${a.checkpointDir}/audit-${i}.checkpoint` }),
      })),
      hostname: ctx.config.hostname,
      metrics: ctx.metrics,
      handoff: { mode: ctx.nats ? 'durable' : 'publish' },
      log: ctx.logger.log,
    });
    return {
      name: 'audit',
      health: () => ({ ok: true, detail: service.webhook ? service.webhook.url : `${a.files.length} files` }),
      describe: () =>
        `${service.webhook ? `webhook=${service.webhook.url}` : 'no webhook'}${a.files.length > 0 ? ` files=${a.files.join(',')}` : ''}`,
      stop: () => service.stop(),
    };
  },
};
