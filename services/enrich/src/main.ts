#!/usr/bin/env node
/**
 * The enrich service on its own: `saker-enrich --nats URL [--config saker.yaml] [--mode node|cluster]`
 * (the same as `saker enrich`). Node mode follows the node's CRI socket; cluster mode
 * watches the API server. Stops cleanly on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { connectBus } from '@saker/bus';
import { ConfigError, busView, enrichClusterView, enrichNodeView, loadConfig } from '@saker/config';
import { MetricsRegistry } from '@saker/telemetry';
import { type EnrichMode, startEnrich } from './embedded.js';

const USAGE = `Usage: saker-enrich --nats URL [--config saker.yaml] [--mode node|cluster]

Writes container metadata from the node's CRI socket (node mode, default) or
pod, namespace and workload metadata from the API server (cluster mode) into
KV saker_meta on NATS. Settings: the enrich section of saker.yaml (docs/enrich.md).

Options:
  --nats URL        NATS server (or nats.url in the configuration)
  -c, --config FILE saker.yaml
  --mode MODE       node (default) or cluster
  -h, --help        show this help
`;

async function main(argv: readonly string[]): Promise<number> {
  let values: { nats?: string; config?: string; mode?: string; help?: boolean };
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        nats: { type: 'string' },
        config: { type: 'string', short: 'c' },
        mode: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`saker-enrich: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const mode = values.mode ?? 'node';
  if (mode !== 'node' && mode !== 'cluster') {
    process.stderr.write(`saker-enrich: --mode: expected node or cluster, got ${JSON.stringify(mode)}\n`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({
      ...(values.config === undefined ? {} : { file: values.config }),
      ...(values.nats === undefined ? {} : { overrides: { nats: { url: values.nats } } }),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`saker-enrich: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (config.nats.url === null) {
    process.stderr.write('saker-enrich: needs a NATS server: --nats URL (or nats.url)\n');
    return 2;
  }
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  const bus = await connectBus({ ...busView(config), url: config.nats.url, name: 'saker-enrich' });
  try {
    const enrich = await startEnrich(
      {
        bus,
        mode: mode as EnrichMode,
        node: enrichNodeView(config),
        cluster: enrichClusterView(config),
        metrics: new MetricsRegistry(),
      },
      stop.signal,
    );
    process.stderr.write(`saker-enrich: running ${enrich.describe()}\n`);
    await new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), { once: true }));
    await enrich.stop();
    return 0;
  } catch (err) {
    process.stderr.write(`saker-enrich: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await bus.drain().catch(() => bus.close());
  }
}

process.exitCode = await main(process.argv.slice(2));
