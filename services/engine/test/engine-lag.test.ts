/**
 * The lag an engine reports (stats `lagMs`, `saker_engine_lag_seconds`): how
 * long the oldest event it holds has waited. A metadata join that does not
 * answer holds a batch, as a slow KV would; the lag grows while it waits and
 * falls to 0 once the batch is evaluated. The audit consumer's pending count
 * rides along when the engine reads SAKER_AUDIT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STREAMS, SUBJECTS, batchHeaders, connectBus, encodeBatch } from '@saker/bus';
import type { SakerEvent } from '@saker/events';
import { type EngineStats, decodeEngineStats, start } from '../src/mod.js';
import { generateEvents } from './helpers/events.js';

const RULES = `- rule: Named container
  desc: reads joined metadata in its condition, so every event waits for its join
  condition: evt.type = openat and container.name = never-this-name
  output: opened (container=%container.name)
  priority: WARNING
`;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('engine lag', () => {
  it('grows while a batch is held, is reported on the bus and in /metrics, and falls to 0 after', async () => {
    const bus = await connectBus({ memory: true });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const reports: EngineStats[] = [];
    const sub = bus.subscribe(SUBJECTS.engineStats('lag'));
    void (async () => {
      for await (const m of sub) reports.push(decodeEngineStats(m.data));
    })();
    const ctl = new AbortController();
    const engine = await start(
      {
        bus,
        name: 'lag',
        rules: {
          format: 1,
          files: [{ name: 'lag.yaml', content: RULES }],
          selections: [],
          updatedAt: '2024-01-01T00:00:00Z',
        },
        watchRules: false,
        auditStream: true,
        statsIntervalMs: 100,
        metadata: { join: (e: SakerEvent) => gate.then(() => e) },
        log: () => {},
      },
      ctl.signal,
    );
    try {
      await until('the audit consumer read', () => engine.stats().auditPending === 0);
      assert.equal(engine.stats().lagMs, 0, 'nothing held: no lag');
      const b = encodeBatch(generateEvents(5, { seed: 1 }));
      bus.publish(SUBJECTS.syscallEvents('node-1'), b.data, batchHeaders(b.count));
      await until('the batch taken', () => engine.stats().inFlight === 5);
      await new Promise((r) => setTimeout(r, 400));
      const held = engine.stats();
      assert.ok((held.lagMs ?? 0) >= 350, `lag while held: ${held.lagMs}`);
      await until('a report with the lag', () => reports.some((r) => (r.lagMs ?? 0) >= 300));
      const m = /^saker_engine_lag_seconds ([\d.e+-]+)$/m.exec(engine.metrics.render());
      assert.ok(m !== null && Number(m[1]) >= 0.3, `saker_engine_lag_seconds: ${m?.[1]}`);
      open();
      await until('evaluated', () => engine.stats().evaluated === 5);
      assert.equal(engine.stats().lagMs, 0);
      assert.equal(engine.stats().inFlight, 0);
      await until('a report after with no lag', () => reports.at(-1)?.lagMs === 0);
    } finally {
      open();
      ctl.abort();
      await engine.stopped;
      sub.unsubscribe();
      await bus.close();
    }
  });

  it('decodes the reports of older replicas (no lagMs) and refuses a bad lagMs', () => {
    const base = {
      replica: 'old',
      state: 'running',
      seq: 1,
      time: 1,
      revision: 3,
      batches: 0,
      malformedBatches: 0,
      received: 0,
      invalid: 0,
      dropped: 0,
      evaluated: 0,
      inFlight: 0,
      alertsPublished: 0,
      alertsFailed: 0,
      reloadFailures: 0,
    };
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    assert.equal(decodeEngineStats(enc(base)).lagMs, undefined);
    assert.throws(() => decodeEngineStats(enc({ ...base, lagMs: -1 })), /\$\.lagMs: expected a number >= 0/);
    assert.throws(() => decodeEngineStats(enc({ ...base, auditPending: 'x' })), /\$\.auditPending/);
  });
});
