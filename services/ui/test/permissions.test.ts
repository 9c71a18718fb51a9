/**
 * The UI runs as its own NATS user with the least permissions of the map
 * (libs/bus permissions.ts): it stores alerts through its durable consumer,
 * follows dead letters, event batches, engine stats and sensor status
 * reports (published by a sensor user, as each node's sensor does),
 * redelivers a dead letter, and may not write the rules bucket.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BUCKETS,
  BusPermissionError,
  STREAMS,
  SUBJECTS,
  connectBus,
  encodeSensorStats,
  natsAuthorizationBlock,
  natsInboxPrefix,
} from '@saker/bus';
import { loadConfig } from '@saker/config';
import { createLogger } from '@saker/runtime';
import { MetricsRegistry } from '@saker/telemetry';
import { startNatsServer } from '@saker/testing';
import { hashPassword, startUi } from '../src/mod.js';
import { ADMIN, Client, alert, until } from './helpers/env.js';

describe('NATS permissions', () => {
  it('the ui user can do what the UI does, and no more', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-perm-'));
    const config = natsAuthorizationBlock([
      { service: 'ui', user: 'ui', password: 'pw-ui-1234' },
      { service: 'sensor', node: 'node-1.example', user: 'sensor', password: 'pw-sensor-1234' },
      { service: 'admin', user: 'admin', password: 'pw-admin-1234' },
    ]);
    await using server = await startNatsServer({ jetstream: true, config });
    try {
      const pw = (name: string, value: string): string => {
        const f = join(dir, name);
        writeFileSync(f, value, { mode: 0o600 });
        return f;
      };
      await using admin = await connectBus({
        url: server.url,
        auth: { user: 'admin', passwordFile: pw('admin', 'pw-admin-1234') },
      });
      await admin.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      await admin.stream(STREAMS.deadLetter.name, STREAMS.deadLetter.subjects);
      await using bus = await connectBus({
        url: server.url,
        auth: { user: 'ui', passwordFile: pw('ui', 'pw-ui-1234') },
        inboxPrefix: natsInboxPrefix('ui'),
        maxReconnectAttempts: 0,
      });
      const users = join(dir, 'users');
      writeFileSync(users, `${ADMIN.username}:admin:${await hashPassword(ADMIN.password, 10)}\n`);
      const cfg = loadConfig({
        env: {},
        onNotice: () => undefined,
        overrides: {
          ui: { listen: '127.0.0.1:0', auth: { users_file: users }, store: { path: join(dir, 'a.db') } },
        },
      });
      const ui = await startUi({
        config: cfg.ui,
        bus,
        metrics: new MetricsRegistry(),
        logger: createLogger({ name: 'ui', level: 'error' }),
        webRoot: null,
      });
      try {
        const enc = new TextEncoder();
        await admin.publishDurable('saker.v1.alerts.syscall.warning', enc.encode(JSON.stringify(alert(1))));
        await admin.publishDurable(
          SUBJECTS.deadLetter('webhook'),
          enc.encode(
            JSON.stringify({
              output: 'webhook',
              error: 'HTTP 500',
              dead_lettered_at: new Date().toISOString(),
              stream_sequences: [1],
              alert: alert(2),
            }),
          ),
        );
        await until('stored', () => ui.store.rows === 1);
        await using sensor = await connectBus({
          url: server.url,
          auth: { user: 'sensor', passwordFile: pw('sensor', 'pw-sensor-1234') },
          inboxPrefix: natsInboxPrefix('sensor'),
          maxReconnectAttempts: 0,
        });
        const drops = { ringbuf: 4, scratch: 0, enterFull: 0, batcher: 0 };
        const report = encodeSensorStats({
          node: 'node-1.example',
          version: '0.1.0',
          time: Date.now(),
          windowS: 1,
          events: 100,
          drops,
          ratio: 0.04,
          eventsTotal: 100,
          dropsTotal: drops,
        });
        const c = new Client(ui.url);
        await c.login(ADMIN);
        await until('the sensor report shown', async () => {
          sensor.publish(SUBJECTS.sensorStats('node-1_example'), report);
          const h = (await c.json<{ sensors: { node: string; drops_total: number }[] }>('api/health')).body;
          return h.sensors[0]?.node === 'node-1.example' && h.sensors[0]?.drops_total === 4;
        });
        let id = '';
        await until('the dead letter listed', async () => {
          const h = (await c.json<{ dead_letters: { id: string }[] }>('api/health')).body;
          id = h.dead_letters[0]?.id ?? '';
          return id !== '';
        });
        assert.equal((await c.post(`api/dead-letters/${id}/redeliver`, {})).status, 200);
        await until('redelivered and stored', () => ui.store.rows === 2);
        await assert.rejects(
          async () => (await bus.kv(BUCKETS.rules)).put('x', enc.encode('y')),
          BusPermissionError,
        );
      } finally {
        await ui.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
