/**
 * The framework with a plug-in output (the API later integrations use):
 * durable resumption, invalid messages, permanent errors from custom
 * outputs, options errors; and the pure pieces (alert validation, text
 * rendering, routing fields, backoff, syslog escaping).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import type { FalcoAlert } from '@saker/rules';
import { DEFAULT_FORMAT, alertText, parseAlert } from '../src/alert.js';
import { backoffDelay } from '../src/backoff.js';
import { SinksOptionsError, permanent } from '../src/errors.js';
import { alertFields, compileRoute } from '../src/fields.js';
import { resolveSinksOptions } from '../src/options.js';
import type { Output } from '../src/outputs/output.js';
import { escapeSyslogMsg, octetFrame, truncateUtf8 } from '../src/outputs/syslog.js';
import { start } from '../src/service.js';
import { alertJsonText, makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { readDeadLetters, testEnv, waitForConsumer } from './helpers/env.js';

class RecordingOutput implements Output {
  readonly name: string;
  readonly got: FalcoAlert[] = [];
  fail: ((a: FalcoAlert) => Error | undefined) | undefined;
  closed = false;
  constructor(name = 'rec') {
    this.name = name;
  }
  async deliver(alert: FalcoAlert): Promise<void> {
    const err = this.fail?.(alert);
    if (err) throw err;
    this.got.push(alert);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('framework', () => {
  it('resumes where the durable left off after a restart', async () => {
    await using env = await testEnv();
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2)]);
    const first = new RecordingOutput();
    const s1 = await env.startSinks({ outputs: [{ output: first }] });
    await until('2', () => first.got.length === 2);
    await s1.stop();
    assert.ok(first.closed);
    await publishAlerts(env.bus, [makeAlert(3)]);
    const second = new RecordingOutput();
    await env.startSinks({ outputs: [{ output: second }] });
    await until('1', () => second.got.length === 1);
    // Settled on the server, and 3 deliveries in all over both lives: nothing acked came again.
    const state = await waitForConsumer(env.sinks, 'rec', (s) => s.pending === 0 && s.ackPending === 0);
    assert.equal(state.delivered, 3);
    assert.deepEqual(
      second.got.map((a) => a.output_fields['alert.id']),
      [3],
    );
  });

  it('dead-letters what is not an alert and a permanent error of a custom output', async () => {
    await using env = await testEnv();
    await env.bus.publishDurable(SUBJECTS.alert('syscall', 'warning'), new TextEncoder().encode('{"rule":'));
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2)]);
    const out = new RecordingOutput('picky');
    out.fail = (a) =>
      a.output_fields['alert.id'] === 2 ? permanent('picky', 'refused by the receiver') : undefined;
    await env.startSinks({ outputs: [{ output: out }] });
    const dls = await readDeadLetters(env.bus, 2);
    assert.deepEqual(dls.map((d) => d.reason).sort(), ['invalid', 'permanent']);
    const invalid = dls.find((d) => d.reason === 'invalid');
    assert.equal(invalid?.alert, '{"rule":');
    assert.match(String(invalid?.error), /not JSON/);
    assert.deepEqual(
      out.got.map((a) => a.output_fields['alert.id']),
      [1],
    );
  });

  it('keeps order with concurrency 1 and retries a thrown plain Error', async () => {
    await using env = await testEnv();
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2), makeAlert(3)]);
    const out = new RecordingOutput();
    let failures = 0;
    out.fail = (a) => (a.output_fields['alert.id'] === 2 && failures++ < 2 ? new Error('flaky') : undefined);
    await env.startSinks({ outputs: [{ output: out, backoff: { initialMs: 50, maxMs: 100 } }] });
    await until('3', () => out.got.length === 3);
    assert.equal(env.sinks?.stats('rec')?.retried, 2);
  });

  it('runs on the in-memory bus too (saker run): retries, then delivers', async () => {
    const bus = await connectBus({ memory: true });
    try {
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      await publishAlerts(bus, [makeAlert(1), makeAlert(2)]);
      const out = new RecordingOutput();
      let failures = 0;
      out.fail = () => (failures++ < 3 ? new Error('not yet') : undefined);
      const abort = new AbortController();
      const sinks = await start(
        {
          bus,
          hostname: 'h',
          outputs: [{ output: out, backoff: { initialMs: 20, maxMs: 50 } }],
          log: () => undefined,
        },
        abort.signal,
      );
      await until('2', () => out.got.length === 2);
      assert.equal(sinks.stats('rec')?.retried, 3);
      abort.abort();
      await sinks.stopped;
    } finally {
      await bus.close();
    }
  });

  it('refuses bad options, naming the option', () => {
    const fields = alertFields();
    const bus = {} as never;
    const bad = (o: object, path: RegExp): void => {
      assert.throws(
        () =>
          resolveSinksOptions(
            { bus, hostname: 'h', outputs: [{ output: new RecordingOutput(), ...o }] },
            fields,
          ),
        (e: unknown) => e instanceof SinksOptionsError && path.test(e.message),
      );
    };
    bad({ condition: 'alert.rule =' }, /^outputs\[0\]\.condition: /);
    bad({ condition: 'proc.name = x' }, /^outputs\[0\]\.condition: .*proc\.name/);
    bad({ minimumPriority: 'loud' }, /^outputs\[0\]\.minimumPriority/);
    bad({ backoff: { initialMs: 10, maxMs: 5 } }, /^outputs\[0\]\.backoff\.maxMs/);
    bad({ batch: { maxAlerts: 10 } }, /^outputs\[0\]\.batch: output rec has no batching hook/);
    assert.throws(
      () =>
        resolveSinksOptions(
          { bus, hostname: 'h', outputs: [{ output: new RecordingOutput('a.b') }] },
          fields,
        ),
      /outputs\[0\]\.name/,
    );
    assert.throws(
      () =>
        resolveSinksOptions(
          {
            bus,
            hostname: 'h',
            outputs: [{ output: new RecordingOutput() }, { output: new RecordingOutput() }],
          },
          fields,
        ),
      /outputs\[1\]\.name: duplicate/,
    );
  });
});

describe('pieces', () => {
  it('routing fields cover the alert', () => {
    const fields = alertFields();
    const a = makeAlert(1, { priority: 'Critical', tags: ['k8s', 'net'] });
    const check = (cond: string): boolean => {
      const r = compileRoute(cond, fields);
      assert.ok(r.ok, r.ok ? '' : r.message);
      return r.predicate(a);
    };
    assert.equal(check('alert.priority = Critical and alert.severity <= 2'), true);
    assert.equal(check('alert.tags contains net'), true);
    assert.equal(check('alert.tags in (k8s, net, x)'), true);
    assert.equal(check('alert.source = syscall and alert.hostname = node-1'), true);
    assert.equal(check('output_fields.proc.cmdline contains shadow'), true);
    assert.equal(check('alert.field[proc.cmdline] contains shadow'), true);
    assert.equal(check('output_fields.fd.name exists'), false);
    assert.equal(check('alert.rule pmatch (Read, Other) or alert.rule startswith Read'), true);
  });

  it('validates alerts and keeps the received text', () => {
    const text = alertJsonText(makeAlert(1));
    const p = parseAlert(`  ${text}\n`);
    assert.equal(p.text, text);
    assert.equal(p.alert.priority, 'Warning');
    assert.equal(
      parseAlert(JSON.stringify({ ...JSON.parse(text), priority: 'info' })).alert.priority,
      'Informational',
    );
    assert.throws(() => parseAlert(new Uint8Array([0xff, 0xfe])), /not valid UTF-8/);
  });

  it('renders the text line with the configured time form', () => {
    const a = makeAlert(1);
    assert.match(alertText(a, DEFAULT_FORMAT), /^22:13:20\.000001000: Warning /);
    assert.match(
      alertText(a, { ...DEFAULT_FORMAT, timeIso8601: true }),
      /^2023-11-14T22:13:20\.000001000\+0000: Warning /,
    );
    assert.match(
      alertText({ ...a, output_fields: { ...a.output_fields, 'saker.dedup.count': 3 } }, DEFAULT_FORMAT),
      /\(saker\.dedup\.count=3\)$/,
    );
  });

  it('backoff doubles, caps and jitters within [base/2, base]', () => {
    const o = { initialMs: 100, maxMs: 1000 };
    assert.equal(
      backoffDelay(1, o, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(1, o, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(3, o, () => 1),
      400,
    );
    assert.equal(
      backoffDelay(30, o, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(30, o, () => 0),
      500,
    );
  });

  it('syslog MSG escaping and framing', () => {
    assert.equal(escapeSyslogMsg('a\nb\r\u001b[0m\u0000\u2028'), 'a#012b#015#033[0m#000#u2028');
    assert.equal(escapeSyslogMsg('<script>é'), '<script>é');
    assert.deepEqual(octetFrame('<14>1 - - - - - - é'), Buffer.from('20 <14>1 - - - - - - é'));
    const cut = truncateUtf8('é'.repeat(100), 51);
    assert.ok(Buffer.byteLength(cut) <= 51);
    assert.ok(cut.endsWith('...[truncated]') && !cut.includes('\ufffd'));
  });
});
