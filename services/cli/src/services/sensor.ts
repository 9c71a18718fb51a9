/**
 * The syscall source: the eBPF sensor service (services/sensor: the probe,
 * its batches, its rate-limited drop notices) when running as root, and
 * recorded events (--replay, --replay-dir) published the same way. What the
 * probe captures follows the ruleset: rules_files at start, then every
 * ruleset KV saker_rules receives.
 */
import { readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { BUCKETS, type KvWatch } from '@saker/bus';
import type { SakerConfig } from '@saker/config';
import {
  RULESET_KEY,
  type RulesetDocument,
  decodeRulesetDocument,
  loadRules,
  readRuleFiles,
  verifyRulesetDocument,
} from '@saker/rules';
import { OptionError, type ServiceModule } from '@saker/runtime';
import { type SensorService, start as startSensorService } from '@saker/sensor';
import { sakerVersion } from '../version.js';
import { EventPublisher, describeReplay, replayFile } from './parts.js';
import { engineSecurityOptions } from './security-options.js';
import { watchSensorDrops } from './sensor-drops.js';
import { isRoot, loggerIo } from './shared.js';

export const sensorService: ServiceModule<SakerConfig> = {
  name: 'sensor',
  stage: 'source',
  summary: 'the syscall source: the eBPF sensor (root), or recorded events',
  help: `Attaches the eBPF probe (needs root; sensor.enabled) and publishes syscall
event batches on saker.v1.events.syscall.<sensor.node_name>, capturing the
event types the rules need. Drops are counted per node in /metrics
(saker_sensor_drops_total, saker_sensor_drop_rate); a window whose share of
drops passes syscall_event_drops.threshold logs and raises Falco's "syscall
event drop" alert, as syscall_event_drops.actions say (at most one per 30 s by
default). --replay publishes recorded events instead of
(or as well as) the probe.

Options:
  --replay FILE.jsonl      publish recorded events (libs/events JSON lines); repeatable
  --replay-dir DIR         publish each *.jsonl file that appears in DIR, once, in name order
                           (write it under another name and rename it in)
  --no-probe               do not attach the probe (sensor.enabled: false)
`,
  flags: {
    replay: { type: 'string', multiple: true },
    'replay-dir': { type: 'string' },
    'no-probe': { type: 'boolean' },
  },
  overrides: (f) => (f['no-probe'] === true ? { sensor: { enabled: false } } : {}),
  standaloneNeedsNats: true,
  async start(ctx) {
    const { config, logger } = ctx;
    const replay = Array.isArray(ctx.flags.replay) ? (ctx.flags.replay as readonly string[]) : [];
    const replayDir = typeof ctx.flags['replay-dir'] === 'string' ? ctx.flags['replay-dir'] : undefined;
    const replaying = replay.length > 0 || replayDir !== undefined;
    let probe: SensorService | undefined;
    let rulesWatch: KvWatch | undefined;
    if (config.sensor.enabled) {
      if (!isRoot()) {
        if (!ctx.embedded && !replaying) {
          throw new OptionError('sensor.enabled', 'the probe needs root (or give --replay, or --no-probe)');
        }
        logger.info('not running as root: the probe is off');
      } else {
        probe = await startProbe(ctx, (w) => {
          rulesWatch = w;
        }).catch((err: unknown) => {
          if (!ctx.embedded) throw err;
          logger.warn(
            `the probe did not start, continuing without it: ${err instanceof Error ? err.message : String(err)}`,
          );
          return undefined;
        });
      }
    }

    const publisher = new EventPublisher(ctx.bus, config.hostname, config.engine.batch, loggerIo(ctx));
    const halt = new AbortController();
    const replayed = ctx.metrics.counter(
      'saker_replay_events_total',
      'Recorded events published by --replay.',
    );
    let chain: Promise<void> = Promise.resolve();
    const enqueue = (file: string): void => {
      chain = chain.then(async () => {
        try {
          const r = await replayFile(file, publisher, config.engine.batch.maxEvents, halt.signal);
          replayed.inc(undefined, r.published);
          const line = describeReplay(file, r).replace(/^saker: /, '');
          if (r.lost === 0) logger.info(line);
          else logger.warn(line);
        } catch (err) {
          logger.error(`replay: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
    };
    for (const f of replay) enqueue(f);
    const stopDir =
      replayDir === undefined ? () => {} : watchReplayDir(replayDir, enqueue, (m) => logger.error(m));

    return {
      name: 'sensor',
      health: () => ({
        ok: true,
        detail: `${probe ? `probe on ${probe.node}, ${probe.stats().drops} drops` : 'probe off'}${replaying ? ', replay' : ''}`,
      }),
      describe: () => `probe=${probe ? probe.node : 'off'}${replaying ? ' replay=on' : ''}`,
      async stop() {
        rulesWatch?.stop();
        stopDir();
        halt.abort();
        await probe?.stop();
        await chain;
        await publisher.close();
      },
    };
  },
};

async function eventTypesOf(
  files: Parameters<typeof loadRules>[0],
): Promise<ReadonlySet<string> | undefined> {
  const load = loadRules(files);
  return load.ok ? load.ruleset.eventTypes() : undefined;
}

async function startProbe(
  ctx: Parameters<ServiceModule<SakerConfig>['start']>[0],
  keepWatch: (w: KvWatch) => void,
): Promise<SensorService> {
  const { config, logger } = ctx;
  const files = await readRuleFiles(config.rulesFiles);
  const types = await eventTypesOf(files);
  // sensor.worker: the node evaluates its own events, as the engine would (rule_matching, priority, append_output).
  const evaluation = (rules: RulesetDocument['files'] | RulesetDocument) => ({
    rules,
    ruleMatching: config.ruleMatching,
    minPriority: config.engine.minPriority,
    hostname: config.hostname,
    timeIso8601: config.timeFormatIso8601,
    appendOutput: config.appendOutput,
  });
  const trusted = config.sensor.worker ? (engineSecurityOptions(config).rulesetKeys ?? []) : [];
  // Follow the ruleset in use: `saker ctl rules put`, or saker run's watched files. The watch
  // comes first: when JetStream does not answer (a leaf node whose hub is not up yet) the start
  // fails before the probe is attached, and the process exits non-zero (the kubelet restarts it)
  // instead of running on with a probe publishing into a closed bus.
  let w: KvWatch;
  try {
    const kv = await ctx.bus.kv(BUCKETS.rules);
    w = await kv.watch({ key: RULESET_KEY });
  } catch (err) {
    throw new Error(
      `cannot follow the ruleset (KV ${BUCKETS.rules}): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  keepWatch(w);
  const probe = await startSensorService({
    bus: ctx.bus,
    node: config.sensor.nodeName,
    eventTypes: types,
    batcher: config.engine.batch,
    dropThreshold: config.sensor.drops.threshold,
    dropActions: config.sensor.drops.actions,
    dropNoticeIntervalMs: 1000 / config.sensor.drops.rate,
    dropNoticeBurst: config.sensor.drops.maxBurst,
    log: (line) => logger.warn(line.replace(/^sensor: /, '')),
    ...(config.sensor.worker ? { evaluate: evaluation(files) } : {}),
  }).catch((err: unknown) => {
    w.stop();
    throw err;
  });
  if (config.sensor.worker)
    logger.info(
      "the node worker evaluates the probe's events (sensor.worker): alerts straight into SAKER_ALERTS, no event batch",
    );
  watchSensorDrops(probe, {
    metrics: ctx.metrics,
    bus: ctx.bus,
    hostname: config.hostname,
    json: {},
    version: sakerVersion(),
    log: (line) => logger.warn(line),
  });
  const keyOf = (t: ReadonlySet<string> | undefined): string =>
    t === undefined ? '*' : [...t].sort().join(',');
  let current = keyOf(types);
  void (async () => {
    for await (const entry of w) {
      if (entry.operation !== 'PUT') continue;
      try {
        const doc = decodeRulesetDocument(entry.value);
        if (config.sensor.worker) {
          // As the engine does: with trusted keys, only a ruleset signed by one of them is evaluated.
          const verdict = trusted.length > 0 ? verifyRulesetDocument(doc, trusted) : undefined;
          if (verdict !== undefined && !verdict.ok)
            logger.error(
              `the node worker keeps its rules: ruleset revision ${entry.revision} refused (${verdict.detail})`,
            );
          else probe.setRules(evaluation(doc));
        }
        const next = await eventTypesOf(doc.files);
        // The probe is reconfigured only when the ruleset needs other syscalls.
        if (keyOf(next) === current) continue;
        current = keyOf(next);
        probe.setEventTypes(next);
      } catch (err) {
        logger.error(`following the ruleset: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })();
  return probe;
}

/** Calls `onFile` once for each *.jsonl file in `dir`, present now or appearing later, in name order. */
function watchReplayDir(
  dir: string,
  onFile: (file: string) => void,
  report: (m: string) => void,
): () => void {
  const seen = new Set<string>();
  const scan = (): void => {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.jsonl'))
        .sort();
    } catch (err) {
      report(`replay dir: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      onFile(join(dir, n));
    }
  };
  scan();
  const w = watch(dir, () => scan());
  w.on('error', (err) => report(`replay dir: ${err.message}`));
  return () => w.close();
}
