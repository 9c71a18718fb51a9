#!/usr/bin/env node
/**
 * The sinks alone: `node dist/src/main.js --config saker.yaml [--nats URL]
 * [--input HOST:PORT] [--metrics-listen HOST:PORT]`. The outputs are those
 * `saker run` starts from the same file: Falco's output sections with
 * `sinks.outputs.<name>` filters, then falcosidekick's outputs under
 * `sinks.sidekick`. The input is `--input`, else `sinks.input.listen`.
 * `/metrics` (where the prometheus output's `falco_events` is scraped) and
 * `/healthz` are served only with `--metrics-listen`, so a second process
 * on the host does not collide with `saker run`'s `telemetry.listen`.
 * SIGTERM/SIGINT stop gracefully (a second one exits at once); SIGUSR1
 * reopens the file output, as for Falco. This is the sinks' test and
 * benchmark harness; deployments run `saker sinks`, the same outputs through
 * the service runtime.
 */
import { parseArgs } from 'node:util';
import { connectBus } from '@saker/bus';
import { busView, loadConfig, outputsView, sinksView } from '@saker/config';
import { type HostPort, createLogger, onShutdown, parseHostPort } from '@saker/runtime';
import { MetricsRegistry, healthReport, redactText, serveTelemetry } from '@saker/telemetry';
import { startTracing } from '@saker/telemetry/sdk';
import { falcoOutputsFromConfig, inputOptionsFromConfig, sidekickOutputsFromConfig } from './config.js';
import { start } from './service.js';

function hostPortOption(flag: string, text: string | undefined): HostPort | null {
  return text === undefined || text === '' ? null : parseHostPort(text, flag);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      nats: { type: 'string' },
      input: { type: 'string' },
      'metrics-listen': { type: 'string' },
    },
  });
  const config = loadConfig({
    ...(values.config === undefined ? {} : { file: values.config }),
    overrides: values.nats === undefined ? {} : { nats: { url: values.nats } },
  });
  const url = busView(config).url;
  if (url === null) throw new Error('the sinks alone need NATS: set nats.url or pass --nats');
  const logger = createLogger({ name: 'sinks' });
  const metricsAt = hostPortOption('--metrics-listen', values['metrics-listen']);
  const metrics = new MetricsRegistry();
  const format = outputsView(config).format;
  const sinks = sinksView(config);
  const outputs = [
    ...falcoOutputsFromConfig(outputsView(config), sinks.outputs, {
      notice: (m) => logger.info(m),
    }),
    ...sidekickOutputsFromConfig(sinks, { format, metrics }),
  ];
  const tracing = await startTracing('saker-sinks', config.telemetry.tracing);
  const bus = await connectBus({ ...busView(config), url });
  const abort = new AbortController();
  const service = await start(
    {
      bus,
      hostname: config.hostname,
      outputs,
      input:
        values.input === undefined
          ? inputOptionsFromConfig(sinks.input)
          : hostPortOption('--input', values.input),
      reopenOnSigusr1: true,
      metrics,
    },
    abort.signal,
  );
  const telemetry =
    metricsAt === null
      ? null
      : await serveTelemetry(
          {
            ...metricsAt,
            metrics,
            health: () => healthReport({ bus: { ok: !bus.isClosed, detail: url } }),
          },
          abort.signal,
        );
  const shutdown = onShutdown({ logger });
  shutdown.signal.addEventListener('abort', () => abort.abort(), { once: true });
  process.stderr.write(
    `sinks ready outputs=${service.outputs.join(',') || '-'} input=${service.inputUrl ?? '-'} ` +
      `metrics=${telemetry?.url ?? '-'} nats=${redactText(url)}\n`,
  );
  await service.stopped;
  await bus.close();
  await tracing.shutdown();
  shutdown.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`sinks: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
