/**
 * Deliveries in progress at once, from saker.yaml: `sinks.sidekick.<output>.concurrency`
 * and `sinks.outputs.<name>.concurrency`, with their defaults, and what a
 * real HTTP receiver sees (never more POSTs at once than configured, and
 * that many when alerts wait).
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { loadConfig, outputsView, sinksView } from '@saker/config';
import { falcoOutputsFromConfig, sidekickOutputsFromConfig } from '../src/config.js';
import { SIDEKICK_CONCURRENCY } from '../src/sidekick/registry.js';
import { makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';

function config(sinks: Record<string, unknown>, rest: Record<string, unknown> = {}) {
  return loadConfig({ env: {}, overrides: { sinks, ...rest }, onNotice: () => undefined });
}

describe('concurrency from saker.yaml', () => {
  it('sidekick outputs: 16 at once for those that POST over HTTP, 1 for the others, or the key', () => {
    const c = config({
      sidekick: {
        webhook: { address: 'http://127.0.0.1:9/' },
        slack: { webhookurl: 'http://127.0.0.1:9/slack', concurrency: 2 },
        redis: { address: '127.0.0.1:6379' },
      },
    });
    const byName = new Map(sidekickOutputsFromConfig(sinksView(c)).map((s) => [s.output.name, s]));
    assert.equal(byName.get('webhook')?.concurrency, 16);
    assert.equal(byName.get('slack')?.concurrency, 2);
    assert.equal(byName.get('redis')?.concurrency, 1);
    assert.equal(SIDEKICK_CONCURRENCY.kafka, 1, 'kafka keeps stream order unless told');
  });

  it("Falco's http output: 16 at once, or sinks.outputs.http.concurrency", () => {
    const http = {
      http_output: { enabled: true, url: 'http://127.0.0.1:9/' },
      stdout_output: { enabled: false },
    };
    const settings = (sinks: Record<string, unknown>) => {
      const c = config(sinks, http);
      return falcoOutputsFromConfig(outputsView(c), sinksView(c).outputs, { devLog: '/nonexistent' });
    };
    assert.equal(settings({}).find((s) => s.output.name === 'http')?.concurrency, 16);
    assert.equal(
      settings({ outputs: { http: { concurrency: 64 } } }).find((s) => s.output.name === 'http')?.concurrency,
      64,
    );
  });

  it('a webhook configured with concurrency 4 keeps exactly 4 POSTs in flight', async () => {
    let inFlight = 0;
    let most = 0;
    let received = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      inFlight++;
      most = Math.max(most, inFlight);
      req.resume();
      req.on('end', () => {
        // Held a moment, so alerts queue up behind the open slots.
        setTimeout(() => {
          inFlight--;
          received++;
          res.end();
        }, 30);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      await using env = await testEnv();
      const N = 40;
      await publishAlerts(
        env.bus,
        Array.from({ length: N }, (_, i) => makeAlert(i)),
      );
      const c = config({ sidekick: { webhook: { address: `http://127.0.0.1:${port}/`, concurrency: 4 } } });
      await env.startSinks({ outputs: sidekickOutputsFromConfig(sinksView(c)) });
      await until(`${N} POSTs answered`, () => received >= N);
      assert.equal(most, 4, `at most ${most} POSTs at once`);
      await until('all delivered', () => env.sinks?.stats('webhook')?.delivered === N);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
