/**
 * Signed rulesets and the rules-drop alarm, against a real nats-server: a
 * plain `kv.put` of an unsigned revision that disables every rule (which an
 * engine used to log as "revision 2 in use (0 rules)" and nothing else) is
 * refused with an internal alert; so are foreign-signed and altered ones.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, STREAMS, connectBus } from '@saker/bus';
import {
  RULESET_KEY,
  type RulesetDocument,
  encodeRulesetDocument,
  rulesetKeyId,
  signRulesetDocument,
} from '@saker/rules';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { RULES_DROP_RULE, SIGNATURE_FAILURE_RULE } from '../src/alerts.js';
import { type EngineService, start } from '../src/engine.js';
import { readAlerts } from './helpers/alerts.js';
import { until } from './helpers/metadata-records.js';

const RULES = `- rule: Git run
  desc: git
  condition: evt.type = execve and proc.name = git
  output: git ran
  priority: NOTICE
- rule: Curl run
  desc: curl
  condition: evt.type = execve and proc.name = curl
  output: curl ran
  priority: NOTICE
- rule: Wget run
  desc: wget
  condition: evt.type = execve and proc.name = wget
  output: wget ran
  priority: NOTICE
`;

function doc(selections: RulesetDocument['selections'] = [], author = 'control:test'): RulesetDocument {
  return {
    format: 1,
    files: [{ name: 'signing.yaml', content: RULES }],
    selections,
    author,
    updatedAt: new Date().toISOString(),
  };
}

const ALL_OFF: RulesetDocument['selections'] = [{ action: 'disable', selector: { substring: 'run' } }];

const control = generateKeyPairSync('ed25519');
const intruder = generateKeyPairSync('ed25519');

describe('signed rulesets', { timeout: 60_000 }, () => {
  let server: NatsServerHandle;
  let bus: Bus;
  let kv: KvStore;
  before(async () => {
    server = await startNatsServer({ jetstream: true });
    bus = await connectBus({ url: server.url });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    kv = await bus.kv(BUCKETS.rules);
  });
  after(async () => {
    await bus?.close();
    await server?.stop();
  });

  async function engine(name: string, keys: boolean, logs: string[]): Promise<EngineService> {
    return start(
      {
        bus,
        name,
        rules: doc(),
        rulesetKeys: keys ? [control.publicKey] : [],
        streamWatch: null,
        auditStream: false,
        subjects: [`saker.v1.events.syscall.${name}`],
        log: (l) => logs.push(l),
      },
      new AbortController().signal,
    );
  }

  it('refuses unsigned, foreign-signed and altered revisions, keeps its ruleset and alerts', async () => {
    const logs: string[] = [];
    const e = await engine('signed', true, logs);
    try {
      const good = await kv.put(
        RULESET_KEY,
        encodeRulesetDocument(signRulesetDocument(doc(), control.privateKey)),
      );
      await until('signed revision in use', () => e.revision === good);
      assert.equal(e.ruleset.rules.filter((r) => r.enabled).length, 3);

      // The attack: a plain kv.put that disables every rule.
      const unsigned = await kv.put(RULESET_KEY, encodeRulesetDocument(doc(ALL_OFF, 'admin')));
      await until('unsigned refused', () => logs.some((l) => l.includes(`revision ${unsigned} refused`)));
      const foreign = await kv.put(
        RULESET_KEY,
        encodeRulesetDocument(signRulesetDocument(doc(ALL_OFF), intruder.privateKey)),
      );
      await until('foreign refused', () => logs.some((l) => l.includes(`revision ${foreign} refused`)));
      const signed = signRulesetDocument(doc(), control.privateKey);
      const altered = await kv.put(RULESET_KEY, encodeRulesetDocument({ ...signed, selections: ALL_OFF }));
      await until('altered refused', () => logs.some((l) => l.includes(`revision ${altered} refused`)));

      assert.equal(e.revision, good, 'the signed revision stays in use');
      assert.equal(e.ruleset.rules.filter((r) => r.enabled).length, 3);
      const alerts = await readAlerts(bus, 'sig-reader', {
        expected: 3,
        consumer: { filterSubject: 'saker.v1.alerts.internal.>' },
      });
      const refused = alerts.filter((a) => a.rule === SIGNATURE_FAILURE_RULE);
      assert.equal(refused.length, 3, alerts.map((a) => a.output).join('\n'));
      assert.ok(refused.every((a) => a.priority === 'Critical' && a.source === 'internal'));
      assert.match(refused[0]?.output ?? '', new RegExp(`revision ${unsigned} refused \\(unsigned`));
      assert.match(
        refused[1]?.output ?? '',
        new RegExp(`unknown key: signed by key ${rulesetKeyId(intruder.publicKey)}`),
      );
      assert.match(refused[2]?.output ?? '', /bad signature/);
      assert.ok(
        !alerts.some((a) => a.rule === RULES_DROP_RULE),
        'nothing was swapped in, so nothing dropped',
      );
    } finally {
      await e.stop();
    }
  });

  it('alerts when a revision drops the enabled rules to zero or by more than the share, signed or not', async () => {
    const logs: string[] = [];
    // What the first test left in KV disables every rule: start from a full ruleset.
    const base = await kv.put(RULESET_KEY, encodeRulesetDocument(doc()));
    const e = await engine('drop', false, logs);
    try {
      await until('base in use', () => e.revision === base);
      const one = await kv.put(
        RULESET_KEY,
        encodeRulesetDocument(doc([{ action: 'disable', selector: { substring: 'url' } }])),
      );
      await until('one rule off', () => e.revision === one);
      assert.equal(e.ruleset.rules.filter((r) => r.enabled).length, 2, 'a drop of a third: under the share');
      const zero = await kv.put(RULESET_KEY, encodeRulesetDocument(doc(ALL_OFF, 'someone')));
      await until('zero rules', () => e.revision === zero);
      const alerts = await readAlerts(bus, 'drop-reader', {
        expected: 1,
        consumer: { filterSubject: 'saker.v1.alerts.internal.>', deliverPolicy: 'all' },
      });
      const drops = alerts.filter((a) => a.rule === RULES_DROP_RULE);
      assert.equal(drops.length, 1, alerts.map((a) => a.output).join('\n'));
      assert.equal(drops[0]?.priority, 'Critical');
      assert.match(
        drops[0]?.output ?? '',
        new RegExp(`from 2 to 0 with ruleset revision ${zero} \\(author=someone\\)`),
      );
    } finally {
      await e.stop();
    }
  });
});
