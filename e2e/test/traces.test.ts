/**
 * One trace across processes: the audit service (following a log file), an
 * engine and the sinks, each its own process over a real nats-server, export
 * their spans over OTLP/HTTP to a loopback receiver (a stand-in for the
 * collector: it decodes the OTLP/HTTP JSON the exporter sends). The alert's
 * trace is found there with spans from all three services, each linked to the
 * one before it by the W3C trace context carried in the NATS headers. The
 * three are `saker audit`, `saker engine` and `saker sinks`: the tracing
 * setup every `saker <service>` shares. An alert an engine spooled while
 * NATS was down keeps its trace: the next engine sends it with its
 * `traceparent`, and the sink's delivery continues that trace.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import {
  type ReceivedSpan,
  repoRoot,
  startNatsServer,
  startOtlpReceiver,
  waitForOutput,
} from '@saker/testing';
import { privilegedPodCreated } from './audit-fixtures.js';

const ROOT = repoRoot();
const SAKER = join(ROOT, 'services', 'cli', 'bin', 'saker.js');
const RULES = join(ROOT, 'rules', 'saker_k8s_audit_rules.yaml');

// No userAgent in this one (the file source's lines as a recorder might write them).
const { userAgent: _ua, ...PRIVILEGED_POD } = privilegedPodCreated({
  auditID: '5b0c7e2a-1f3d-4a8e-9c61-2d7f0e4b8a93',
});

/** `saker <service> --metrics-listen off <args>`, exporting its spans to `otlp`. */
function runSaker(service: string, args: readonly string[], otlp: string): ChildProcess {
  return spawn(process.execPath, [SAKER, service, '--metrics-listen', 'off', ...args], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('traces across processes (OTLP/HTTP)', () => {
  it('one trace runs audit → engine → sinks, each span the child of the one before', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using receiver = await startOtlpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'saker-traces-'));
    const children: ChildProcess[] = [];
    try {
      // The streams exist before anyone publishes, as `saker run` and the chart set them up.
      const bus = await connectBus({ url: nats.url });
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      await bus.close();
      const run = (service: string, args: string[]): ChildProcess => {
        const c = runSaker(service, args, receiver.url);
        children.push(c);
        return c;
      };
      const config = join(dir, 'saker.yaml');
      writeFileSync(
        config,
        `json_output: true\nsyslog_output:\n  enabled: false\naudit:\n  checkpoint_dir: ${JSON.stringify(dir)}\n`,
      );
      const engine = run('engine', ['--config', config, '--nats', nats.url, '--rules', RULES]);
      await waitForOutput(engine, 'stderr', /engine: running: /, 30_000);
      const sinks = run('sinks', ['--config', config, '--nats', nats.url]);
      await waitForOutput(sinks, 'stderr', /sinks: running: /, 30_000);
      const log = join(dir, 'audit.log');
      writeFileSync(log, '');
      const audit = run('audit', ['--config', config, '--nats', nats.url, '--audit-log', log]);
      await waitForOutput(audit, 'stderr', /audit: running: /, 30_000);
      const alert = waitForOutput(sinks, 'stdout', /"rule":"[^"]*[Pp]rivileged[^"]*"/, 30_000);
      appendFileSync(log, `${JSON.stringify(PRIVILEGED_POD)}\n`);
      await alert;

      // A graceful stop flushes each process's pending spans.
      for (const c of children) c.kill('SIGTERM');
      const codes = await Promise.all(children.map(exited));
      assert.deepEqual(codes, [0, 0, 0], 'every process drains and exits 0');
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }

    const byTrace = new Map<string, ReceivedSpan[]>();
    for (const s of receiver.spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    const crossing = [...byTrace.values()].filter((spans) => new Set(spans.map((s) => s.service)).size >= 3);
    assert.equal(
      crossing.length,
      1,
      `one trace crosses three processes; got ${JSON.stringify(receiver.spans)}`,
    );
    const spans = crossing[0] ?? [];
    const one = (name: string): ReceivedSpan => {
      const found = spans.filter((s) => s.name === name);
      assert.equal(found.length, 1, `one ${name} span in ${JSON.stringify(spans)}`);
      return found[0] as ReceivedSpan;
    };
    const handoff = one('audit.handoff');
    const batch = one('engine.batch');
    const evaluate = one('engine.evaluate');
    const publish = one('engine.alerts.publish');
    const deliver = one('sinks.deliver');
    assert.equal(handoff.service, 'saker-audit');
    assert.equal(handoff.parentSpanId, '', 'the trace starts at the hand-off');
    assert.equal(batch.service, 'saker-engine');
    assert.equal(batch.parentSpanId, handoff.spanId, 'the batch continues the trace from the NATS headers');
    assert.equal(evaluate.parentSpanId, batch.spanId);
    assert.equal(publish.parentSpanId, batch.spanId);
    assert.equal(deliver.service, 'saker-sinks');
    assert.equal(
      deliver.parentSpanId,
      publish.spanId,
      'the delivery continues it from the JetStream headers',
    );
  });

  it('an alert spooled while NATS was down continues its trace when the next engine sends it', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using receiver = await startOtlpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'saker-traces-'));
    const children: ChildProcess[] = [];
    // The publish span of an engine that lost NATS and stopped with the alert in its spool file,
    // as it left it there (docs/engine.md: alert-spool.jsonl, one alert per line).
    const traceId = '5a4e7000000000000000000000c0ffee';
    const spanId = '00f00d0000000001';
    const token = `spooled-${process.pid}-${Date.now()}`;
    const body = {
      hostname: 'node-a',
      output: `An alert spooled during an outage (${token})`,
      priority: 'Warning',
      rule: 'Spooled alert',
      source: 'k8s_audit',
      tags: [],
      time: new Date().toISOString(),
      output_fields: {},
    };
    const spoolDir = join(dir, 'spool');
    mkdirSync(spoolDir, { mode: 0o700 });
    writeFileSync(
      join(spoolDir, 'alert-spool.jsonl'),
      `${JSON.stringify({
        subject: SUBJECTS.alert('k8s_audit', 'warning'),
        msgId: token,
        data: Buffer.from(JSON.stringify(body)).toString('base64'),
        trace: { traceparent: `00-${traceId}-${spanId}-01` },
      })}\n`,
      { mode: 0o600 },
    );
    try {
      const bus = await connectBus({ url: nats.url });
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      await bus.close();
      const config = join(dir, 'saker.yaml');
      writeFileSync(
        config,
        `json_output: true\nsyslog_output:\n  enabled: false\nnats:\n  spool:\n    dir: ${JSON.stringify(spoolDir)}\n`,
      );
      const run = (service: string, args: string[]): ChildProcess => {
        const c = runSaker(service, args, receiver.url);
        children.push(c);
        return c;
      };
      const sinks = run('sinks', ['--config', config, '--nats', nats.url]);
      await waitForOutput(sinks, 'stderr', /sinks: running: /, 30_000);
      const delivered = waitForOutput(sinks, 'stdout', new RegExp(token), 30_000);
      const engine = run('engine', ['--config', config, '--nats', nats.url, '--rules', RULES]);
      await waitForOutput(engine, 'stderr', /engine: running: /, 30_000);
      await delivered;
      for (const c of children) c.kill('SIGTERM');
      assert.deepEqual(await Promise.all(children.map(exited)), [0, 0], 'both drain and exit 0');
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    const deliver = receiver.spans.filter((s) => s.name === 'sinks.deliver');
    assert.equal(deliver.length, 1, `one delivery span in ${JSON.stringify(receiver.spans)}`);
    assert.equal(deliver[0]?.traceId, traceId, 'the delivery is in the spooled alert’s trace');
    assert.equal(deliver[0]?.parentSpanId, spanId, 'the child of the publish span that spooled it');
  });
});
