import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type RulesetDocument,
  RulesetDocumentError,
  decodeRulesetDocument,
  encodeRulesetDocument,
  loadRulesetDocument,
} from '../src/ruleset-doc.js';

const doc: RulesetDocument = {
  format: 1,
  files: [
    {
      name: 'a.yaml',
      content: `
- rule: cat open
  desc: d
  condition: evt.type = openat and proc.name = cat
  output: "cat opened %fd.name"
  priority: WARNING
  tags: [files]
- rule: ls open
  desc: d
  condition: evt.type = openat and proc.name = ls
  output: "ls opened %fd.name"
  priority: NOTICE
  tags: [listing]
`,
    },
  ],
  selections: [{ action: 'disable', selector: { tags: ['listing'] } }],
  author: 'alice',
  updatedAt: '2026-11-29T05:00:00Z',
};

describe('RulesetDocument', () => {
  it('survives the wire and loads with its selections applied in order', () => {
    const back = decodeRulesetDocument(encodeRulesetDocument(doc));
    assert.deepEqual(back, doc);
    const loaded = loadRulesetDocument(back);
    assert.equal(loaded.ok, true);
    const enabled = loaded.ruleset.rules.filter((r) => r.enabled).map((r) => r.name);
    assert.deepEqual(enabled, ['cat open']);
    const again = loadRulesetDocument({
      ...doc,
      selections: [...doc.selections, { action: 'enable', selector: { rule: 'ls*' } }],
    });
    assert.deepEqual(
      again.ruleset.rules.filter((r) => r.enabled).map((r) => r.name),
      ['cat open', 'ls open'],
    );
  });

  it('names the path of what is wrong in a bad document', () => {
    const bad = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    assert.throws(() => decodeRulesetDocument(new TextEncoder().encode('{')), /\$: not valid JSON/);
    assert.throws(() => decodeRulesetDocument(bad({ ...doc, format: 2 })), /\$\.format/);
    assert.throws(
      () => decodeRulesetDocument(bad({ ...doc, files: [{ name: 'x' }] })),
      (e: unknown) => e instanceof RulesetDocumentError && e.path === '$.files[0].content',
    );
    assert.throws(
      () => decodeRulesetDocument(bad({ ...doc, selections: [{ action: 'drop', selector: {} }] })),
      /\$\.selections\[0\]\.action/,
    );
  });
});
