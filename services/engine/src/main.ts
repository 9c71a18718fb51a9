#!/usr/bin/env node
/**
 * The engine's test and benchmark harness: `node services/engine/dist/src/main.js
 * --nats URL --rules PATH...`, with the knobs replica tests turn (subjects,
 * stats intervals, replica names). Deployments run `saker engine`, which reads
 * saker.yaml (append_output, the metadata join) through the service runtime.
 * SIGTERM/SIGINT go through the runtime's one handler.
 */
import { connectBus } from '@saker/bus';
import { type RulesetDocument, firstLoadError, loadRules, readRuleFiles } from '@saker/rules';
import { createLogger, onShutdown } from '@saker/runtime';
import { MetricsRegistry, type TelemetryServer, redactText, serveTelemetry } from '@saker/telemetry';
import { startTracing } from '@saker/telemetry/sdk';
import { EngineArgsError, USAGE, parseEngineArgs } from './args.js';
import { start } from './engine.js';

async function main(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parseEngineArgs>;
  try {
    args = parseEngineArgs(argv);
  } catch (err) {
    if (!(err instanceof EngineArgsError)) throw err;
    process.stderr.write(`engine: ${err.message}\n${USAGE}`);
    return 2;
  }

  const files = await readRuleFiles(args.rules);
  const loaded = loadRules(files);
  if (!loaded.ok) {
    process.stderr.write(`engine: the rules do not load: ${firstLoadError(loaded)}\n`);
    return 1;
  }
  const doc: RulesetDocument = { format: 1, files, selections: [], updatedAt: new Date().toISOString() };

  const logger = createLogger({ name: 'engine' });
  const shutdown = onShutdown({ logger });
  const controller = new AbortController();
  shutdown.signal.addEventListener('abort', () => controller.abort(), { once: true });

  const tracing = await startTracing('saker-engine');
  const bus = await connectBus({ url: args.nats, name: `saker-engine${args.name ? `-${args.name}` : ''}` });
  const metrics = new MetricsRegistry();
  const engine = await start(
    {
      bus,
      rules: doc,
      watchRules: args.watchRules,
      metrics,
      ...(args.name === undefined ? {} : { name: args.name }),
      ...(args.hostname === undefined ? {} : { hostname: args.hostname }),
      ...(args.subjects === undefined ? {} : { subjects: args.subjects }),
      ...(args.queue === undefined ? {} : { queue: args.queue }),
      ...(args.minPriority === undefined ? {} : { minPriority: args.minPriority }),
      ...(args.ruleMatching === undefined ? {} : { ruleMatching: args.ruleMatching }),
      ...(args.statsIntervalMs === undefined ? {} : { statsIntervalMs: args.statsIntervalMs }),
      ...(args.statsMinIntervalMs === undefined ? {} : { statsMinIntervalMs: args.statsMinIntervalMs }),
    },
    controller.signal,
  );
  let telemetry: TelemetryServer | undefined;
  if (args.metricsPort !== undefined) {
    telemetry = await serveTelemetry({
      host: args.metricsHost,
      port: args.metricsPort,
      metrics,
      health: () => engine.health(),
    });
  }
  process.stdout.write(
    `engine ready name=${engine.name} revision=${engine.revision} rules=${engine.ruleset.rules.filter((r) => r.enabled).length} nats=${redactText(args.nats)}${telemetry === undefined ? '' : ` metrics=${telemetry.url}`}\n`,
  );

  // The bus closing under the engine (server gone for good) stops it too.
  void bus.closed.then(() => controller.abort());
  await engine.stopped;
  await telemetry?.close();
  await bus.close();
  await tracing.shutdown();
  shutdown.dispose();
  const s = engine.stats();
  logger.info(
    `stopped (received=${s.received} evaluated=${s.evaluated} invalid=${s.invalid} dropped=${s.dropped} alerts=${s.alertsPublished})`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`engine: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
