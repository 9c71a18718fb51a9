/** The redaction layer (issue 14, item 7) and the listener checks (item 8). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerTokenMatches, plaintextTokenProblem } from '../src/listen.js';
import { isSecretKey, redactText, redactUrl, redactValue } from '../src/redact.js';

describe('redactUrl', () => {
  it('masks the secret part of webhook URLs, userinfo and query values', () => {
    const cases: [string, string][] = [
      ['https://hooks.slack.com/services/T000/B000/XXXXSECRET', 'https://hooks.slack.com/services/****'],
      [
        'https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456',
        'https://acme.webhook.office.com/webhookb2/****',
      ],
      ['https://discord.com/api/webhooks/123/SECRET', 'https://discord.com/api/webhooks/****'],
      ['nats://user:pa55word@nats:4222', 'nats://user:****@nats:4222'],
      ['nats://s3cr3ttoken@nats:4222', 'nats://****@nats:4222'],
      ['https://api.example.com/v1/x?token=abc&q=1', 'https://api.example.com/v1/x?token=****&q=****'],
      ['http://127.0.0.1:8080/services/T/B/X', 'http://127.0.0.1:8080/services/****'],
      ['http://localhost:9200/_bulk', 'http://localhost:9200/_bulk'],
    ];
    for (const [url, shown] of cases) assert.equal(redactUrl(url), shown, url);
  });

  it('masks a password in text that is not a valid URL', () => {
    assert.equal(redactUrl('nats://u:p@[bad'), 'nats://u:****@[bad');
  });
});

describe('redactText and secret keys', () => {
  it('redacts every URL in a message and bearer tokens', () => {
    const text =
      'POST https://hooks.slack.com/services/T/B/SECRET answered 404; connect nats://u:pw@h:4222 failed; Authorization: Bearer abc.DEF-123';
    const shown = redactText(text);
    assert.ok(!/SECRET|pw@|abc\.DEF/.test(shown), shown);
    assert.match(shown, /hooks\.slack\.com\/services\/\*\*\*\*/);
    assert.match(shown, /Bearer \*\*\*\*/);
    assert.equal(redactText('nats://a:4222,nats://u:pw@b:4222'), 'nats://a:4222,nats://u:****@b:4222');
    assert.equal(redactText('the bearer tokens in clear'), 'the bearer tokens in clear');
  });

  it('knows secret configuration keys', () => {
    for (const k of ['token', 'control.token', 'webhookurl', 'password', 'apikey', 'api_key', 'routingkey']) {
      assert.equal(isSecretKey(k), true, k);
      assert.equal(redactValue(k, 'x'), '****', k);
    }
    for (const k of ['url', 'hostport', 'minimumpriority', 'listen', 'user']) {
      assert.equal(isSecretKey(k), false, k);
    }
  });
});

describe('listeners', () => {
  it('a token without TLS off loopback is a problem unless opted out', () => {
    const base = { what: 'x', tls: false, token: true, optOutKey: 'k', optOut: false };
    assert.match(
      plaintextTokenProblem({ ...base, host: '0.0.0.0' }) ?? '',
      /bearer tokens in clear on 0\.0\.0\.0/,
    );
    assert.equal(plaintextTokenProblem({ ...base, host: '127.0.0.1' }), undefined);
    assert.equal(plaintextTokenProblem({ ...base, host: '::1' }), undefined);
    assert.equal(plaintextTokenProblem({ ...base, host: '0.0.0.0', tls: true }), undefined);
    assert.equal(plaintextTokenProblem({ ...base, host: '0.0.0.0', optOut: true }), undefined);
  });

  it('bearer tokens compare exactly', () => {
    const tokens = [Buffer.from('a-token-of-16-chars')];
    assert.equal(bearerTokenMatches('Bearer a-token-of-16-chars', tokens), true);
    assert.equal(bearerTokenMatches('bearer a-token-of-16-chars', tokens), true);
    assert.equal(bearerTokenMatches('Bearer a-token-of-16-char', tokens), false);
    assert.equal(bearerTokenMatches('Basic a-token-of-16-chars', tokens), false);
    assert.equal(bearerTokenMatches(undefined, tokens), false);
  });
});
