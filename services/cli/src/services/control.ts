/** The control service: the gRPC RuleService on control.listen over KV saker_rules (docs/control.md). */
import type { SakerConfig } from '@saker/config';
import { start as startControl } from '@saker/control';
import type { ServiceModule } from '@saker/runtime';
import { readKeyFile } from './shared.js';

export const controlService: ServiceModule<SakerConfig> = {
  name: 'control',
  stage: 'support',
  summary: 'the control API: the gRPC RuleService over KV saker_rules',
  help: `Serves the gRPC RuleService on control.listen (default 127.0.0.1:5060, where
'saker ctl' dials by default), with control.tls and control.token (or
control.token_file), over the rulesets in KV saker_rules.

Options:
  --listen HOST:PORT       address to serve on (control.listen)
`,
  flags: { listen: { type: 'string' } },
  overrides: (f) => (typeof f.listen === 'string' ? { control: { listen: f.listen } } : {}),
  standaloneNeedsNats: true,
  async start(ctx) {
    const { control } = ctx.config;
    const tls = control.tls;
    const halt = new AbortController();
    const service = await startControl(
      {
        bus: ctx.bus,
        listen: control.listen,
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
      },
      halt.signal,
    );
    const security = service.mtls ? 'mTLS' : service.tls ? 'TLS' : 'plaintext';
    return {
      name: 'control',
      health: () => ({ ok: true, detail: service.address }),
      describe: () => `address=${service.address} ${security}${control.token === null ? '' : '+token'}`,
      async stop() {
        await service.close();
        halt.abort();
      },
    };
  },
};
