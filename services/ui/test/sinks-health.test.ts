/**
 * The health view's outputs in the split deployment: two real sinks
 * instances (replicas of one output), each as the `sinks` NATS user of the
 * permission map, deliver to a real loopback HTTP receiver that refuses one
 * alert (400: dead-lettered) and fails another once (500: retried); the UI,
 * as the `ui` user and without metrics_urls for them, shows their delivery
 * reports per instance and summed per output, not added to the counters of
 * its own registry; an output only in metrics_urls still shows; forged
 * reports are counted and ignored; the admin redelivers the dead letter.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type Bus,
  STREAMS,
  SUBJECTS,
  type SakerService,
  connectBus,
  encodeSinksStats,
  natsAuthorizationBlock,
  natsInboxPrefix,
} from '@saker/bus';
import { loadConfig, outputsView, sinksView } from '@saker/config';
import { createLogger } from '@saker/runtime';
import { falcoOutputsFromConfig, start as startSinks } from '@saker/sinks';
import { MetricsRegistry } from '@saker/telemetry';
import { startAlertReceiver, startNatsServer } from '@saker/testing';
import { hashPassword, startUi } from '../src/mod.js';
import { ADMIN, Client, alert, until } from './helpers/env.js';

interface OutputRow {
  name: string;
  last_error_at: string | null;
  delivered: number;
  failed: number;
  retried: number;
  dead_lettered: number;
  last_error: string | null;
  instances: number;
  source: string;
}
interface SinkRow {
  instance: string;
  output: string;
  delivered: number;
  failed: number;
  dead_lettered: number;
  status: string;
  version: string;
}
interface HealthBody {
  outputs: OutputRow[];
  sinks: SinkRow[];
  dead_letters: { id: string; output: string; error: string; redelivered: boolean }[];
  invalid_reports: { sinks: number };
}

/** A loopback /metrics of an older sinks: a `legacy` output, and `http` figures the reports must win over. */
async function oldSinksMetrics(): Promise<{ url: string; close(): Promise<void> }> {
  const text =
    '# TYPE saker_sinks_alerts_delivered_total counter\n' +
    'saker_sinks_alerts_delivered_total{output="legacy"} 7\n' +
    'saker_sinks_alerts_delivered_total{output="http"} 1000\n' +
    'saker_sinks_delivery_failures_total{output="legacy",kind="retryable"} 2\n';
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(text));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('health: sinks delivery reports over NATS with the permission map', () => {
  it('shows per-instance and per-output figures of two sinks replicas, and redelivers a dead letter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-sinks-'));
    const users: { service: SakerService; user: string; password: string }[] = [
      { service: 'ui', user: 'ui', password: 'pw-ui-1234' },
      { service: 'sinks', user: 'sinks', password: 'pw-sinks-1234' },
      { service: 'admin', user: 'admin', password: 'pw-admin-1234' },
    ];
    await using server = await startNatsServer({ jetstream: true, config: natsAuthorizationBlock(users) });
    // 400 for "refuse me" (dead-lettered), 500 the first time for "flaky" (retried), else 200.
    let flakyFailed = false;
    const rx = await startAlertReceiver((body) => {
      if (body.includes('refuse me')) return 400;
      if (body.includes('flaky') && !flakyFailed) {
        flakyFailed = true;
        return 500;
      }
      return 200;
    });
    const old = await oldSinksMetrics();
    const logLines: string[] = [];
    const buses: Bus[] = [];
    const replicas: { stop(): Promise<void> }[] = [];
    const connect = async (service: SakerService): Promise<Bus> => {
      const u = users.find((x) => x.service === service);
      assert.ok(u);
      const file = join(dir, `pw-${service}`);
      writeFileSync(file, u.password, { mode: 0o600 });
      const bus = await connectBus({
        url: server.url,
        auth: { user: u.user, passwordFile: file },
        ...(service === 'admin' ? {} : { inboxPrefix: natsInboxPrefix(service) }),
        maxReconnectAttempts: 0,
      });
      buses.push(bus);
      return bus;
    };
    try {
      const admin = await connect('admin');
      await admin.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      const config = loadConfig({
        env: {},
        onNotice: () => undefined,
        overrides: { stdout_output: { enabled: false }, http_output: { enabled: true, url: rx.url } },
      });
      // Two replicas: one durable consumer per output, shared, so each delivers a part.
      const sinksMetricsA = new MetricsRegistry();
      const startReplica = async (instance: string, metrics: MetricsRegistry) =>
        startSinks(
          {
            bus: await connect('sinks'),
            hostname: 'test',
            outputs: falcoOutputsFromConfig(outputsView(config), sinksView(config).outputs, {
              extra: { http: { concurrency: 1, backoff: { initialMs: 50, maxMs: 100 } } },
            }),
            instance,
            version: '9.9.9-test',
            statsIntervalMs: 100,
            metrics,
            log: () => undefined,
          },
          new AbortController().signal,
        );
      const a = await startReplica('sinks-a', sinksMetricsA);
      const b = await startReplica('sinks-b', new MetricsRegistry());
      replicas.push(a, b);
      const usersFile = join(dir, 'users');
      writeFileSync(usersFile, `${ADMIN.username}:admin:${await hashPassword(ADMIN.password, 10)}\n`);
      const cfg = loadConfig({
        env: {},
        onNotice: () => undefined,
        overrides: {
          ui: {
            listen: '127.0.0.1:0',
            auth: { users_file: usersFile },
            store: { path: join(dir, 'a.db') },
            health: { metrics_urls: [old.url] },
          },
        },
      });
      const ui = await startUi({
        config: cfg.ui,
        bus: await connect('ui'),
        // Replica A's registry, as inside `saker run` (the sinks' counters in the UI's process):
        // its figures are in A's reports too and must not be added again.
        metrics: sinksMetricsA,
        logger: createLogger({ name: 'ui', level: 'debug', write: (l) => void logLines.push(l) }),
        webRoot: null,
      });
      try {
        const enc = new TextEncoder();
        const publish = async (i: number, output: string) =>
          admin.publishDurable(
            SUBJECTS.alert('syscall', 'warning'),
            enc.encode(JSON.stringify(alert(i, { priority: 'Warning', source: 'syscall', output }))),
          );
        for (let i = 0; i < 20; i++) await publish(i, `fine ${i}`);
        await publish(20, 'refuse me');
        await publish(21, 'flaky one');

        // Forged or broken reports, as the sinks user may publish them: counted, logged, ignored.
        const forger = await connect('sinks');
        forger.publish(SUBJECTS.sinksStats('x'), enc.encode('not json'));
        forger.publish(
          SUBJECTS.sinksStats('x'),
          encodeSinksStats({
            instance: 'someone-else',
            version: '1',
            state: 'running',
            time: Date.now(),
            intervalMs: 100,
            outputs: [],
          }),
        );
        forger.publish(
          SUBJECTS.sinksStats('y'),
          enc.encode(
            JSON.stringify({
              instance: 'y',
              version: '1',
              state: 'running',
              time: Date.now(),
              intervalMs: 100,
              outputs: [{ name: 'http', delivered: -5, failed: 0, retried: 0, deadLettered: 0, filtered: 0 }],
            }),
          ),
        );

        const c = new Client(ui.url);
        await c.login(ADMIN);
        const health = async () => (await c.json<HealthBody>('api/health')).body;
        let h = await health();
        // The reports (core NATS, each interval) and the dead letter (SAKER_DEADLETTER, the
        // UI's own consumer) come by separate paths: wait for both.
        await until(
          'every alert settled and reported, and the dead letter listed',
          async () => {
            h = await health();
            const http = h.outputs.find((o) => o.name === 'http');
            return (
              http?.delivered === 21 &&
              http.dead_lettered === 1 &&
              h.invalid_reports.sinks >= 3 &&
              h.dead_letters.some((d) => d.output === 'http')
            );
          },
          20_000,
          () =>
            `outputs ${JSON.stringify(h.outputs)}, ${h.dead_letters.length} dead letters, invalid reports ${JSON.stringify(h.invalid_reports)}`,
        );
        const http = h.outputs.find((o) => o.name === 'http');
        assert.ok(http);
        // 20 fine + flaky (after one retry); refuse me: failed (permanent) and dead-lettered.
        const { last_error: lastError, last_error_at: lastErrorAt, ...counts } = http;
        assert.deepEqual(counts, {
          name: 'http',
          delivered: 21,
          failed: 2,
          retried: 1,
          dead_lettered: 1,
          instances: 2,
          source: 'reports',
        });
        assert.match(lastError ?? '', /\b(400|500)\b/);
        assert.ok(Date.parse(lastErrorAt ?? '') > Date.now() - 60_000, `last error at ${lastErrorAt}`);
        // The receiver saw every delivery once, plus the flaky first try and the refusal.
        assert.equal(rx.received.length, 23);
        // Per instance: both report, and their sums are the output's.
        const rows = h.sinks.filter((r) => r.output === 'http');
        assert.deepEqual(
          rows.map((r) => [r.instance, r.status, r.version]),
          [
            ['sinks-a', 'running', '9.9.9-test'],
            ['sinks-b', 'running', '9.9.9-test'],
          ],
        );
        assert.equal(
          rows.reduce((n, r) => n + r.delivered, 0),
          21,
        );
        // Only in metrics_urls: still shown, from there.
        assert.deepEqual(
          h.outputs.find((o) => o.name === 'legacy'),
          {
            name: 'legacy',
            delivered: 7,
            failed: 2,
            retried: 0,
            dead_lettered: 0,
            last_error: null,
            last_error_at: null,
            instances: 0,
            source: 'metrics',
          },
        );
        assert.ok(!h.sinks.some((r) => r.instance === 'someone-else' || r.instance === 'y'), 'forged rows');
        assert.ok(
          logLines.some((l) => l.includes('sinks.stats.y') && l.includes('$.outputs[0].delivered')),
          `the bad field logged: ${logLines.join('')}`,
        );

        // The dead letter, written by the sinks user, read and redelivered by the ui user.
        const dead = h.dead_letters.find((d) => d.output === 'http');
        assert.ok(dead, 'the dead letter listed');
        assert.match(dead.error, /400/);
        assert.equal((await c.post(`api/dead-letters/${dead.id}/redeliver`, {})).status, 200);
        await until(
          'the redelivered alert refused again and dead-lettered again',
          async () => {
            h = await health();
            return h.dead_letters.filter((d) => d.output === 'http').length === 2;
          },
          20_000,
        );
        assert.equal(rx.received.filter((x) => x.body.includes('refuse me')).length, 2);
        assert.ok(h.dead_letters.some((d) => d.id === dead.id && d.redelivered));

        // A replica that stops says so in its last report.
        await b.stop();
        await until('replica b stopped', async () => {
          h = await health();
          return h.sinks.some((r) => r.instance === 'sinks-b' && r.status === 'stopped');
        });
      } finally {
        await ui.stop();
      }
    } finally {
      await Promise.allSettled(replicas.map((r) => r.stop()));
      for (const bus of buses.reverse()) await bus.close().catch(() => undefined);
      await rx.close();
      await old.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
