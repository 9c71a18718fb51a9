import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { busView } from '../src/views.js';

const dir = mkdtempSync(join(tmpdir(), 'saker-config-nats-'));

function load(text: string, env: Record<string, string> = {}) {
  const file = join(dir, `saker-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return loadConfig({ file, env, onNotice: () => {} });
}

describe('nats: TLS, auth and streams', () => {
  it('reads TLS and auth file paths relative to the file, and hands them to the bus view', () => {
    const c = load(
      [
        'nats:',
        '  url: tls://nats:4222',
        '  tls: { ca: certs/ca.crt, cert: certs/engine.crt, key: certs/engine.key }',
        '  auth: { creds_file: /var/run/secrets/nats/engine.creds }',
        '  inbox_prefix: _INBOX_engine',
      ].join('\n'),
    );
    const view = busView(c);
    assert.equal(view.tls.ca, join(dir, 'certs/ca.crt'));
    assert.equal(view.tls.key, join(dir, 'certs/engine.key'));
    assert.equal(view.auth.credsFile, '/var/run/secrets/nats/engine.creds');
    assert.equal(view.auth.user, null);
    assert.equal(view.inboxPrefix, '_INBOX_engine');
  });

  it('bounds every stream by default and takes limits from streams:', () => {
    const d = busView(load(''));
    assert.deepEqual(d.streamLimits.SAKER_ALERTS, {
      maxBytes: 1024 ** 3,
      maxAgeMs: 7 * 86_400_000,
      replicas: 1,
    });
    assert.ok((d.streamLimits.SAKER_DEADLETTER?.maxBytes ?? 0) > 0);
    assert.ok((d.streamLimits.SAKER_AUDIT?.maxAgeMs ?? 0) > 0);
    const c = load(
      'streams:\n  alerts: { max_bytes: 1048576, max_age_ms: 60000, alert_ratio: 0.5, replicas: 3 }\n',
    );
    assert.deepEqual(busView(c).streamLimits.SAKER_ALERTS, {
      maxBytes: 1048576,
      maxAgeMs: 60000,
      replicas: 3,
    });
    assert.equal(c.streams.alerts.alertRatio, 0.5);
    assert.equal(d.kvReplicas, 1);
    assert.equal(busView(load('kv:\n  replicas: 3\n')).kvReplicas, 3);
    assert.throws(() => load('kv:\n  replicas: 7\n'), /kv\.replicas/);
  });

  it('takes auth from the environment and names a bad key', () => {
    const c = load('', { SAKER__NATS__AUTH__USER: 'engine', SAKER__NATS__AUTH__PASSWORD_FILE: '/s/pw' });
    assert.equal(c.nats.auth.user, 'engine');
    assert.equal(c.nats.auth.passwordFile, '/s/pw');
    assert.throws(
      () => load('nats:\n  inbox_prefix: "_INBOX.>"\n'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /nats\.inbox_prefix/);
        return true;
      },
    );
    assert.throws(() => load('streams:\n  alerts: { max_bytes: 0 }\n'), /streams\.alerts\.max_bytes/);
  });
});
