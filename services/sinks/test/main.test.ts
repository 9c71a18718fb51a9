/**
 * The standalone sinks (`main.js`, saker-sinks) read what `saker run`
 * reads from saker.yaml: Falco's output sections with their
 * `sinks.outputs.<name>` filters, and falcosidekick's outputs under
 * `sinks.sidekick` (here Kafka, against the test broker, and prometheus on
 * `--metrics-listen`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { alertJsonText, makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';
import { MockKafkaBroker } from './helpers/kafka-broker.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

describe('saker-sinks (main.js)', () => {
  it('runs the sinks.sidekick outputs and the sinks.outputs filters of its config', async () => {
    await using env = await testEnv();
    await using broker = await MockKafkaBroker.start({ topics: { falco: 1 } });
    const dir = mkdtempSync(join(tmpdir(), 'saker-sinks-main-'));
    try {
      const file = join(dir, 'alerts.log');
      const config = join(dir, 'saker.yaml');
      writeFileSync(
        config,
        [
          'json_output: true',
          'stdout_output: {enabled: false}',
          'syslog_output: {enabled: false}',
          `file_output: {enabled: true, keep_alive: false, filename: ${JSON.stringify(file)}}`,
          'sinks:',
          '  outputs:',
          '    file: {minimum_priority: critical}',
          '  sidekick:',
          '    prometheus: {enabled: true}',
          '    kafka:',
          `      hostport: ${JSON.stringify(broker.address)}`,
          '      topic: falco',
          '      minimumpriority: error',
          '',
        ].join('\n'),
      );
      const child = spawn(
        process.execPath,
        [MAIN, '--config', config, '--nats', env.server.url, '--metrics-listen', '127.0.0.1:0'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        await until('ready', () => stderr.includes('sinks ready') || child.exitCode !== null, 15_000);
        assert.match(stderr, /sinks ready outputs=file,prometheus,kafka /, stderr);
        const metricsUrl = /metrics=(http:\/\/\S+)/.exec(stderr)?.[1];
        assert.ok(metricsUrl, stderr);
        const alerts = [
          makeAlert(1, { priority: 'Warning' }),
          makeAlert(2, { priority: 'Error' }),
          makeAlert(3, { priority: 'Critical' }),
        ];
        await publishAlerts(env.bus, alerts);
        await until('kafka got 2', () => broker.values('falco').length === 2, 15_000);
        assert.deepEqual(broker.values('falco'), [
          alertJsonText(alerts[1] ?? alerts[0]!),
          alertJsonText(alerts[2]!),
        ]);
        await until('file got 1', () => {
          try {
            return readFileSync(file, 'utf8') === `${alertJsonText(alerts[2]!)}\n`;
          } catch {
            return false;
          }
        });
        const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
        for (const p of ['warning', 'error', 'critical']) {
          assert.match(metrics, new RegExp(`falco_events\\{[^}]*priority="${p}"[^}]*\\} 1\n`));
        }
        child.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
