/**
 * Two engine replicas as child processes against a real nats-server:
 * (a) they share 100k events and every expected alert lands in SAKER_ALERTS
 *     exactly once;
 * (c) kill -9 of one replica mid-stream: the survivor takes everything after
 *     the kill, and published = evaluated(all) + the dead replica's last
 *     reported in-flight count.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SakerEvent } from '@saker/events';
import { type Ruleset, loadRules, readRuleFiles } from '@saker/rules';
import { repoRoot } from '@saker/testing';
import { alertMsgId } from '../src/alerts.js';
import type { EngineStats } from '../src/stats.js';
import { readAlerts } from './helpers/alerts.js';
import { type Cluster, startCluster } from './helpers/cluster.js';
import { generateEvents } from './helpers/events.js';
import { publishEvents } from './helpers/publish.js';
import { type Replica, sum } from './helpers/replica.js';

const RULES = join(repoRoot(), 'rules', 'saker_rules.yaml');
const SUBJECT = 'saker.v1.events.syscall.test';

async function loadRuleset(): Promise<Ruleset> {
  const loaded = loadRules(await readRuleFiles([RULES]));
  assert.ok(loaded.ok, 'rules/saker_rules.yaml loads');
  return loaded.ruleset;
}

/** msgId → rule of every alert the engine must raise for `events`. */
function expectedAlerts(ruleset: Ruleset, events: readonly SakerEvent[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    for (const m of ruleset.evaluate(e)) out.set(alertMsgId(e, m.rule.name), m.rule.name);
  }
  return out;
}

async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

