/**
 * falcosidekick's common semantics (sidekick.ts): key:value lists, the safe
 * template subset, custom fields/tags and templated fields through the
 * framework (minimum priority reused), checkcert, a private CA, mutual TLS
 * and custom headers against a real HTTP(S) receiver.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTestPki } from '@saker/testing';
import { DeliveryError, SinksOptionsError } from '../src/errors.js';
import { WebhookOutput } from '../src/outputs/webhook.js';
import { chatText } from '../src/sidekick/chat-text.js';
import { compileEnricher, sidekickSettings } from '../src/sidekick/enrich.js';
import { parseKeyValues } from '../src/sidekick/key-values.js';
import { Template } from '../src/sidekick/template.js';
import { SidekickHttp } from '../src/sidekick/transport.js';
import { makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';
import { HttpReceiver } from './helpers/http-receiver.js';

const alert = makeAlert(1, {
  output_fields: { 'k8s.ns.name': 'prod', 'proc.name': 'cat', 'fd.num': 3, 'evt.args': null },
});

describe('sidekick: key:value lists', () => {
  it('parses the env form and maps', () => {
    assert.deepEqual(parseKeyValues('p', 'a:1, b : x:y ,'), { a: '1', b: 'x:y' });
    assert.deepEqual(parseKeyValues('p', { a: '1' }), { a: '1' });
    assert.throws(() => parseKeyValues('p', 'novalue'), SinksOptionsError);
  });
});

describe('sidekick: templates', () => {
  it('looks fields up in every documented spelling', () => {
    const t = (s: string): string => new Template('t', s).render(alert);
    assert.equal(t('ns={{ .output_fields["k8s.ns.name"] }}'), 'ns=prod');
    assert.equal(t('{{ index . "proc.name" }}/{{index .OutputFields "fd.num"}}'), 'cat/3');
    assert.equal(t('{{ .Rule }} {{ .priority }} {{.hostname}}'), 'Read sensitive file Warning node-1');
    assert.equal(t('{{ or (index . "k8s.pod.name") "none" }}'), 'none');
    assert.equal(t('{{ or .output_fields["missing"] .output_fields["proc.name"] }}'), 'cat');
    assert.equal(t('[{{ .output_fields["missing"] }}][{{ .output_fields["evt.args"] }}]'), '[][]');
    assert.equal(t('{{ "a\\"b" }}'), 'a"b');
    assert.equal(t('no actions'), 'no actions');
  });

  it('escapes looked-up values only', () => {
    const t = new Template('t', '*{{ .output_fields["k8s.ns.name"] }}*');
    assert.equal(
      t.render(alert, (v) => v.toUpperCase()),
      '*PROD*',
    );
  });

  it('refuses anything but lookups', () => {
    for (const bad of [
      '{{ call .rule }}',
      '{{ .rule | printf "%s" }}',
      '{{ printf "%s" .rule }}',
      '{{ .output_fields }}',
      '{{ .Env.HOME }}',
      '{{ index .rule "x" }}',
      '{{ .rule',
      'x }}',
      '{{ define "x" }}',
      '{{ (index . "a" }}',
    ]) {
      assert.throws(
        () => new Template('outputs.slack.messageFormat', bad),
        (err: unknown) => {
          assert.ok(err instanceof SinksOptionsError, bad);
          assert.equal(err.path, 'outputs.slack.messageFormat');
          return true;
        },
      );
    }
  });
});

describe('sidekick: enrichment', () => {
  it('adds custom fields, custom tags and templated fields', () => {
    const e = compileEnricher('o', {
      customFields: 'cluster:eu-1,team:sec',
      customTags: ['saker', 'filesystem'],
      templatedFields: {
        ns: '{{ .output_fields["k8s.ns.name"] }}',
        'proc.name': 'x-{{ index . "proc.name" }}',
      },
    });
    const out = e.enrich(alert);
    assert.equal(out.output_fields.cluster, 'eu-1');
    assert.equal(out.output_fields.team, 'sec');
    assert.equal(out.output_fields.ns, 'prod');
    assert.equal(out.output_fields['proc.name'], 'x-cat');
    assert.deepEqual(out.tags, ['filesystem', 'mitre_credential_access', 'saker']);
    assert.equal(alert.output_fields.cluster, undefined, 'the original is untouched');
    assert.equal(compileEnricher('o', {}).enrich(alert), alert);
  });

  it('chatText makes controls visible, escapes and cuts without splitting', () => {
    assert.equal(chatText('a\nb\x1b[31mc\u202ed', 100), 'a\\nb\\x1b[31mc\\u202ed');
    assert.equal(chatText('😀😀😀', 5), '😀😀…');
    assert.equal(chatText('abc', 3), 'abc');
    assert.equal(chatText('abcd', 3), 'ab…');
    assert.equal(
      chatText('&&&', 8, (c) => (c === '&' ? '&amp;' : c)),
      '&amp;…',
    );
    assert.equal(chatText('\ud800x', 10), '\ufffdx');
  });
});

describe('sidekick: through the framework', () => {
  it('filters on minimumPriority and delivers enriched JSON to the webhook', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2, { priority: 'Critical' })]);
    const settings = sidekickSettings(
      new WebhookOutput({ address: `${rx.url}hook`, headers: 'X-Token:s3cret' }),
      {
        minimumPriority: 'error',
        customFields: { cluster: 'eu-1' },
        customTags: 'saker',
        templatedFields: { cmd: '{{ .output_fields["proc.cmdline"] }}' },
      },
    );
    await env.startSinks({ outputs: [settings] });
    await until('1 request', () => rx.accepted.length === 1);
    await until('filtered', () => env.sinks?.stats('webhook')?.filtered === 1);
    const body = JSON.parse(rx.accepted[0] ?? '') as {
      priority: string;
      tags: string[];
      output_fields: Record<string, unknown>;
    };
    assert.equal(body.priority, 'Critical');
    assert.equal(body.output_fields.cluster, 'eu-1');
    assert.equal(body.output_fields.cmd, 'cat /etc/shadow id=2');
    assert.ok(body.tags.includes('saker'));
    assert.equal(rx.requests[0]?.headers['x-token'], 's3cret');
    assert.equal(rx.requests[0]?.headers['content-type'], 'application/json');
  });

  it('rejects a bad minimum priority and a bad template at configuration', () => {
    const out = new WebhookOutput({ address: 'http://127.0.0.1:9/' });
    assert.throws(() => sidekickSettings(out, { minimumPriority: 'loud' }), SinksOptionsError);
    assert.throws(() => sidekickSettings(out, { templatedFields: { a: '{{ exec }}' } }), /templatedFields/);
  });
});

describe('sidekick: TLS and headers', () => {
  it('checks certificates by default, trusts a given CA, skips checks with checkCert false', async () => {
    using pki = makeTestPki();
    await using rx = await new HttpReceiver({ cert: pki.files.serverCert, key: pki.files.serverKey }).start();
    const strict = new SidekickHttp('t', 'outputs.t', rx.url, {});
    await assert.rejects(strict.post('{}'), (err: unknown) => {
      assert.ok(err instanceof DeliveryError);
      assert.equal(err.kind, 'retryable');
      assert.match(err.message, /certificate/i);
      return true;
    });
    strict.close();
    const withCa = new SidekickHttp('t', 'outputs.t', rx.url, { caCertFile: pki.files.caCert });
    await withCa.post('{}');
    withCa.close();
    const trusting = new SidekickHttp('t', 'outputs.t', rx.url, { checkCert: false });
    await trusting.post('{}');
    trusting.close();
    assert.equal(rx.accepted.length, 2);
  });

  it('presents a client certificate (mutual TLS)', async () => {
    using pki = makeTestPki();
    await using rx = await new HttpReceiver({
      cert: pki.files.serverCert,
      key: pki.files.serverKey,
      clientCa: pki.files.caCert,
    }).start();
    const noCert = new SidekickHttp('t', 'outputs.t', rx.url, { checkCert: false });
    await assert.rejects(noCert.post('{}'), DeliveryError);
    noCert.close();
    const mtls = new SidekickHttp('t', 'outputs.t', rx.url, {
      checkCert: false,
      mutualTls: {
        clientCertFile: pki.files.clientCert,
        clientKeyFile: pki.files.clientKey,
        caCertFile: pki.files.caCert,
      },
    });
    await mtls.post('{"a":1}');
    mtls.close();
    assert.equal(rx.requests.at(-1)?.clientCertCn, 'saker-test-client');
  });

  it('sends custom headers, classifies statuses, refuses bad headers', async () => {
    await using rx = await new HttpReceiver().start();
    const h = new SidekickHttp('t', 'outputs.t', rx.url, { headers: { Authorization: 'Bearer x' } });
    await h.post('{}');
    assert.equal(rx.requests[0]?.headers.authorization, 'Bearer x');
    rx.status = 400;
    await assert.rejects(h.post('{}'), (e: unknown) => e instanceof DeliveryError && e.kind === 'permanent');
    rx.status = 429;
    await assert.rejects(h.post('{}'), (e: unknown) => e instanceof DeliveryError && e.kind === 'retryable');
    h.close();
    assert.throws(
      () => new SidekickHttp('t', 'p', rx.url, { headers: { 'X-A': 'a\r\nB: c' } }),
      SinksOptionsError,
    );
    assert.throws(
      () => new SidekickHttp('t', 'p', rx.url, { headers: { 'Content-Length': '1' } }),
      SinksOptionsError,
    );
    assert.throws(() => new SidekickHttp('t', 'p', 'ftp://x/'), SinksOptionsError);
  });
});
