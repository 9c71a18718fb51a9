#!/usr/bin/env node
/**
 * The sinks alone: `node dist/src/main.js --config saker.yaml [--nats URL]
 * [--input HOST:PORT]`. Falco's output sections of the file decide the
 * outputs. SIGTERM/SIGINT stop gracefully (a second one exits at once);
 * SIGUSR1 reopens the file output, as for Falco.
 */
import { parseArgs } from 'node:util';
import { connectBus } from '@saker/bus';
import { busView, loadConfig, outputsView } from '@saker/config';
import { outputsFromConfig } from './config.js';
import { start } from './service.js';

function inputOption(text: string | undefined): { host: string; port: number } | null {
  if (text === undefined || text === '') return null;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new Error(`--input: expected HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port: Number(m[3]) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      nats: { type: 'string' },
      input: { type: 'string' },
    },
  });
  const config = loadConfig({
    ...(values.config === undefined ? {} : { file: values.config }),
    overrides: values.nats === undefined ? {} : { nats: { url: values.nats } },
  });
  const url = busView(config).url;
  if (url === null) throw new Error('the sinks alone need NATS: set nats.url or pass --nats');
  const bus = await connectBus({ url });
  const abort = new AbortController();
  const service = await start(
    {
      bus,
      hostname: config.hostname,
      outputs: outputsFromConfig(outputsView(config)),
      input: inputOption(values.input),
      reopenOnSigusr1: true,
    },
    abort.signal,
  );
  let signals = 0;
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130);
    abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.stderr.write(
    `sinks ready outputs=${service.outputs.join(',') || '-'} input=${service.inputUrl ?? '-'} nats=${url}\n`,
  );
  await service.stopped;
  await bus.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`sinks: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
