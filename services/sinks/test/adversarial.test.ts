/**
 * Hostile alerts and hostile senders (issue 14, items 6 and 8), each a
 * finding of the security review reproduced: a multi-line body posted to the
 * input became a forged JSON alert in the file output; a newline in a field
 * forged a text line and ANSI escapes reached the terminal; a `__proto__`
 * key in output_fields set the object's prototype; the `falco_events` labels
 * grew with alert content; JSON nested 100,000 deep reached the parser; the
 * input took posts from anyone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { MetricsRegistry } from '@saker/telemetry';
import { makeTestPki } from '@saker/testing';
import { alertText, parseAlert } from '../src/alert.js';
import { SinksOptionsError } from '../src/errors.js';
import { alertFields } from '../src/fields.js';
import { resolveSinksOptions } from '../src/options.js';
import { FileOutput } from '../src/outputs/file.js';
import { PrometheusOutput } from '../src/outputs/prometheus.js';
import { SlackOutput } from '../src/outputs/slack.js';
import { StdoutOutput } from '../src/outputs/stdout.js';
import { JSON_FORMAT, alertJsonText, makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { readDeadLetters, testEnv } from './helpers/env.js';
import { HttpReceiver } from './helpers/http-receiver.js';

const TEXT_FORMAT = { ...JSON_FORMAT, json: false };
const TOKEN = 'input-token-0123456789';

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('alerts: output safety', () => {
  it('a multi-line body posted to the input is one line in the file output, not a forged alert', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-sinks-adv-'));
    try {
      await using env = await testEnv();
      const file = join(dir, 'events.txt');
      const sinks = await env.startSinks({
        outputs: [
          {
            output: new FileOutput({ format: JSON_FORMAT, filename: file, keepAlive: false }),
            format: JSON_FORMAT,
          },
        ],
        input: { port: 0 },
      });
      // A valid alert whose JSON spreads over lines; the second line is itself a complete alert.
      const forged = alertJsonText(makeAlert(2, { rule: 'Forged rule' }));
      const good = JSON.parse(alertJsonText(makeAlert(1))) as Record<string, unknown>;
      const body = `{"rule": ${JSON.stringify(good.rule)},\n"priority": "Warning",\n"time": ${JSON.stringify(good.time)},\n"output": "x", "x":\n${forged}\n}`;
      const r = await post(`${sinks.inputUrl}/`, body);
      assert.equal(r.status, 200, r.text);
      await until('the file output', () => {
        try {
          return readFileSync(file, 'utf8').endsWith('\n');
        } catch {
          return false;
        }
      });
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, 1, 'one alert, one line');
      const written = JSON.parse(lines[0] ?? '') as { rule: string; x: { rule: string } };
      assert.equal(written.rule, good.rule);
      assert.equal(written.x.rule, 'Forged rule', 'the nested object is kept, inside the one line');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('text outputs escape newlines and ANSI escapes from field values', async () => {
    const cmdline = 'sh -c x\n12:00:00.000000000: Critical Forged alert\u001b[2J\u001b]0;pwned\u0007';
    const alert = makeAlert(3, { output: `12:00:00.000000000: Warning Shell (cmdline=${cmdline})` });
    const line = alertText(alert, TEXT_FORMAT);
    assert.ok(!/[\u0000-\u001f\u007f]/.test(line), JSON.stringify(line));
    assert.match(
      line,
      /cmdline=sh -c x\\n12:00:00\.000000000: Critical Forged alert\\x1b\[2J\\x1b\]0;pwned\\x07\)$/,
    );

    const rx = new PassThrough();
    let out = '';
    rx.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const stdout = new StdoutOutput({ format: TEXT_FORMAT, stream: rx });
    await stdout.deliver(alert, alertJsonText(alert));
    assert.equal(out.split('\n').length, 2, `one line: ${JSON.stringify(out)}`);
    assert.ok(!out.includes('\u001b'));
  });

  it('a __proto__ key in output_fields is a field, not the prototype', () => {
    const body = JSON.stringify({ ...JSON.parse(alertJsonText(makeAlert(4))), output_fields: {} }).replace(
      '"output_fields":{}',
      '"output_fields":{"__proto__":{"polluted":"yes"},"proc.name":"x"}',
    );
    assert.throws(() => parseAlert(body), /output_fields\["__proto__"\]: expected a string/);
    assert.throws(
      () => parseAlert(body.replace('{"polluted":"yes"}', '["a",{}]')),
      /output_fields\["__proto__"\]\[1\]: expected a string, number or boolean, got an object/,
    );
    const scalar = body.replace('{"polluted":"yes"}', '"evil"');
    const { alert } = parseAlert(scalar);
    assert.equal(Object.getPrototypeOf(alert.output_fields), null);
    assert.equal(alert.output_fields.__proto__, 'evil');
    assert.deepEqual(Object.keys(alert.output_fields), ['__proto__', 'proc.name']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('falco_events stops adding series past its cap; content labels are cut', async () => {
    const registry = new MetricsRegistry();
    const prom = new PrometheusOutput({ registry, maxSeries: 50 });
    for (let i = 0; i < 500; i++) {
      await prom.deliver(makeAlert(i, { output_fields: { 'k8s.pod.name': `pod-${i}-${'x'.repeat(1000)}` } }));
    }
    const text = registry.render();
    const series = text.split('\n').filter((l) => l.startsWith('falco_events{'));
    assert.equal(series.length, 51, 'the cap, plus the overflow series');
    assert.match(text, /falco_events\{[^}]*k8s_pod_name="_overflow_"[^}]*\} 450/);
    for (const s of series) assert.ok(s.length < 1500, `label values are cut: ${s.length} characters`);
  });
});

describe('input: hostile senders', () => {
  it('JSON nested 100,000 deep gets a 400 at once', async () => {
    await using env = await testEnv();
    const sinks = await env.startSinks({ outputs: [], input: { port: 0 } });
    const t0 = performance.now();
    const r = await post(`${sinks.inputUrl}/`, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    assert.equal(r.status, 400);
    assert.match(r.text, /nests deeper than 400 levels/);
    assert.ok(performance.now() - t0 < 2_000, `answered in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('with a token configured, posts need it; probes do not', async () => {
    await using env = await testEnv();
    const sinks = await env.startSinks({ outputs: [], input: { port: 0, bearerTokens: [TOKEN] } });
    const body = alertJsonText(makeAlert(5));
    const none = await post(`${sinks.inputUrl}/`, body);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.match(none.text, /authentication required: an Authorization: Bearer token/);
    assert.equal(
      (await post(`${sinks.inputUrl}/`, body, { authorization: 'Bearer wrong-token-0123456789' })).status,
      401,
    );
    assert.equal((await post(`${sinks.inputUrl}/test`, '')).status, 401);
    assert.equal((await post(`${sinks.inputUrl}/`, body, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await fetch(`${sinks.inputUrl}/healthz`)).status, 200);
  });

  it('serves HTTPS and takes a client certificate signed by the CA', async () => {
    using pki = makeTestPki({ clientCn: 'falco' });
    await using env = await testEnv();
    const sinks = await env.startSinks({
      outputs: [],
      input: { port: 0, tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert } },
    });
    assert.match(sinks.inputUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = alertJsonText(makeAlert(6));
    const send = (cert?: string, key?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          `${sinks.inputUrl}/`,
          { method: 'POST', ca: pki.caCert, cert, key, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    assert.equal(await send(pki.clientCert, pki.clientKey), 200);
    assert.equal(await send(), 401);
    assert.equal(await send(pki.rogueCert, pki.rogueKey), 401);
  });

  it('off loopback: no auth, or a token without TLS, is refused unless opted out', async () => {
    await using env = await testEnv();
    const base = { bus: env.bus, hostname: 'h', outputs: [] };
    const fields = alertFields();
    assert.throws(
      () => resolveSinksOptions({ ...base, input: { host: '0.0.0.0' } }, fields),
      (e: unknown) => e instanceof SinksOptionsError && /without authentication/.test(e.message),
    );
    assert.throws(
      () => resolveSinksOptions({ ...base, input: { host: '0.0.0.0', bearerTokens: [TOKEN] } }, fields),
      (e: unknown) =>
        e instanceof SinksOptionsError && /bearer tokens in clear on 0\.0\.0\.0/.test(e.message),
    );
    const ok = resolveSinksOptions(
      { ...base, input: { host: '0.0.0.0', bearerTokens: [TOKEN], allowPlaintextToken: true } },
      fields,
    );
    assert.equal(ok.input?.allowPlaintextToken, true);
    const sinks = await env.startSinks({
      outputs: [],
      input: { host: '0.0.0.0', port: 0, bearerTokens: [TOKEN], allowPlaintextToken: true },
    });
    assert.ok(sinks.inputUrl);
    assert.ok(
      env.logs.some((l) =>
        /^warn: WARNING: the alert input on 0\.0\.0\.0 accepts bearer tokens over plain text/.test(l),
      ),
      env.logs.join('\n'),
    );
  });
});

describe('secrets: never printed', () => {
  it('a Slack webhook answering 404 leaves its secret path out of the dead letter and the logs', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    rx.status = 404;
    const secret = 'T0SECRET/B0SECRET/XXXXXXXXXXXXXXXXXXXXXXXX';
    const webhookUrl = `${rx.url.replace(/\/$/, '')}/services/${secret}`;
    await publishAlerts(env.bus, [makeAlert(7)]);
    await env.startSinks({ outputs: [{ output: new SlackOutput({ webhookUrl }) }] });
    const [dl] = await readDeadLetters(env.bus, 1);
    assert.equal(dl?.reason, 'permanent');
    assert.match(String(dl?.error), /^POST http:\/\/127\.0\.0\.1:\d+\/services\/\*\*\*\* answered 404/);
    assert.ok(!JSON.stringify(dl).includes('SECRET'), JSON.stringify(dl));
    await until('the dead-letter log line', () => env.logs.some((l) => l.includes('dead-lettered')));
    for (const l of env.logs) assert.ok(!l.includes('SECRET'), l);
  });
});
