/**
 * The audit scenarios of fixtures/k8s-scenarios.ts against Saker's own
 * rules/saker_k8s_audit_rules.yaml: each must raise at least one Saker alert.
 * (Rule-by-rule cases live in default-rules-k8s.test.ts.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@saker/testing';
import { loadRules } from '../src/loader/load.js';
import { diagnosticsOf } from './fixtures/default-rules-harness.js';
import { K8S_SCENARIOS } from './fixtures/k8s-scenarios.js';

const RULES_PATH = join(repoRoot(), 'rules', 'saker_k8s_audit_rules.yaml');

/** The Saker rule expected for each scenario. */
const EXPECTED: Readonly<Record<string, string>> = {
  'privileged pod': 'Privileged pod created',
  'sensitive mount': 'Pod with a sensitive hostPath volume created',
  'hostNetwork pod': 'Pod using the host network created',
  'exec into a pod': 'Exec or attach into a pod',
  'attach to a pod': 'Exec or attach into a pod',
  'ClusterRole with wildcards': 'Role granting wildcard access written',
  'ClusterRole with write privileges': 'Role granting write access written',
  'ClusterRole with pod exec': 'Role granting pod exec or attach written',
  'ConfigMap holding credentials': 'ConfigMap holding credentials written',
  'NodePort service': 'NodePort service written',
  'service account created in kube-system': 'Service account created in a system namespace',
  'anonymous request allowed': 'Anonymous request allowed',
};

describe('the k8s audit scenarios on rules/saker_k8s_audit_rules.yaml', () => {
  const loaded = loadRules([{ name: RULES_PATH, content: readFileSync(RULES_PATH, 'utf8') }]);

  it('loads without errors', () => {
    assert.equal(loaded.ok, true, diagnosticsOf(loaded.results));
  });

  it('names an expected rule for every scenario', () => {
    assert.deepEqual(
      K8S_SCENARIOS.map((s) => s.name).filter((n) => EXPECTED[n] === undefined),
      [],
    );
  });

  for (const s of K8S_SCENARIOS) {
    it(`${s.name}: a Saker rule fires (${EXPECTED[s.name] ?? '?'})`, () => {
      const fired = loaded.ruleset.evaluate(s.event, { ruleMatching: 'all' }).map((m) => m.rule.name);
      assert.ok(fired.length > 0, `no Saker rule fired on ${s.name}`);
      assert.ok(
        fired.includes(EXPECTED[s.name] ?? ''),
        `${EXPECTED[s.name]} did not fire; fired: ${fired.join(', ')}`,
      );
    });
  }
});
