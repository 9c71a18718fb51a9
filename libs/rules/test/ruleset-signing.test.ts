import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type RulesetDocument, decodeRulesetDocument, encodeRulesetDocument } from '../src/ruleset-doc.js';
import {
  RulesetKeyError,
  readRulesetSigningKey,
  readRulesetVerifyKey,
  rulesetKeyId,
  signRulesetDocument,
  verifyRulesetDocument,
} from '../src/ruleset-signing.js';

const doc: RulesetDocument = {
  format: 1,
  files: [{ name: 'a.yaml', content: '- list: x\n  items: []\n' }],
  selections: [{ action: 'disable', selector: { tags: ['t'] } }],
  author: 'mtls:ops',
  updatedAt: '2024-01-01T00:00:00Z',
};

describe('ruleset signatures', () => {
  const key = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');

  it('survive the KV round trip, whatever the key order', () => {
    const signed = signRulesetDocument(doc, key.privateKey);
    const back = decodeRulesetDocument(encodeRulesetDocument(signed));
    assert.deepEqual(verifyRulesetDocument(back, [other.publicKey, key.publicKey]), {
      ok: true,
      keyId: rulesetKeyId(key.publicKey),
    });
    const { updatedAt, ...rest } = back;
    const reordered = JSON.parse(JSON.stringify({ updatedAt, ...rest })) as RulesetDocument;
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(back));
    assert.equal(verifyRulesetDocument(reordered, [key.publicKey]).ok, true);
  });

  it('are refused when absent, foreign or over changed content', () => {
    assert.equal(verifyRulesetDocument(doc, [key.publicKey]).ok, false);
    const signed = signRulesetDocument(doc, key.privateKey);
    const v1 = verifyRulesetDocument(signed, [other.publicKey]);
    assert.equal(v1.ok ? '' : v1.reason, 'unknown key');
    for (const changed of [
      { ...signed, author: 'someone else' },
      { ...signed, selections: [] },
      { ...signed, files: [{ name: 'a.yaml', content: '' }] },
    ]) {
      const v = verifyRulesetDocument(changed, [key.publicKey]);
      assert.equal(v.ok ? '' : v.reason, 'bad signature');
    }
  });

  it('read keys from PEM files and name a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-keys-'));
    try {
      const priv = join(dir, 'ruleset.key');
      const pub = join(dir, 'ruleset.pub');
      writeFileSync(priv, key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
      const signed = signRulesetDocument(doc, readRulesetSigningKey(priv));
      assert.equal(verifyRulesetDocument(signed, [readRulesetVerifyKey(pub)]).ok, true);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const bad = join(dir, 'rsa.pub');
      writeFileSync(bad, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
      assert.throws(
        () => readRulesetVerifyKey(bad),
        (e: unknown) => e instanceof RulesetKeyError && /Ed25519/.test(e.message),
      );
      assert.throws(() => readRulesetSigningKey(join(dir, 'missing')), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
