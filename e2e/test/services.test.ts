/**
 * The distributed shape against the one-process shape. Six services run as
 * six processes (`saker engine`, `saker control`, `saker sinks`,
 * `saker audit`, `saker enrich`, and `saker sensor --replay` as the syscall
 * source) from one saker.yaml and a real nats-server; recorded syscall events
 * and a Kubernetes audit event posted to the webhook become alerts that the
 * sinks' file output writes. Then `saker run` over the same saker.yaml gets
 * the same input, and its file output must hold the same alerts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServerHandle, repoRoot, startNatsServer } from '@saker/testing';
import { privilegedPodCreated } from './audit-fixtures.js';
import { SakerProcess, alertsIn } from './saker-process.js';

const DEMO = join(repoRoot(), 'examples', 'demo-events.jsonl');
const TOKEN = 'e2e-audit-token-0123456789abcdef';

const PRIVILEGED_POD = privilegedPodCreated();

async function postAudit(url: string): Promise<number> {
  const body = JSON.stringify({
    kind: 'EventList',
    apiVersion: 'audit.k8s.io/v1',
    metadata: {},
    items: [PRIVILEGED_POD],
  });
  return new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Syscall alerts of the demo recording with Saker's default rules, plus the audit one. */
const SYSCALL_ALERTS = 6;
const EXPECTED = SYSCALL_ALERTS + 1;

describe('six services as six processes, and saker run, give the same alerts', { timeout: 180_000 }, () => {
  let dir: string;
  let nats: NatsServerHandle;
  let config: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'saker-e2e-services-'));
    nats = await startNatsServer({ jetstream: true });
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    config = join(dir, 'saker.yaml');
    // One saker.yaml for every process; token_file is taken from its folder.
    writeFileSync(
      config,
      [
        `nats: { url: ${JSON.stringify(nats.url)} }`,
        'json_output: true',
        'stdout_output: { enabled: false }',
        'syslog_output: { enabled: false }',
        `file_output: { enabled: true, filename: ${JSON.stringify(join(dir, 'alerts-services.json'))} }`,
        'telemetry: { listen: 127.0.0.1:0 }',
        'control: { listen: 127.0.0.1:0 }',
        'audit:',
        '  listen: 127.0.0.1:0',
        '  token_file: token',
        'enrich: { node: { enabled: false } }',
        // Recorded events stand in for the probe, so both shapes see the same input.
        'sensor: { enabled: false }',
        'log: { format: text, level: info }',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an event flows from each source to an alert a sink delivers; saker run delivers the same', async () => {
    const procs: SakerProcess[] = [];
    let separate: string[];
    try {
      const start = (name: string, ...args: string[]): SakerProcess => {
        const p = new SakerProcess(`saker ${name}`, [name, '--config', config, ...args]);
        procs.push(p);
        return p;
      };
      // Consumers first; the sources last, once everything downstream listens.
      const control = start('control');
      const enrich = start('enrich', '--mode', 'auto');
      const sinks = start('sinks');
      const engine = start('engine');
      const audit = start('audit');
      for (const p of [control, enrich, sinks, engine]) await p.waitFor(/running: /);
      await control.waitFor(/control\(address=127\.0\.0\.1:\d+ /);
      await sinks.waitFor(/sinks\(stdout=off outputs=file\)/);
      const webhook = (await audit.waitFor(/webhook=(http:\/\/[^\s)]+)/))[1] ?? '';
      const sensor = start('sensor', '--replay', DEMO);
      await sensor.waitFor(/demo-events\.jsonl: 12 events published/);
      assert.equal(await postAudit(webhook), 200);
      separate = await alertsIn(join(dir, 'alerts-services.json'), EXPECTED);
      // Drain in flow order, each process exiting 0.
      for (const p of [sensor, audit, engine, sinks, enrich, control])
        assert.equal(await p.stop(), 0, `${p.what}:\n${p.stderr}`);
      for (const p of procs) assert.doesNotMatch(p.stderr, new RegExp(TOKEN), `${p.what} printed the token`);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }

    const rules = separate.map((l) => (JSON.parse(l) as { rule: string }).rule);
    assert.ok(rules.includes('Privileged pod created'), rules.join(', '));
    assert.equal(new Set(separate).size, EXPECTED, 'no alert twice');

    // The same input through saker run, over a fresh nats-server.
    await using other = await startNatsServer({ jetstream: true });
    const run = new SakerProcess(
      'saker run',
      ['run', '--config', config, '--nats', other.url, '--replay', DEMO],
      {
        SAKER__FILE_OUTPUT__FILENAME: join(dir, 'alerts-run.json'),
      },
    );
    try {
      const webhook = (await run.waitFor(/webhook=(http:\/\/[^\s)]+)/))[1] ?? '';
      await run.waitFor(/demo-events\.jsonl: 12 events published/);
      assert.equal(await postAudit(webhook), 200);
      const embedded = await alertsIn(join(dir, 'alerts-run.json'), EXPECTED);
      assert.equal(await run.stop(), 0, run.stderr);
      assert.doesNotMatch(run.stderr, new RegExp(TOKEN));
      assert.deepEqual(embedded, separate);
    } finally {
      await run.stop();
    }
  });
});
