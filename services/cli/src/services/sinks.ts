/**
 * The sinks: Falco's outputs (stdout, file, syslog, http, program) with
 * Saker's per-output filters, then falcosidekick's outputs under
 * sinks.sidekick, each reading SAKER_ALERTS through its durable consumer.
 */
import { type SakerConfig, outputsView, sinksView } from '@saker/config';
import type { ServiceModule } from '@saker/runtime';
import { inputOptionsFromConfig, sidekickOutputsFromConfig, start as startSinks } from '@saker/sinks';
import { sakerVersion } from '../version.js';
import { IoStdoutOutput, configPathError, runOutputs } from './parts.js';
import { loggerIo } from './shared.js';

export const sinksService: ServiceModule<SakerConfig> = {
  name: 'sinks',
  stage: 'sink',
  summary: "the alert outputs: Falco's and falcosidekick's, with retries and dead letters",
  help: `Delivers the alerts in SAKER_ALERTS to the outputs the configuration enables:
Falco's stdout_output, file_output, syslog_output, http_output and
program_output (filters under sinks.outputs), and falcosidekick's outputs
under sinks.sidekick (docs/sinks.md). Serves the falcosidekick-compatible
input on sinks.input.listen when set. SIGUSR1 reopens file_output's file.

Options:
  --input HOST:PORT        serve the falcosidekick-compatible input here (sinks.input.listen)
`,
  flags: { input: { type: 'string' } },
  overrides: (f) => (typeof f.input === 'string' ? { sinks: { input: { listen: f.input } } } : {}),
  standaloneNeedsNats: true,
  async start(ctx) {
    const { config } = ctx;
    const format = outputsView(config).format;
    const stdout = new IoStdoutOutput(format, loggerIo(ctx), ctx.metrics);
    const outputs = [
      ...runOutputs(config, stdout, loggerIo(ctx, 'info')),
      // falcosidekick's outputs, `sinks.sidekick` (docs/config.md).
      ...sidekickOutputsFromConfig(sinksView(config), { format, metrics: ctx.metrics }),
    ];
    const stop = new AbortController();
    const sinks = await startSinks(
      {
        bus: ctx.bus,
        hostname: config.hostname,
        outputs,
        input: inputOptionsFromConfig(sinksView(config).input),
        reopenOnSigusr1: true,
        version: sakerVersion(),
        metrics: ctx.metrics,
        log: (level, message) => ctx.logger.log(level, message),
      },
      stop.signal,
    ).catch((err: unknown) => {
      throw configPathError(err, outputs);
    });
    const printing = sinks.outputs.includes('stdout');
    return {
      name: 'sinks',
      health: () => ({
        ok: true,
        detail: sinks.outputs
          .map((o) => {
            const s = sinks.stats(o);
            return s
              ? `${o}: ${s.delivered} delivered, ${s.retried} retried, ${s.deadLettered} dead-lettered`
              : o;
          })
          .join('; '),
      }),
      describe: () =>
        `stdout=${printing ? (config.jsonOutput ? 'json' : 'text') : 'off'} outputs=${sinks.outputs.join(',') || 'none'}` +
        `${sinks.inputUrl === null ? '' : ` input=${sinks.inputUrl}`}`,
      summary: () => {
        const others = sinks.outputs
          .filter((o) => o !== 'stdout')
          .map((o) => `${o}=${sinks.stats(o)?.delivered ?? 0}`);
        const parts = [
          ...(printing ? [`${stdout.printed} alerts printed`] : []),
          ...(others.length > 0 ? [`delivered: ${others.join(' ')}`] : []),
        ];
        return parts.join(', ') || 'no outputs';
      },
      async stop() {
        // Every stored alert delivered (or, after 10 s, left on the stream for next time).
        await sinks.stop({ drainMs: 10_000 });
        stop.abort();
        await sinks.stopped;
      },
    };
  },
};
