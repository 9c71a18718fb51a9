/**
 * The engine in-process on the in-memory bus (same contract as NATS, see
 * libs/bus/test/contract.ts): options, bad input, draining, de-duplication,
 * the metadata join, and the standalone command line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bus, HEADERS, STREAMS, batchHeaders, connectBus, encodeBatch } from '@saker/bus';
import type { SakerEvent } from '@saker/events';
import { type RulesetDocument, loadRules } from '@saker/rules';
import { MetricsRegistry } from '@saker/telemetry';
import { alertMsgId } from '../src/alerts.js';
import { parseEngineArgs } from '../src/args.js';
import { type EngineService, EngineStartError, start } from '../src/engine.js';
import { RateLimitedLog } from '../src/log.js';
import { metadataNeed, needsMetadata } from '../src/metadata.js';
import { EngineOptionsError, resolveEngineOptions } from '../src/options.js';
import { EngineStatsError, decodeEngineStats, encodeEngineStats } from '../src/stats.js';
import { readAlerts } from './helpers/alerts.js';
import { generateEvents } from './helpers/events.js';

const SUBJECT = 'saker.v1.events.syscall.unit';

const RULES = `- rule: Git run
  desc: git
  condition: evt.type = execve and proc.name = git
  output: git ran (cmdline=%proc.cmdline)
  priority: WARNING
- rule: Shadow read
  desc: shadow
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name
  priority: CRITICAL
`;

function doc(content: string): RulesetDocument {
  return {
    format: 1,
    files: [{ name: 'unit.yaml', content }],
    selections: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
}

function expectedCount(content: string, events: readonly SakerEvent[]): number {
  const rs = loadRules([{ name: 'unit.yaml', content }]).ruleset;
  return events.reduce((n, e) => n + rs.evaluate(e).length, 0);
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function withEngine(
  fn: (bus: Bus, engine: EngineService, ctl: AbortController, logs: string[]) => Promise<void>,
  extra: Partial<Parameters<typeof start>[0]> = {},
): Promise<void> {
  const bus = await connectBus({ memory: true });
  const ctl = new AbortController();
  const logs: string[] = [];
  const engine = await start(
    { bus, name: 'unit', rules: doc(RULES), watchRules: false, log: (l) => logs.push(l), ...extra },
    ctl.signal,
  );
  try {
    await fn(bus, engine, ctl, logs);
  } finally {
    ctl.abort();
    await engine.stopped;
    await bus.close();
  }
}

describe('options', () => {
  it('fills defaults without touching the caller object', async () => {
    const bus = await connectBus({ memory: true });
    const options = Object.freeze({ bus, subjects: Object.freeze([SUBJECT]) });
    const r = resolveEngineOptions(options);
    assert.equal(r.queue, 'engine');
    assert.deepEqual(r.subjects, [SUBJECT]);
    assert.notEqual(r.subjects, options.subjects);
    assert.equal(r.minPriority, 'DEBUG');
    assert.equal(r.ruleMatching, 'first');
    assert.equal(r.watchRules, true);
    assert.equal(r.metadata, null);
    assert.deepEqual(Object.keys(options).sort(), ['bus', 'subjects']);
    assert.throws(
      () => resolveEngineOptions({ bus, minPriority: 'LOUD' as never }),
      (e: unknown) => e instanceof EngineOptionsError && e.option === 'minPriority',
    );
    assert.throws(() => resolveEngineOptions({ bus, maxInFlightBatches: 0 }), EngineOptionsError);
    assert.throws(() => resolveEngineOptions({ bus, subjects: [] }), EngineOptionsError);
    await bus.close();
  });

  it('refuses an initial ruleset that does not load, naming file:line:col', async () => {
    const bus = await connectBus({ memory: true });
    await assert.rejects(
      start(
        { bus, rules: doc('- rule: x\n  condition: (evt.type = open\n'), watchRules: false },
        new AbortController().signal,
      ),
      (err: unknown) =>
        err instanceof EngineStartError &&
        /initial ruleset does not load: unit\.yaml:\d+:\d+/.test(err.message),
    );
    await bus.close();
  });

  it('parses the standalone command line', () => {
    const a = parseEngineArgs([
      '--nats',
      'nats://x:1',
      '--rules',
      'a.yaml',
      '--rules',
      'b',
      '--metrics-port',
      '0',
    ]);
    assert.deepEqual(
      [a.nats, a.rules, a.metricsPort, a.watchRules],
      ['nats://x:1', ['a.yaml', 'b'], 0, true],
    );
    assert.throws(() => parseEngineArgs(['--rules', 'a']), /--nats URL is required/);
    assert.throws(() => parseEngineArgs(['--nats', 'u', '--metrics-port', 'x']), /--metrics-port/);
    assert.throws(() => parseEngineArgs(['--nats', 'u', '--min-priority', 'loud']), /--min-priority/);
  });
});

describe('events in, alerts out (memory bus)', () => {
  it('creates SAKER_ALERTS when missing and publishes every match once', async () => {
    await withEngine(async (bus, engine) => {
      const events = generateEvents(5000, { seed: 3, suspicious: 0.05 });
      const want = expectedCount(RULES, events);
      assert.ok(want > 50);
      const batch = encodeBatch(events);
      bus.publish(SUBJECT, batch.data, batchHeaders(batch.count));
      await until('evaluated', () => engine.stats().evaluated === 5000);
      const alerts = await readAlerts(bus, 'unit', { expected: want, idleMs: 100 });
      assert.equal(alerts.length, want);
      assert.ok(alerts.every((a) => a.subject.startsWith('saker.v1.alerts.syscall.')));
      const m = engine.metrics.render();
      assert.match(m, /saker_engine_rule_matches_total\{rule="Git run"\} \d+/);
      assert.match(m, /saker_engine_rule_evaluation_seconds_total\{rule="Git run"\} [\d.e-]+/);
      assert.match(m, new RegExp(`^saker_engine_alerts_published_total ${want}$`, 'm'));

      // The same batch again (a sensor retrying): same msgIds, nothing new is stored.
      bus.publish(SUBJECT, batch.data, batchHeaders(batch.count));
      await until('evaluated twice', () => engine.stats().evaluated === 10_000);
      assert.match(engine.metrics.render(), new RegExp(`^saker_engine_alerts_duplicate_total ${want}$`, 'm'));
      const again = await readAlerts(bus, 'unit-again', { idleMs: 100 });
      assert.equal(again.length, want, 'the stream de-duplicated the republished alerts');
    });
  });

  it('counts invalid events by reason and skips malformed batches without stopping', async () => {
    await withEngine(async (bus, engine, _ctl, logs) => {
      const [good] = generateEvents(1);
      const lines = [JSON.stringify(good), '{not json', JSON.stringify({ source: 'syscall' }), ''].join('\n');
      bus.publish(SUBJECT, new TextEncoder().encode(lines));
      bus.publish(SUBJECT, new TextEncoder().encode('x'), {
        [HEADERS.batchCodec]: 'protobuf',
        [HEADERS.batchCount]: '1',
      });
      bus.publish(SUBJECT, new TextEncoder().encode('garbage\n[1,2]'));
      await until('all counted', () => {
        const s = engine.stats();
        return s.evaluated === 1 && s.invalid === 5;
      });
      const s = engine.stats();
      assert.equal(s.malformedBatches, 2);
      assert.equal(s.received, 6);
      assert.equal(s.inFlight, 0);
      const m = engine.metrics.render();
      assert.match(m, /saker_engine_events_invalid_total\{reason="json"\} 2/);
      assert.match(m, /saker_engine_events_invalid_total\{reason="schema"\} 2/);
      assert.match(m, /saker_engine_events_invalid_total\{reason="codec"\} 1/);
      assert.ok(logs.some((l) => l.includes('invalid event')));
      assert.ok(engine.health().ok);
    });
  });

  it('drains on abort: every accepted event is evaluated and its alerts stored', async () => {
    const bus = await connectBus({ memory: true });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    const ctl = new AbortController();
    const engine = await start(
      { bus, name: 'drain', rules: doc(RULES), watchRules: false, log: () => {} },
      ctl.signal,
    );
    const events = generateEvents(20_000, { seed: 5, suspicious: 0.05 });
    for (let i = 0; i < events.length; i += 500) {
      const b = encodeBatch(events.slice(i, i + 500));
      bus.publish(SUBJECT, b.data, batchHeaders(b.count));
    }
    await until('some accepted', () => engine.stats().received > 0);
    ctl.abort();
    await engine.stopped;
    const s = engine.stats();
    assert.equal(s.state, 'stopped');
    assert.equal(s.inFlight, 0);
    assert.equal(s.evaluated, s.received, 'nothing accepted was lost');
    assert.equal(s.received, 20_000, 'the memory bus delivered everything before the drain');
    const want = expectedCount(RULES, events);
    const alerts = await readAlerts(bus, 'drain', { expected: want, idleMs: 100 });
    assert.equal(alerts.length, want);
    assert.equal(engine.health().ok, false);
    await bus.close();
  });

  it('publishes stats on saker.v1.engine.stats.<name>', async () => {
    await withEngine(
      async (bus, engine) => {
        const sub = bus.subscribe('saker.v1.engine.stats.unit');
        const it = sub[Symbol.asyncIterator]();
        const first = await it.next();
        assert.ok(!first.done);
        const s = decodeEngineStats(first.value.data);
        assert.equal(s.replica, 'unit');
        assert.equal(s.revision, engine.revision);
        assert.deepEqual(decodeEngineStats(encodeEngineStats(s)), s);
        assert.throws(
          () => decodeEngineStats(new TextEncoder().encode('{"replica":"x"}')),
          (err: unknown) => err instanceof EngineStatsError && err.path === '$.state',
        );
        sub.unsubscribe();
      },
      { statsIntervalMs: 100 },
    );
  });
});

describe('metadata join', () => {
  const CONTAINER_RULE = `- macro: nginx_image
  condition: container.image.repository = docker.io/library/nginx
- rule: Nginx child
  desc: x
  condition: evt.type = execve and nginx_image and proc.name = git
  output: git in nginx
  priority: WARNING
`;
  const OUTPUT_RULE = `- rule: Git with image
  desc: x
  condition: evt.type = execve and proc.name = git and container.id != host
  output: git in %container.image.repository
  priority: WARNING
`;

  it('works out once per ruleset what the rules read', () => {
    const load = (c: string) => loadRules([{ name: 'm.yaml', content: c }]).ruleset;
    assert.equal(metadataNeed(load(CONTAINER_RULE)), 'condition', 'through a macro');
    assert.equal(metadataNeed(load(OUTPUT_RULE)), 'output');
    assert.equal(metadataNeed(load(RULES)), 'none');
    assert.equal(needsMetadata(load(RULES)), false);
    assert.equal(needsMetadata(load(OUTPUT_RULE)), true);
  });

  it('joins only when the rules need it, and only matched events when only outputs do', async () => {
    const events = generateEvents(2000, { seed: 9 });
    const b = encodeBatch(events);
    const run = async (content: string): Promise<{ joins: number; alerts: string[] }> => {
      let joins = 0;
      const provider = {
        join(e: SakerEvent): SakerEvent {
          joins++;
          return e.source === 'syscall' && e.container.id !== 'host'
            ? { ...e, container: { ...e.container, image_repository: 'joined/image' } }
            : e;
        },
      };
      const bus = await connectBus({ memory: true });
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      const ctl = new AbortController();
      const engine = await start(
        { bus, name: 'meta', rules: doc(content), watchRules: false, metadata: provider, log: () => {} },
        ctl.signal,
      );
      bus.publish(SUBJECT, b.data, batchHeaders(b.count));
      await until('evaluated', () => engine.stats().evaluated === events.length);
      const alerts = await readAlerts(bus, 'meta', { idleMs: 100 });
      ctl.abort();
      await engine.stopped;
      await bus.close();
      return { joins, alerts: alerts.map((a) => a.output) };
    };
    const none = await run(RULES);
    assert.equal(none.joins, 0);
    const cond = await run(CONTAINER_RULE);
    assert.equal(cond.joins, events.length, 'every event joined before evaluation');
    assert.equal(cond.alerts.length, 0, 'the joined image is no longer nginx');
    const out = await run(OUTPUT_RULE);
    const matched = expectedCount(OUTPUT_RULE, events);
    assert.ok(matched > 0);
    assert.equal(out.joins, matched, 'only matched events joined');
    assert.ok(out.alerts.every((o) => o.includes('git in joined/image')));
  });
});

describe('helpers', () => {
  it('msgId depends on the event identity and the rule only', () => {
    const [a, b] = generateEvents(2);
    assert.ok(a && b);
    assert.equal(alertMsgId(a, 'r'), alertMsgId(JSON.parse(JSON.stringify(a)) as SakerEvent, 'r'));
    assert.notEqual(alertMsgId(a, 'r'), alertMsgId(b, 'r'));
    assert.notEqual(alertMsgId(a, 'r'), alertMsgId(a, 's'));
  });

  it('rate-limits warnings per key and summarises the rest', () => {
    let now = 0;
    const lines: string[] = [];
    const log = new RateLimitedLog((l) => lines.push(l), { burst: 2, windowMs: 1000, now: () => now });
    for (let i = 0; i < 10; i++) log.warn('k', `w${i}`);
    log.warn('other', 'o');
    assert.deepEqual(lines, ['w0', 'w1', 'o']);
    now = 1500;
    log.warn('k', 'later');
    assert.deepEqual(lines.slice(3), ['engine: 8 more "k" warnings suppressed in 1000 ms', 'later']);
  });

  it('a registry passed in collects the engine metrics', async () => {
    const metrics = new MetricsRegistry();
    await withEngine(
      async (_bus, engine) => {
        assert.equal(engine.metrics, metrics);
        assert.match(metrics.render(), /saker_engine_ruleset_rules 2/);
      },
      { metrics },
    );
  });
});
