/**
 * The engine service: `config.engine.replicas` engines in the queue group,
 * starting with the effective ruleset of rules_files (selections, Falco's
 * append_output) and following KV saker_rules; the metadata join over KV
 * saker_meta. `saker engine` and `saker run` both start it from here.
 */
import { hostname as osHostname } from 'node:os';
import { toToken } from '@saker/bus';
import { enrichCacheView } from '@saker/config';
import type { SakerConfig } from '@saker/config';
import { type EngineService, start as startEngine } from '@saker/engine';
import type { ServiceModule } from '@saker/runtime';
import { readRulesDocument } from './parts.js';
import { engineSecurityOptions } from './security-options.js';
import { loggerIo } from './shared.js';

export const engineService: ServiceModule<SakerConfig> = {
  name: 'engine',
  stage: 'engine',
  summary: 'the rule engine: evaluates event batches, publishes Falco alerts to SAKER_ALERTS',
  help: `Joins the engine queue group (engine.queue_group), evaluates event batches
and publishes alerts into SAKER_ALERTS. Starts with the rules of rules_files
(or -r) with Falco's append_output, until KV saker_rules holds a ruleset, then
follows it (hot swap). Rules reading container.* or k8s.* fields are joined
with KV saker_meta (enrich.cache).

Options:
  -r, --rules FILE|DIR     rules to start with instead of rules_files; repeat for more
`,
  flags: { rules: { type: 'string', short: 'r', multiple: true } },
  overrides: (f) => (Array.isArray(f.rules) ? { rules_files: f.rules } : {}),
  standaloneNeedsNats: true,
  async start(ctx) {
    const { config } = ctx;
    const initial = await readRulesDocument(config.rulesFiles, loggerIo(ctx), {
      author: 'saker engine',
      comment: 'rules_files',
      appendOutput: config.appendOutput,
    });
    if (initial === undefined) throw new Error('not starting: the rules have errors');
    // Read once (a bad key file fails the start naming the file).
    const security = engineSecurityOptions(config);
    const stop = new AbortController();
    const engines: EngineService[] = [];
    try {
      for (let i = 0; i < config.engine.replicas; i++) {
        engines.push(
          await startEngine(
            {
              bus: ctx.bus,
              // The replica's name in its stats reports: the machine's (pod's) name, not the
              // alerts' hostname, which the chart sets to the node's name for every pod on it.
              name: `${toToken(osHostname())}-${process.pid}-${i}`,
              hostname: config.hostname,
              queue: config.engine.queueGroup,
              rules: initial.doc,
              watchRules: true,
              minPriority: config.engine.minPriority,
              ruleMatching: config.ruleMatching,
              metrics: ctx.metrics,
              timeIso8601: config.timeFormatIso8601,
              // Falco's append_output (default: suggested output, the container fields).
              appendOutput: config.appendOutput,
              // The metadata cache over KV saker_meta, started once a rule reads container.*/k8s.* fields.
              metadata: { kv: enrichCacheView(config) },
              log: (line) => ctx.logger.info(line.replace(/^engine: /, '')),
              // Ruleset signatures, the rules-drop alarm, the alert spool, the stream fill watch.
              ...security,
            },
            stop.signal,
          ),
        );
      }
    } catch (err) {
      stop.abort();
      await Promise.allSettled(engines.map((e) => e.stopped));
      throw err;
    }
    const enabled = initial.ruleset.rules.filter((r) => r.enabled).length;
    return {
      name: 'engine',
      health: () => {
        const bad = engines.filter((e) => !e.health().ok);
        return {
          ok: bad.length === 0,
          detail: engines.map((e) => `${e.name} revision ${e.revision}`).join(', '),
        };
      },
      describe: () => `replicas=${engines.length} rules=${enabled}`,
      summary: () => {
        let evaluated = 0;
        let alerts = 0;
        for (const e of engines) {
          evaluated += e.stats().evaluated;
          alerts += e.stats().alertsPublished;
        }
        return `${evaluated} events evaluated, ${alerts} alerts`;
      },
      ended: Promise.all(engines.map((e) => e.stopped)).then(() => {
        if (!stop.signal.aborted) throw new Error('the engines stopped');
      }),
      async stop() {
        stop.abort();
        await Promise.all(engines.map((e) => e.stopped));
      },
    };
  },
};
