/**
 * The audit path end to end: the API server's webhook backend posts an
 * EventList over mTLS (a test CA made with openssl) to `saker run`; the rule
 * fires; the alert is printed on stdout and stored in SAKER_ALERTS on a real
 * nats-server with JetStream.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { STREAMS, connectBus } from '@saker/bus';
import { makeTestPki, repoRoot, startNatsServer, waitForOutput } from '@saker/testing';
import { PWN_POD_CREATED, privilegedPodCreated } from './audit-fixtures.js';

const MAIN = join(repoRoot(), 'services', 'cli', 'dist', 'src', 'main.js');
const RULES = join(repoRoot(), 'rules', 'saker_k8s_audit_rules.yaml');

const PRIVILEGED_POD = privilegedPodCreated({
  auditID: '9d3c2a1e-6f4b-4e8a-b1c7-0a5e2d9f8c31',
  requestURI: '/api/v1/namespaces/default/pods?fieldManager=kubectl-run',
  userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/6911225',
  responseObject: PWN_POD_CREATED,
});

describe('audit webhook end to end (saker run, NATS JetStream)', () => {
  it('an EventList posted over mTLS becomes an alert on stdout and in SAKER_ALERTS', async () => {
    using pki = makeTestPki();
    await using nats = await startNatsServer({ jetstream: true });
    // The audit section of saker.yaml: the webhook on a free loopback port, over mTLS.
    const config = join(mkdtempSync(join(tmpdir(), 'saker-e2e-audit-')), 'saker.yaml');
    writeFileSync(
      config,
      [
        'audit:',
        '  listen: 127.0.0.1:0',
        '  tls:',
        `    cert: ${JSON.stringify(pki.files.serverCert)}`,
        `    key: ${JSON.stringify(pki.files.serverKey)}`,
        `    client_ca: ${JSON.stringify(pki.files.caCert)}`,
        '',
      ].join('\n'),
    );
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'run',
        '--nats',
        nats.url,
        '-r',
        RULES,
        '--no-sensor',
        '--control-listen',
        'off',
        '--metrics-listen',
        '127.0.0.1:0',
        '--config',
        config,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const ready = waitForOutput(child, 'stderr', /saker: running: /, 30_000);
      const url = (await waitForOutput(child, 'stderr', /webhook=(https:\/\/[^\s)]+)/, 30_000))[1] ?? '';
      await ready;
      const printed = waitForOutput(
        child,
        'stdout',
        /[^\n]*Privileged pod created \(user=mallory pod=pwn ns=default[^\n]*\n/,
        20_000,
      );

      const body = JSON.stringify({
        kind: 'EventList',
        apiVersion: 'audit.k8s.io/v1',
        metadata: {},
        items: [PRIVILEGED_POD],
      });
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            ca: pki.caCert,
            cert: pki.clientCert,
            key: pki.clientKey,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
      const line = (await printed)[0];
      assert.match(line, /Warning Privileged pod created/);

      await using bus = await connectBus({ url: nats.url });
      await using feed = await bus.consumer(STREAMS.alerts.name, 'e2e-audit-reader');
      let alert: { rule?: string; source?: string; output_fields?: Record<string, unknown> } = {};
      for await (const m of feed) {
        m.ack();
        alert = JSON.parse(new TextDecoder().decode(m.data));
        if (alert.rule === 'Privileged pod created') break;
      }
      assert.equal(alert.source, 'k8s_audit');
      assert.equal(alert.output_fields?.['ka.user.name'], 'mallory');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
