/**
 * saker.yaml's security settings turned into service options: ruleset
 * signing (control's key, the engines' trusted keys), the rules-drop alarm,
 * the alert spool and the stream fill watch. Keys are read once, at start;
 * a bad key file fails the start naming the file.
 */
import type { KeyObject } from 'node:crypto';
import { STREAMS } from '@saker/bus';
import type { SakerConfig } from '@saker/config';
import type { EngineOptions } from '@saker/engine';
import {
  type RulesetDocument,
  readRulesetSigningKey,
  readRulesetVerifyKey,
  signRulesetDocument,
} from '@saker/rules';

/** The engine options that come from `rulesets:`, `nats.spool` and `streams:`. */
export function engineSecurityOptions(
  config: SakerConfig,
): Pick<EngineOptions, 'rulesetKeys' | 'rulesDropAlertShare' | 'alertSpool' | 'streamWatch'> {
  return {
    rulesetKeys: config.rulesets.trustedKeys.map(readRulesetVerifyKey),
    rulesDropAlertShare: config.rulesets.dropAlertShare,
    alertSpool: { dir: config.nats.spool.dir, maxBytes: config.nats.spool.maxBytes },
    streamWatch: {
      intervalMs: 30_000,
      alertRatio: {
        [STREAMS.alerts.name]: config.streams.alerts.alertRatio,
        [STREAMS.audit.name]: config.streams.audit.alertRatio,
        [STREAMS.deadLetter.name]: config.streams.deadletter.alertRatio,
      },
    },
  };
}

/** Control's signing key, when `rulesets.signing_key` is set. */
export function rulesetSigningKey(config: SakerConfig): KeyObject | undefined {
  const file = config.rulesets.signingKey;
  return file === null ? undefined : readRulesetSigningKey(file);
}

/** `doc` signed with `key` when there is one. */
export function signedIfKey(doc: RulesetDocument, key: KeyObject | undefined): RulesetDocument {
  return key === undefined ? doc : signRulesetDocument(doc, key);
}
