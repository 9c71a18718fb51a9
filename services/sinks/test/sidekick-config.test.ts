/**
 * `sinks.sidekick` from saker.yaml: the schema the output descriptors
 * declare (registry.ts), read from the section the loader keeps, with
 * errors that name the key and where it was written. (These cases lived in
 * libs/config's tests while the schema did.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, type LoadConfigOptions, type SakerConfig, loadConfig, sinksView } from '@saker/config';
import { type SidekickConfig, readSidekickConfig } from '../src/sidekick/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'saker-sidekick-config-'));
let counter = 0;

/** Writes `text` to a fresh saker.yaml and loads it with an empty environment. */
function load(text: string, opts: Omit<LoadConfigOptions, 'file'> = {}): SakerConfig {
  const file = join(dir, `saker-${++counter}.yaml`);
  writeFileSync(file, text);
  return loadConfig({ env: {}, onNotice: () => {}, ...opts, file });
}

function sidekickOf(c: SakerConfig): SidekickConfig {
  return readSidekickConfig(sinksView(c).sidekick);
}

/** Loads and reads sinks.sidekick: the ConfigError either step throws. */
function loadError(text: string, opts: Omit<LoadConfigOptions, 'file'> = {}): ConfigError {
  try {
    sidekickOf(load(text, opts));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('sinks.sidekick from saker.yaml', () => {
  it('reads concurrency per output (sinks.sidekick), validated, with SAKER__ overrides', () => {
    const c = load(
      'sinks:\n  outputs:\n    http:\n      concurrency: 64\n  sidekick:\n    webhook:\n' +
        '      address: http://hook:8080/\n      concurrency: 32\n',
      { env: { SAKER__SINKS__SIDEKICK__SLACK__CONCURRENCY: '4' } },
    );
    const v = { sidekick: sidekickOf(c) };
    assert.equal(v.sidekick.webhook.concurrency, 32);
    assert.equal(v.sidekick.slack.concurrency, 4);
    assert.equal(v.sidekick.loki.concurrency, null);
    for (const bad of ['0', '1001', '2.5', 'many']) {
      const e = loadError(`sinks:\n  sidekick:\n    webhook:\n      concurrency: ${bad}\n`);
      assert.equal(e.path, 'sinks.sidekick.webhook.concurrency');
      assert.match(e.message, /expected an integer in 1\.\.1000/);
    }
  });

  it('sidekick: every output off by default', () => {
    const v = sidekickOf(load('hostname: h1\n'));
    assert.equal(v.slack.webhookurl, '');
    assert.equal(v.webhook.address, '');
    assert.equal(v.elasticsearch.hostport, '');
    assert.equal(v.prometheus.enabled, false);
    assert.deepEqual(v.customfields, {});
    assert.deepEqual(v.customtags, []);
    assert.equal(v.slack.checkcert, true);
    assert.equal(v.nats.subjecttemplate, 'falco.<priority>.<rule>');
  });

  it("sidekick: reads falcosidekick's keys, Saker's filters and SAKER__ overrides", () => {
    const c = load(
      [
        'sinks:',
        '  sidekick:',
        '    customfields: "env:prod,team:sec"',
        '    customtags: a, b',
        '    templatedfields:',
        '      ns: \'{{ or (index . "k8s.ns.name") "none" }}\'',
        '    slack:',
        '      webhookurl: https://hooks.slack.com/services/X',
        '      channel: "#alerts"',
        '      username: Falco',
        '      outputformat: text',
        '      messageformat: "Alert {{ .rule }}"',
        '      minimumpriority: warning',
        '      minimum_priority: error',
        '      condition: alert.source = syscall',
        '      checkcert: no',
        '    elasticsearch:',
        '      hostport: http://es:9200',
        '      index: saker',
        '      suffix: monthly',
        '      username: u',
        '      password: p',
        '    loki:',
        '      hostport: http://loki:3100',
        '      tenant: t1',
        '      extralabels: k8s.ns.name, proc.name',
        '    webhook:',
        '      address: http://hook:8080/',
        '      method: put',
        '      customheaders:',
        '        Authorization: Bearer x',
        '    redis:',
        '      address: redis:6379',
        '      database: 2',
        '      storagetype: stream',
        '    smtp:',
        '      hostport: mail:25',
        '      from: falco@example.com',
        '      to: a@example.com, b@example.com',
        '',
      ].join('\n'),
      { env: { SAKER__SINKS__SIDEKICK__ALERTMANAGER__HOSTPORT: 'http://am:9093' } },
    );
    const v = sidekickOf(c);
    assert.deepEqual(v.customfields, { env: 'prod', team: 'sec' });
    assert.deepEqual(v.customtags, ['a', 'b']);
    assert.deepEqual(v.templatedfields, { ns: '{{ or (index . "k8s.ns.name") "none" }}' });
    assert.equal(v.slack.webhookurl, 'https://hooks.slack.com/services/X');
    assert.equal(v.slack.channel, '#alerts');
    assert.equal(v.slack.outputformat, 'text');
    assert.equal(v.slack.messageformat, 'Alert {{ .rule }}');
    assert.equal(v.slack.minimumpriority, 'WARNING');
    assert.equal(v.slack.minimumPriority, 'ERROR');
    assert.equal(v.slack.condition, 'alert.source = syscall');
    assert.equal(v.slack.checkcert, false);
    assert.equal(v.elasticsearch.suffix, 'monthly');
    assert.equal(v.elasticsearch.username, 'u');
    assert.deepEqual(v.loki.extralabels, ['k8s.ns.name', 'proc.name']);
    assert.equal(v.webhook.method, 'PUT');
    assert.deepEqual(v.webhook.customheaders, { Authorization: 'Bearer x' });
    assert.equal(v.redis.database, 2);
    assert.equal(v.redis.storagetype, 'stream');
    assert.deepEqual(v.smtp.to, ['a@example.com', 'b@example.com']);
    assert.equal(v.alertmanager.hostport, 'http://am:9093');
  });

  it('sidekick: an unknown key fails naming its full path, a wrong type names the key', () => {
    const key = loadError('sinks:\n  sidekick:\n    slack:\n      webhookur: http://x/\n');
    assert.equal(key.path, 'sinks.sidekick.slack.webhookur');
    assert.match(key.message, /unknown key \(did you mean webhookurl\?\)/);
    const out = loadError('sinks:\n  sidekick:\n    slak:\n      webhookurl: http://x/\n');
    assert.equal(out.path, 'sinks.sidekick.slak');
    assert.match(out.message, /did you mean slack\?/);
    const type = loadError('sinks:\n  sidekick:\n    redis:\n      database: many\n');
    assert.equal(type.path, 'sinks.sidekick.redis.database');
    assert.match(type.message, /expected an integer >= 0, got "many"/);
    const url = loadError('sinks:\n  sidekick:\n    slack:\n      webhookurl: hooks.slack.com\n');
    assert.equal(url.path, 'sinks.sidekick.slack.webhookurl');
    const env = loadError('', { env: { SAKER__SINKS__SIDEKICK__SLACK__OUTPUTFORMAT: 'pretty' } });
    assert.equal(env.path, 'sinks.sidekick.slack.outputformat');
    assert.equal(env.envVar, 'SAKER__SINKS__SIDEKICK__SLACK__OUTPUTFORMAT');
  });

  it("sidekick: pagerduty and opsgenie keys, regions in any case, Saker's url and severity", () => {
    const off = sidekickOf(load('hostname: h1\n'));
    assert.equal(off.pagerduty.routingkey, '');
    assert.equal(off.pagerduty.region, 'us');
    assert.equal(off.pagerduty.severity, 'critical');
    assert.equal(off.opsgenie.apikey, '');
    assert.equal(off.opsgenie.url, '');
    const v = sidekickOf(
      load(
        'sinks:\n  sidekick:\n    pagerduty:\n      routingkey: 0123456789abcdef0123456789abcdef\n      region: EU\n      severity: priority\n' +
          '      minimumpriority: critical\n    opsgenie:\n      apikey: k\n      url: http://proxy:8080/og\n',
        { env: { SAKER__SINKS__SIDEKICK__OPSGENIE__REGION: 'eu' } },
      ),
    );
    assert.equal(v.pagerduty.region, 'eu');
    assert.equal(v.pagerduty.severity, 'priority');
    assert.equal(v.pagerduty.minimumpriority, 'CRITICAL');
    assert.equal(v.pagerduty.checkcert, true);
    assert.equal(v.opsgenie.region, 'eu');
    assert.equal(v.opsgenie.url, 'http://proxy:8080/og');
    const region = loadError('sinks:\n  sidekick:\n    opsgenie:\n      region: asia\n');
    assert.equal(region.path, 'sinks.sidekick.opsgenie.region');
    assert.match(region.message, /us, eu/);
    const url = loadError('sinks:\n  sidekick:\n    pagerduty:\n      url: events.pagerduty.com\n');
    assert.equal(url.path, 'sinks.sidekick.pagerduty.url');
    // The output's own check runs in its schema: the key, and where it was written.
    const key = loadError('sinks:\n  sidekick:\n    pagerduty:\n      routingkey: abc\n');
    assert.equal(key.path, 'sinks.sidekick.pagerduty.routingkey');
    assert.deepEqual([key.line, key.column], [4, 19]);
    assert.match(key.message, /32-character routing key/);
  });

  // libs/config's adversarial test checked this while loadConfig read sinks.sidekick itself.
  it('sidekick: never echoes a secret in an error', () => {
    const secret = 'SECRETPATH';
    const e = loadError(
      `sinks:\n  sidekick:\n    slack:\n      webhookurl: ftp://hooks.slack.com/services/T0/B0/${secret}\n`,
    );
    assert.equal(e.path, 'sinks.sidekick.slack.webhookurl');
    assert.ok(!e.message.includes(secret) && e.message.includes('****'), e.message);
  });
});
