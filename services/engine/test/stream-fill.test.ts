/** The stream fill watch: a gauge per stream, and an internal alert once a stream passes its ratio. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import { startNatsServer } from '@saker/testing';
import { STREAM_FILL_RULE } from '../src/alerts.js';
import { start } from '../src/engine.js';
import { readAlerts } from './helpers/alerts.js';

describe('stream fill watch', { timeout: 60_000 }, () => {
  it('sets saker_stream_fill_ratio and alerts once when a stream nears max_bytes', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({
      url: nats.url,
      streamLimits: { [STREAMS.deadLetter.name]: { maxBytes: 8192, maxAgeMs: 3_600_000 } },
    });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    await bus.stream(STREAMS.deadLetter.name, STREAMS.deadLetter.subjects);
    const engine = await start(
      {
        bus,
        name: 'fill',
        watchRules: false,
        auditStream: false,
        subjects: ['saker.v1.events.syscall.fill'],
        streamWatch: { intervalMs: 100, alertRatio: { [STREAMS.deadLetter.name]: 0.5 } },
        log: () => undefined,
      },
      new AbortController().signal,
    );
    try {
      const gauge = (): number => {
        const text = engine.metrics.render();
        const m = /^saker_stream_fill_ratio\{stream="SAKER_DEADLETTER"\} (\S+)$/m.exec(text);
        return m === null ? -1 : Number(m[1]);
      };
      for (let i = 0; i < 5; i++)
        await bus.publishDurable(SUBJECTS.deadLetter('webhook'), new Uint8Array(1000));
      let fill = -1;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && fill < 0.5) {
        fill = gauge();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(fill >= 0.5 && fill < 1, `fill ${fill}`);
      await new Promise((r) => setTimeout(r, 500)); // several more checks: still one alert
      const alerts = await readAlerts(bus, 'fill-reader', {
        expected: 1,
        consumer: { filterSubject: 'saker.v1.alerts.internal.>' },
      });
      assert.equal(alerts.length, 1, alerts.map((a) => a.output).join('\n'));
      assert.equal(alerts[0]?.rule, STREAM_FILL_RULE);
      assert.equal(alerts[0]?.priority, 'Warning');
      assert.match(
        alerts[0]?.output ?? '',
        /Stream SAKER_DEADLETTER is \d+(\.\d)?% full \(\d+ of 8192 bytes\)/,
      );
    } finally {
      await engine.stop();
    }
  });
});
