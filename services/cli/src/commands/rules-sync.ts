/**
 * Rules files → KV saker_rules, for `saker control --load-rules`: the
 * distributed shape's counterpart of `saker run`'s file watching. Control
 * loads `rules_files` at start and again whenever they change (a Kubernetes
 * ConfigMap mounted as a folder included), and every engine following the key
 * hot-swaps. Selections made with `saker ctl rules enable/disable` are kept.
 * Rules that do not load are refused: the ruleset in use stays.
 */
import type { KvStore } from '@saker/bus';
import type { SakerConfig } from '@saker/config';
import { RULESET_KEY } from '@saker/rules';
import type { Io } from '../io.js';
import { putRuleset, readRulesDocument, safeSelections, watchRulesPaths } from './run.js';

/** Reads `rules_files` and puts them into KV; the new revision, or undefined when they do not load. */
export async function putRulesFiles(
  config: SakerConfig,
  kv: KvStore,
  io: Io,
  comment: string,
): Promise<{ revision: number; rules: number } | undefined> {
  const current = await kv.get(RULESET_KEY);
  const next = await readRulesDocument(config.rulesFiles, io, {
    author: 'saker control',
    comment,
    selections: current === null ? [] : safeSelections(current.value),
    appendOutput: config.appendOutput,
  });
  if (next === undefined) return undefined;
  const revision = await putRuleset(kv, next.doc);
  return { revision, rules: next.ruleset.rules.filter((r) => r.enabled).length };
}

/**
 * Puts the rules files into KV now, then after every change until the
 * returned function is called. Loads run one at a time.
 */
export async function syncRulesFiles(
  config: SakerConfig,
  kv: KvStore,
  io: Io,
): Promise<{ revision: number; stop(): void }> {
  const first = await putRulesFiles(config, kv, io, 'rules_files at start');
  if (first === undefined) throw new Error('the rules files have errors (printed above); nothing was loaded');
  io.err(`control: rules loaded: revision ${first.revision}, ${first.rules} rules\n`);
  let chain: Promise<void> = Promise.resolve();
  const reload = (): void => {
    chain = chain.then(async () => {
      try {
        const next = await putRulesFiles(config, kv, io, 'rules file changed');
        io.err(
          next === undefined
            ? 'control: the changed rules do not load; the engines keep the rules in use\n'
            : `control: rules reloaded: revision ${next.revision}, ${next.rules} rules\n`,
        );
      } catch (err) {
        io.err(`control: rules reload failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  };
  const stop = watchRulesPaths(config.rulesFiles, reload, io);
  return { revision: first.revision, stop };
}
