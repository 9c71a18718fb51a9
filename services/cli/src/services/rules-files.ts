/**
 * The rules files → KV saker_rules: loaded at start (keeping the selections
 * `saker ctl rules enable/disable` made) and again on every change that
 * loads, as `saker ctl rules put` does; the engines hot-swap. `saker run`
 * runs it as a service of its own; `saker control --load-rules` runs it in
 * the control service (the Helm chart does: its rules come from a ConfigMap
 * mounted as a folder, whose `..data` swap counts as a change).
 */
import { BUCKETS, type Bus } from '@saker/bus';
import type { SakerConfig } from '@saker/config';
import { RULESET_KEY } from '@saker/rules';
import type { Logger } from '@saker/runtime';
import type { Io } from '../io.js';
import { putRuleset, readRulesDocument, safeSelections, watchRulesPaths } from './parts.js';
import { rulesetSigningKey } from './security-options.js';

export interface RulesFiles {
  /** KV revision of the ruleset last put. */
  revision(): number;
  stop(): void;
}

/** Puts the rules files into KV now (throws when they do not load), then after each change while watching. */
export async function startRulesFiles(opts: {
  readonly bus: Bus;
  readonly config: SakerConfig;
  readonly logger: Logger;
  /** Recorded with each revision, e.g. `saker run`. */
  readonly author: string;
  readonly out: (text: string) => Promise<void>;
  /** Watch the files (watch_config_files). */
  readonly watch: boolean;
  /** Reload on SIGHUP too. */
  readonly reloadOnSighup?: boolean;
}): Promise<RulesFiles> {
  const { bus, config, logger, author } = opts;
  const io: Io = { out: opts.out, err: (t) => logger.error(t.trimEnd().replace(/^saker: /, '')) };
  const kv = await bus.kv(BUCKETS.rules);
  const load = async (comment: string) => {
    const current = await kv.get(RULESET_KEY);
    return readRulesDocument(config.rulesFiles, io, {
      author,
      comment,
      selections: current === null ? [] : safeSelections(current.value),
      appendOutput: config.appendOutput,
    });
  };
  const initial = await load('rules_files at start');
  if (initial === undefined) throw new Error('not starting: the rules have errors');
  // Signed with rulesets.signing_key when set, so engines that trust only signed rulesets take it.
  const signingKey = rulesetSigningKey(config);
  let revision = await putRuleset(kv, initial.doc, signingKey);
  logger.info(
    `rules loaded: revision ${revision}, ${initial.ruleset.rules.filter((r) => r.enabled).length} rules`,
  );
  // Reloads run one at a time, whether a watched file changed or SIGHUP asked for one.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (): void => {
    reloading = reloading.then(async () => {
      try {
        const next = await load('rules file changed');
        if (next === undefined) {
          logger.error('the changed rules do not load; keeping the rules in use');
          return;
        }
        revision = await putRuleset(kv, next.doc, signingKey);
        const enabled = next.ruleset.rules.filter((r) => r.enabled).length;
        logger.info(`rules reloaded: revision ${revision}, ${enabled} rules`);
      } catch (err) {
        logger.error(`rules reload failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  };
  const stopWatching = opts.watch ? watchRulesPaths(config.rulesFiles, reload, io) : () => undefined;
  const onHangup = (): void => {
    logger.info('SIGHUP, reloading the rules');
    reload();
  };
  if (opts.reloadOnSighup === true) process.on('SIGHUP', onHangup);
  const stop = (): void => {
    stopWatching();
    process.off('SIGHUP', onHangup);
  };
  return { revision: () => revision, stop };
}
