/** The control service: the gRPC RuleService on control.listen over KV saker_rules (docs/control.md). */
import type { SakerConfig } from '@saker/config';
import { start as startControl } from '@saker/control';
import type { ServiceModule } from '@saker/runtime';
import { startRulesFiles } from './rules-files.js';
import { rulesetSigningKey } from './security-options.js';
import { readKeyFile } from './shared.js';

export const controlService: ServiceModule<SakerConfig> = {
  name: 'control',
  stage: 'support',
  summary: 'the control API: the gRPC RuleService over KV saker_rules',
  help: `Serves the gRPC RuleService on control.listen (default 127.0.0.1:5060, where
'saker ctl' dials by default), with control.tls and control.token (or
control.token_file), over the rulesets in KV saker_rules.

With --load-rules, control also puts rules_files into KV saker_rules at
start and again whenever a file changes (watch_config_files; a Kubernetes
ConfigMap mounted as a folder included), as saker run does, and every
engine hot-swaps. Selections made with 'saker ctl rules enable/disable' are
kept; rules that do not load are refused and the ruleset in use stays. The
Helm chart runs control this way.

Options:
  --listen HOST:PORT       address to serve on (control.listen)
  --load-rules             load rules_files into the engines, and reload them on change
`,
  flags: { listen: { type: 'string' }, 'load-rules': { type: 'boolean' } },
  overrides: (f) => (typeof f.listen === 'string' ? { control: { listen: f.listen } } : {}),
  standaloneNeedsNats: true,
  async start(ctx) {
    const { control } = ctx.config;
    const rules =
      ctx.flags['load-rules'] === true
        ? await startRulesFiles({
            bus: ctx.bus,
            config: ctx.config,
            logger: ctx.logger,
            author: 'saker control',
            out: ctx.out,
            watch: ctx.config.watchConfigFiles,
          })
        : undefined;
    const tls = control.tls;
    const signingKey = rulesetSigningKey(ctx.config);
    const halt = new AbortController();
    const service = await startControl(
      {
        bus: ctx.bus,
        listen: control.listen,
        // Refuses what the engines would refuse (effectiveRuleset of @saker/rules).
        appendOutput: ctx.config.appendOutput,
        ...(tls === null
          ? {}
          : {
              tls: {
                cert: readKeyFile('control.tls.cert', tls.cert),
                key: readKeyFile('control.tls.key', tls.key),
                ...(tls.ca === null ? {} : { clientCa: readKeyFile('control.tls.ca', tls.ca) }),
              },
            }),
        ...(control.token === null ? {} : { token: control.token }),
        ...(signingKey === undefined ? {} : { signingKey }),
        allowPlaintextToken: control.allowPlaintextToken,
        delegates: control.delegates,
      },
      halt.signal,
    );
    const security = service.mtls ? 'mTLS' : service.tls ? 'TLS' : 'plaintext';
    return {
      name: 'control',
      health: () => ({ ok: true, detail: service.address }),
      describe: () =>
        `address=${service.address} ${security}${control.token === null ? '' : '+token'}` +
        (rules === undefined ? '' : ` rules=revision ${rules.revision()}`),
      async stop() {
        rules?.stop();
        await service.close();
        halt.abort();
      },
    };
  },
};