describe('engine replicas on a real nats-server', { timeout: 120_000 }, () => {
  let ruleset: Ruleset;
  before(async () => {
    ruleset = await loadRuleset();
  });

  describe('(a) two replicas share 100k events', () => {
    let cluster: Cluster | undefined;
    after(async () => {
      await cluster?.[Symbol.asyncDispose]();
    });

    it('every expected alert arrives exactly once and both replicas take a share', async () => {
      const names = ['a1', 'a2'];
      cluster = await startCluster({ names, rules: [RULES] });
      const { bus, stats, replicas } = cluster;
      await stats.until('both replicas report', (s) => names.every((n) => s.has(n)));

      const events = generateEvents(100_000, { seed: 7 });
      const expected = expectedAlerts(ruleset, events);
      assert.ok(expected.size > 1000, `the mix matches some rules (${expected.size})`);

      const t0 = performance.now();
      const pub = await publishEvents(bus, SUBJECT, events);
      assert.equal(pub.published, 100_000);
      assert.equal(pub.dropped, 0);
      await stats.until('all 100k evaluated', (s) => sum(s, names, 'evaluated') === 100_000, 60_000);
      const seconds = (performance.now() - t0) / 1000;

      const alerts = await readAlerts(bus, 'test-a', { expected: expected.size });
      const seen = new Map<string, number>();
      for (const a of alerts) {
        assert.ok(a.msgId !== undefined, 'every alert carries its msgId');
        seen.set(a.msgId, (seen.get(a.msgId) ?? 0) + 1);
      }
      const missing = [...expected.keys()].filter((id) => !seen.has(id));
      const extra = [...seen.keys()].filter((id) => !expected.has(id));
      const dups = [...seen.entries()].filter(([, n]) => n > 1);
      assert.deepEqual(
        { missing: missing.length, extra: extra.length, duplicates: dups.length },
        {
          missing: 0,
          extra: 0,
          duplicates: 0,
        },
      );
      assert.equal(alerts.length, expected.size);
      for (const a of alerts) assert.equal(a.rule, expected.get(a.msgId ?? ''));

      // Both replicas took a share, and their /metrics agree with their stats.
      for (const r of replicas) {
        const s = stats.get(r.name);
        assert.ok(s.evaluated > 10_000, `${r.name} evaluated ${s.evaluated}`);
        assert.equal(s.inFlight, 0);
        assert.equal(await metricValue(r.metricsUrl, 'saker_engine_events_evaluated_total'), s.evaluated);
        const health = await fetch(`${r.metricsUrl}/healthz`);
        assert.equal(health.status, 200);
      }
      // A report follows each replica's last publish by up to its minimum interval: wait for the
      // reports to count every alert read back, then none may be counted twice.
      const publishedIn = (r: ReadonlyMap<string, EngineStats>): number =>
        names.reduce((n, name) => n + (r.get(name)?.alertsPublished ?? 0), 0);
      await stats.until(
        `the reports counting the ${expected.size} alerts published`,
        (r) => publishedIn(r) >= expected.size,
        10_000,
      );
      const published = publishedIn(stats.latest);
      assert.equal(published, expected.size, 'each match was published once (no duplicate publishes)');
      process.stderr.write(
        `  (a) 100k events, ${expected.size} alerts, ${seconds.toFixed(2)} s end to end; split ${names
          .map((n) => `${n}=${stats.get(n).evaluated}`)
          .join(' ')}\n`,
      );

      // A graceful stop drains and exits 0.
      const codes = await Promise.all(replicas.map((r) => r.stop()));
      assert.deepEqual(codes, [0, 0]);
    });
  });

  describe('(c) kill -9 of one replica mid-stream', () => {
    let cluster: Cluster | undefined;
    after(async () => {
      await cluster?.[Symbol.asyncDispose]();
    });

    it('the survivor carries on and the loss is accounted', async () => {
      const names = ['c1', 'c2'];
      cluster = await startCluster({ names, rules: [RULES], extraArgs: ['--stats-min-interval-ms', '10'] });
      const { bus, stats, replicas } = cluster;
      const [victim, survivor] = replicas as [Replica, Replica];
      await stats.until('both replicas report', (s) => names.every((n) => s.has(n)));

      // Phase 1: a burst, so the replicas hold a backlog when one dies.
      const first = generateEvents(40_000, { seed: 11 });
      await publishEvents(bus, SUBJECT, first, { batchSize: 256, maxInFlight: 8 });
      // Everything delivered has been reported as received, so nothing reaches
      // the victim that its last report does not count.
      await stats.until('phase 1 received', (s) => sum(s, names, 'received') === 40_000);
      await victim.kill();
      await sleep(300); // the server has dropped the dead connection; late reports are in
      const dead = stats.get(victim.name);
      const survivorAtKill = stats.get(survivor.name);

      // Phase 2: everything goes to the survivor.
      const second = generateEvents(40_000, { seed: 12, firstNum: 1_000_000 });
      await publishEvents(bus, SUBJECT, second);
      await stats.until(
        'survivor evaluated phase 2',
        (s) => {
          const v = s.get(survivor.name);
          return v !== undefined && v.received === survivorAtKill.received + 40_000 && v.inFlight === 0;
        },
        60_000,
      );
      const final = stats.get(survivor.name);
      assert.equal(
        final.received - survivorAtKill.received,
        40_000,
        'every event after the kill went to the survivor',
      );
      assert.equal(final.evaluated, final.received, 'the survivor evaluated all it received');

      const published = 80_000;
      const evaluated = final.evaluated + dead.evaluated;
      const lost = published - evaluated;
      process.stderr.write(
        `  (c) victim last report: received=${dead.received} evaluated=${dead.evaluated} inFlight=${dead.inFlight}; ` +
          `survivor evaluated=${final.evaluated}; lost=${lost}\n`,
      );
      assert.ok(lost >= 0);
      assert.ok(lost <= dead.inFlight, `lost ${lost} <= last reported in-flight ${dead.inFlight}`);
      assert.equal(published, evaluated + dead.inFlight, 'published = evaluated(all) + counted-lost');
      assert.equal(await survivor.stop(), 0);
    });
  });
});
