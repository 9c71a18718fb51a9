/**
 * (b) Hot reload across two replicas (child processes) on a real nats-server:
 * a new RulesetDocument in KV saker_rules is taken by both and new events
 * alert by the new rules; a broken one is refused by both, which keep their
 * revision, and one reload-failure alert lands in SAKER_ALERTS.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUCKETS } from '@saker/bus';
import { RULESET_KEY, type RulesetDocument, encodeRulesetDocument } from '@saker/rules';
import { repoRoot } from '@saker/testing';
import { RELOAD_FAILURE_RULE, alertMsgId } from '../src/alerts.js';
import { compileDocument } from '../src/ruleset-state.js';
import { readAlerts } from './helpers/alerts.js';
import { type Cluster, startCluster } from './helpers/cluster.js';
import { generateEvents } from './helpers/events.js';
import { publishEvents } from './helpers/publish.js';
import { sum } from './helpers/replica.js';

const RULES = join(repoRoot(), 'rules', 'saker_rules.yaml');
const SUBJECT = 'saker.v1.events.syscall.test';

const NEW_RULES = `- rule: Engine test - git run
  desc: a git child process
  condition: evt.type = execve and proc.name = git
  output: git ran (cmdline=%proc.cmdline container=%container.id)
  priority: WARNING
  tags: [test]
`;

// Line 3, column 14: an unbalanced parenthesis.
const BROKEN_RULES = `- rule: Engine test - broken
  desc: does not compile
  condition: (evt.type = execve and proc.name = git
  output: never
  priority: WARNING
`;

function doc(name: string, content: string): RulesetDocument {
  return { format: 1, files: [{ name, content }], selections: [], updatedAt: new Date().toISOString() };
}

describe('(b) hot reload from KV saker_rules', { timeout: 90_000 }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it('both replicas switch to a new ruleset and refuse a broken one', async () => {
    const names = ['b1', 'b2'];
    cluster = await startCluster({ names, rules: [RULES] });
    const { bus, stats, replicas } = cluster;
    await stats.until('both at revision 0', (s) => names.every((n) => s.get(n)?.revision === 0));

    // A new ruleset.
    const kv = await bus.kv(BUCKETS.rules);
    const good = doc('reload-good.yaml', NEW_RULES);
    const revision = await kv.put(RULESET_KEY, encodeRulesetDocument(good));
    await stats.until(`both at revision ${revision}`, (s) =>
      names.every((n) => s.get(n)?.revision === revision),
    );
    for (const r of replicas) {
      const health = (await (await fetch(`${r.metricsUrl}/healthz`)).json()) as {
        checks: { ruleset: { detail: string } };
      };
      assert.match(health.checks.ruleset.detail, new RegExp(`^revision ${revision}, 1 rules`));
    }

    const compiled = compileDocument(good, revision);
    assert.ok(compiled.ok);
    const events = generateEvents(20_000, { seed: 21, firstNum: 5_000_000 });
    const expected = new Set<string>();
    for (const e of events) {
      for (const m of compiled.loaded.ruleset.evaluate(e)) expected.add(alertMsgId(e, m.rule.name));
    }
    assert.ok(expected.size > 100, `the new rule matches some events (${expected.size})`);
    const before = sum(stats.latest, names, 'evaluated');
    await publishEvents(bus, SUBJECT, events);
    await stats.until('20k evaluated', (s) => sum(s, names, 'evaluated') === before + 20_000);
    // The drop from several rules to one raised its own internal alert (reload-signing.test.ts).
    const alerts = await readAlerts(bus, 'test-b-new', {
      expected: expected.size,
      consumer: { filterSubject: 'saker.v1.alerts.syscall.>' },
    });
    assert.equal(alerts.length, expected.size);
    for (const a of alerts) {
      assert.equal(a.rule, 'Engine test - git run');
      assert.ok(expected.has(a.msgId ?? ''), 'an expected alert');
    }
    assert.ok(
      names.every((n) => (stats.get(n).evaluated ?? 0) > 0),
      'both replicas evaluated with the new rules',
    );

    // A broken ruleset: refused by both, one alert for it.
    const broken = await kv.put(RULESET_KEY, encodeRulesetDocument(doc('reload-broken.yaml', BROKEN_RULES)));
    await stats.until('both refused', (s) => names.every((n) => s.get(n)?.reloadFailures === 1));
    for (const n of names) assert.equal(stats.get(n).revision, revision, `${n} kept revision ${revision}`);
    const failures = await readAlerts(bus, 'test-b-failure', {
      expected: 1,
      consumer: { filterSubject: 'saker.v1.alerts.internal.critical' },
    });
    assert.equal(failures.length, 1, 'one alert per refused revision, whatever the number of replicas');
    const [failure] = failures;
    assert.equal(failure?.rule, RELOAD_FAILURE_RULE);
    assert.equal(failure?.priority, 'Critical');
    assert.equal(failure?.source, 'internal');
    assert.match(
      failure?.output ?? '',
      new RegExp(`revision ${broken} refused, engine keeps revision ${revision}`),
    );
    assert.match(failure?.output ?? '', /reload-broken\.yaml:\d+:\d+: /);
    for (const r of replicas) {
      const metrics = await (await fetch(`${r.metricsUrl}/metrics`)).text();
      assert.match(metrics, /^saker_engine_ruleset_reload_failures_total 1$/m);
    }

    // A document that is not even JSON is refused the same way.
    await kv.put(RULESET_KEY, new TextEncoder().encode('{not json'));
    await stats.until('both refused twice', (s) => names.every((n) => s.get(n)?.reloadFailures === 2));
    for (const n of names) assert.equal(stats.get(n).revision, revision);
    assert.deepEqual(await Promise.all(replicas.map((r) => r.stop())), [0, 0]);
  });
});
